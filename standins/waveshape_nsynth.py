"""
A copy of a rendered NSynth-format root in which a random share of the training notes goes through a waveshaper:
audio-domain domain randomisation aimed at the measured gap (bench/hw0_domain_gap.py: genuine NSynth notes have
harmonics 9-16 some 11-15 dB stronger than the stand-ins in five families), which a spectral tilt on the mel input
cannot create where a render has no harmonics at all.

    python standins/waveshape_nsynth.py --src /work/data/mix2 --out /work/data/mix2ws --share 0.5 --seed 0

Per chosen note: tanh drive of 6-30 dB (odd harmonics) plus 0-0.6 of a squared term with its local mean removed (even
harmonics), mixed with the dry note at a wet share of 0.3-1. The drive follows the note's envelope (the waveform is
divided by its 25 ms peak envelope before the waveshaper and multiplied by it after), so a decaying note keeps its
decay instead of being compressed into a sustain; the note's own peak level is restored. The other training notes
and every valid/test note are symlinks to the source files, examples.json is copied, and dataset_info.json gets the
settings in its provenance. Output is bit-identical for a seed. Result (README, "Which change bought what"): dr on
this copy of mix2 scored no better on the 99 genuine notes than dr on mix2.
"""
import argparse
import json
import os
import shlex
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.ndimage import maximum_filter1d, uniform_filter1d
from tqdm import tqdm

ap = argparse.ArgumentParser(description=__doc__.split("\n")[1], formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--src", required=True, help="rendered root with dataset_info.json and train/valid/test")
ap.add_argument("--out", required=True, help="new folder for the copy")
ap.add_argument("--share", type=float, default=0.5, help="share of training notes waveshaped")
ap.add_argument("--seed", type=int, default=0)
args = ap.parse_args()

ENV_SAMPLES = 400                                     # 25 ms at 16 kHz


def waveshape(x, drive_db, even, wet):
    """x: a note (float32) -> the same note with added harmonics, its envelope and peak level kept."""
    peak = np.abs(x).max()
    env = np.maximum(uniform_filter1d(maximum_filter1d(np.abs(x), ENV_SAMPLES), ENV_SAMPLES), peak * 1e-3)
    unit = x / env
    gain = 10 ** (drive_db / 20)
    square = unit ** 2
    wet_part = np.tanh(gain * unit) / np.tanh(gain) + even * (square - uniform_filter1d(square, ENV_SAMPLES))
    y = (wet * wet_part + (1 - wet) * unit / np.abs(unit).max()) * env
    return y * peak / max(np.abs(y).max(), 1e-9)


src, out = Path(args.src), Path(args.out)
if not (src / "dataset_info.json").is_file() or not (src / "train" / "examples.json").is_file():
    sys.exit(f"error: {src} has no dataset_info.json or train/examples.json; pass a root written by "
             f"standins/render_nsynth.py or standins/merge_nsynth.py")
if out.exists() and any(out.iterdir()):
    sys.exit(f"error: {out} exists and is not empty; write the copy into a new folder")
for split in ("valid", "test"):
    if (src / split).is_dir():
        out.mkdir(parents=True, exist_ok=True)
        os.symlink((src / split).resolve(), out / split)
names = sorted(json.loads((src / "train" / "examples.json").read_text()))
(out / "train" / "audio").mkdir(parents=True, exist_ok=True)
(out / "train" / "examples.json").write_text((src / "train" / "examples.json").read_text())
rng, shaped = np.random.default_rng(args.seed), 0
for name in tqdm(names, desc="waveshape", unit="note"):
    draw, drive_db, even, wet = rng.random(), rng.uniform(6, 30), abs(rng.uniform(-0.6, 0.6)), rng.uniform(0.3, 1.0)
    source_file, target = (src / "train" / "audio" / f"{name}.wav").resolve(), out / "train" / "audio" / f"{name}.wav"
    if not source_file.is_file():
        sys.exit(f"error: {source_file} is listed in {src}/train/examples.json but missing; re-render {src}")
    if draw >= args.share:
        os.symlink(source_file, target)
        continue
    x, sr = sf.read(source_file, dtype="float32")
    if np.abs(x).max() < 1e-6:                         # silent notes stay as they are
        os.symlink(source_file, target)
        continue
    sf.write(target, waveshape(x, drive_db, even, wet), sr, subtype="PCM_16")
    shaped += 1
info = json.loads((src / "dataset_info.json").read_text())
info["provenance"] += (f"; {shaped} of {len(names)} training notes waveshaped "
                       f"(standins/waveshape_nsynth.py, seed {args.seed})")
info["command"] = shlex.join(["python", "standins/waveshape_nsynth.py", *sys.argv[1:]])
info["waveshaped"] = dict(share=args.share, seed=args.seed, notes=shaped, source_root=str(src))
(out / "dataset_info.json").write_text(json.dumps(info, indent=1))
print(f"{shaped} of {len(names)} training notes waveshaped; wrote {out}")
