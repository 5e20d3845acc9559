"""What the genuine NSynth notes say about cheap fixes that need no retraining: averaging several trained CNNs
(an ensemble), test-time augmentation (TTA: the mean over the note and copies pitch-shifted by resampling), and how
much a model's answer depends on the recording level (the same notes played 12 or 6 dB quieter or 6 dB louder).

    python bench/hw0_genuine_probe.py --checkpoints SCRATCH/mix2/checkpoints/dr*.pt checkpoints/hw0/cnn_log.pt

Every checkpoint is scored on the notes of --real (the 99 genuine NSynth notes of shared/realdata; measured, never
trained on) alone, with TTA and at each level, then all of them together (mean of their softmax outputs).
Several checkpoints of one recipe with different seeds or settings also show the spread that seeds alone give.
Writes a JSON and a bar chart (top-1 per variant) next to --out.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "hw0"))
import utils  # noqa: E402
from model import load_checkpoint  # noqa: E402

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--checkpoints", nargs="+", required=True, help="train_cnn.py checkpoints (.pt)")
p.add_argument("--real", default=str(ROOT.parent / "shared" / "realdata" / "nsynth-real-valid"),
               help="NSynth-format folder of genuine notes, scored only")
p.add_argument("--tta_semitones", default="-1,1", help="pitch shifts (resampling) averaged with the note itself")
p.add_argument("--gains_db", default="-12,-6,6", help="level changes to score each checkpoint at")
p.add_argument("--out", default=str(ROOT / "docs" / "results" / "hw0" / "genuine_probe.json"))
args = p.parse_args()

t0 = time.time()
paths, labels = utils.list_nsynth(args.real)
problems, chunks = {}, []
for _, audio in utils.stream_audio(paths, problems, desc="decode"):
    chunks.append(audio)
usable = utils.report_problems(paths, problems)
audio, labels = np.concatenate(chunks)[usable], labels[usable]
pitches = utils.note_pitches(paths, utils.UNALIGNED)[usable]           # for checkpoints with a pitch-aligned channel
if not (labels >= 0).any():
    utils.die(f"{args.real} has no labelled notes; it needs examples.json or NSynth file names")
shifts = [float(s) for s in args.tta_semitones.split(",") if s]
gains = [float(g) for g in args.gains_db.split(",") if g]

brief = lambda probs: {k: v for k, v in utils.evaluate(probs, labels).items() if k in ("top1", "top3", "n")}
rows, ensemble = {}, []
for ckpt_path in args.checkpoints:
    model, ckpt = load_checkpoint(ckpt_path)
    logmel = utils.log_mel(audio, ckpt["mel"])

    def probs(x, shift=0.0):
        with torch.inference_mode():
            z = utils.checkpoint_input(x, ckpt, torch.as_tensor(pitches) + shift)
            return torch.softmax(model(z), 1).numpy()

    plain = probs(logmel)
    tta = np.mean([plain] + [probs(utils.resample_mel(logmel, torch.full((len(logmel),), s), ckpt["mel"]), s)
                             for s in shifts], axis=0)
    rows[Path(ckpt_path).stem] = dict(checkpoint=utils.shown_path(ckpt_path), alone=brief(plain), tta=brief(tta),
                                      gain={f"{g:+g} dB": brief(probs(logmel + g * np.log(10) / 10)) for g in gains})
    ensemble.append(plain)

alone = [r["alone"]["top1"] for r in rows.values()]
result = dict(real=utils.shown_path(args.real), command=utils.command_line(), seconds=round(time.time() - t0, 1),
              tta_semitones=shifts, checkpoints=rows, ensemble=brief(np.mean(ensemble, axis=0)),
              alone_mean_top1=float(np.mean(alone)), alone_spread_top1=[float(min(alone)), float(max(alone))])

variants = lambda r: {"alone": r["alone"], "TTA": r["tta"], **r["gain"]}      # columns of the table and the chart
kinds = list(variants(next(iter(rows.values()))))
fmt = lambda m: f"{m['top1']:.3f} / {m['top3']:.3f}"
print(f"{len(labels)} notes of {utils.shown_path(args.real)}: top-1 / top-3")
print(f"{'checkpoint':28s} " + "  ".join(f"{k:>13s}" for k in kinds))
for name, r in rows.items():
    print(f"{name:28s} " + "  ".join(f"{fmt(m):>13s}" for m in variants(r).values()))
print(f"{'ensemble of all':28s} {fmt(result['ensemble']):>13s}   (alone: mean top-1 {result['alone_mean_top1']:.3f}, "
      f"range {result['alone_spread_top1'][0]:.3f}-{result['alone_spread_top1'][1]:.3f})")

out = Path(args.out)
utils.write_json(out, result)
import matplotlib  # noqa: E402
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(rows) + 2), 4))
width = 0.8 / len(kinds)
for j, kind in enumerate(kinds):
    ax.bar(np.arange(len(rows)) + j * width, [variants(r)[kind]["top1"] for r in rows.values()], width, label=kind)
ax.axhline(result["ensemble"]["top1"], color="k", ls="--", label="ensemble of all")
ax.set(xticks=np.arange(len(rows)) + 0.4 - width / 2, ylabel="top-1", ylim=(0, 1),
       title=f"{len(labels)} genuine NSynth notes: single models, TTA, level changes, ensemble")
ax.set_xticklabels(list(rows), rotation=20, ha="right", fontsize=8)
ax.legend(fontsize=7, ncol=2)
fig.tight_layout()
fig.savefig(out.with_suffix(".png"), dpi=120)
print(f"wrote {utils.shown_path(out)} and {utils.shown_path(out.with_suffix('.png'))}")
