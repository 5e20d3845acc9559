"""HW0 inference: top-1 and top-3 instrument-family accuracy on an NSynth-format folder.

    python hw0/inference.py --test_dir PATH/nsynth-test            # shipped CNN (log-mel input)
    python hw0/inference.py --test_dir PATH/nsynth-test --model ml # shipped Task-2 pipeline
    python hw0/inference.py                                        # embedded demo notes (hw0/demo)

Prints top-1/top-3 and the confusion matrix, writes per-file predictions (CSV), a confusion-matrix PNG and a JSON
summary into --out_dir.
"""
import argparse
import csv
import time
from pathlib import Path

import numpy as np
import utils

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--test_dir", default=None, help="NSynth split folder (examples.json + audio/) or its audio/ folder; "
                                                "default: the embedded demo set hw0/demo")
p.add_argument("--model", choices=["cnn", "ml"], default="cnn")
p.add_argument("--checkpoint", default=None,
               help="default: checkpoints/hw0/cnn_log.pt (cnn) or checkpoints/hw0/ml.joblib (ml)")
p.add_argument("--out_dir", default=None, help="where predictions CSV, confusion PNG and JSON go (default "
                                               "results/hw0, or results/hw0/demo for the demo set)")
p.add_argument("--chunk_size", type=int, default=utils.CHUNK, help="notes decoded and predicted at a time")
p.add_argument("--device", default="auto", help="auto, cpu or cuda (cnn only)")
args = p.parse_args()

t_start = time.time()
repo = Path(__file__).resolve().parents[1]
checkpoint = Path(args.checkpoint or repo / "checkpoints" / "hw0" / ("cnn_log.pt" if args.model == "cnn" else "ml.joblib"))
test_dir = Path(args.test_dir) if args.test_dir else utils.DEMO_DIR
if not args.test_dir:
    print(f"no --test_dir given: using the embedded demo set {utils.shown_path(test_dir)}")
# in the repository wherever this runs from; the demo never writes over the shipped model's results
out_dir = Path(args.out_dir or utils.REPO / "results" / "hw0" / ("" if args.test_dir else "demo"))
paths, labels = utils.list_nsynth(test_dir)
name = checkpoint.stem

if args.model == "cnn":
    import torch
    from model import load_checkpoint
    device = utils.pick_device(args.device)
    model, ckpt = load_checkpoint(checkpoint, device)
    pitches = utils.note_pitches(paths, utils.UNALIGNED) if ckpt["pitch_ref"] else None

    def predict(audio, start):
        with torch.inference_mode():
            x = utils.checkpoint_input(utils.log_mel(audio, ckpt["mel"], device), ckpt,
                                       pitches[start:start + len(audio)] if ckpt["pitch_ref"] else None)
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=device.startswith("cuda")):
                return torch.softmax(model(x.to(device)).float(), 1).cpu().numpy()
else:
    import joblib
    import features
    if not checkpoint.is_file():
        utils.die(f"checkpoint {checkpoint} not found; train one with hw0/train_ml.py or pass --checkpoint FILE")
    try:
        bundle = joblib.load(checkpoint)
        pipeline, feat_cfg, harmonic_cfg = bundle["pipeline"], bundle["feature_config"], bundle.get("harmonic_config")
        n_feat = len(features.note_feature_names(feat_cfg, harmonic_cfg))
        if getattr(pipeline, "n_features_in_", None) != n_feat or not hasattr(pipeline, "classes_"):
            raise ValueError(f"pipeline is not a fitted classifier of the {n_feat} features its feature and harmonic "
                             f"configs describe")
    except Exception as e:
        why = str(e).splitlines()[0][:120] if str(e) else ""
        utils.die(f"{checkpoint} is not a usable hw0 ML checkpoint ({type(e).__name__}: {why}); retrain with "
                  f"hw0/train_ml.py")

    pitches = utils.note_pitches(paths) if harmonic_cfg else None

    def predict(audio, start):
        notes = slice(start, start + len(audio))
        return utils.scores_of(pipeline, features.note_features(audio, pitches[notes] if harmonic_cfg else None,
                                                                feat_cfg, harmonic_cfg))

# predictions one chunk of notes at a time: memory stays the same for 33 notes or the whole test split
problems, probs = {}, []
for start, audio in utils.stream_audio(paths, problems, args.chunk_size, desc=args.model):
    probs.append(predict(audio, start))
usable = utils.report_problems(paths, problems)      # unreadable files: named, excluded from predictions and metrics
probs = np.concatenate(probs)[usable]
paths, labels = [p for p, k in zip(paths, usable) if k], labels[usable]

metrics = utils.evaluate(probs, labels)
out_dir.mkdir(parents=True, exist_ok=True)
csv_path = out_dir / f"predictions_{name}.csv"
top3 = np.argsort(probs, axis=1, kind="mergesort")[:, ::-1][:, :3]   # ties broken as sklearn's top-k does
with open(csv_path, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["file", "true", "pred1", "prob1", "pred2", "prob2", "pred3", "prob3"])
    for pth, y, t3, pr in zip(paths, labels, top3, probs):
        w.writerow([Path(pth).name, utils.FAMILIES[y] if y >= 0 else ""] +
                   [v for k in t3 for v in (utils.FAMILIES[k], f"{pr[k]:.4f}")])

print(f"model {args.model} ({utils.shown_path(checkpoint)}) on {utils.shown_path(test_dir)}: {len(paths)} notes")
utils.print_metrics("test", metrics)
if metrics["n"]:
    print(f"top-1: {metrics['top1']:.4f}")
    print(f"top-3: {metrics['top3']:.4f}")
    print(utils.format_confusion(metrics["confusion_matrix"]))
    utils.save_confusion_png(metrics["confusion_matrix"], out_dir / f"inference_{name}_confusion.png",
                             f"{'Task 2 model' if args.model == 'ml' else 'Task 3 CNN'} ({checkpoint.name}) on "
                             f"{test_dir.name}: top-1 {metrics['top1']:.3f}, top-3 {metrics['top3']:.3f}")
utils.write_json(out_dir / f"inference_{name}.json", dict(
    model=args.model, checkpoint=utils.shown_path(checkpoint), test_dir=utils.shown_path(test_dir), provenance=utils.read_provenance(test_dir),
    command=utils.command_line(), seconds=round(time.time() - t_start, 2), **metrics,
    figures=dict(confusion=f"inference_{name}_confusion.png" if metrics["n"] else None)))
print(f"wrote {utils.shown_path(csv_path)}, " +
      (f"{utils.shown_path(out_dir / f'inference_{name}_confusion.png')} and " if metrics["n"] else "") +
      f"{utils.shown_path(out_dir / f'inference_{name}.json')}")
