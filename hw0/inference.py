"""HW0 inference: top-1 and top-3 instrument-family accuracy on an NSynth-format folder.

    python hw0/inference.py --test_dir PATH/nsynth-test            # the checkpoint in checkpoints/hw0/
    python hw0/inference.py --test_dir PATH/nsynth-test --model ml # the Task-2 pipeline checkpoints/hw0/ml.joblib
    python hw0/inference.py                                        # embedded demo notes (hw0/demo)

Without --model or --checkpoint it runs checkpoints/hw0/cnn_log.pt, or, where that is absent, the only checkpoint
(*.pt or *.joblib) in checkpoints/hw0/. The file says what it is: a .joblib is a train_ml.py pipeline, a .pt a
train_cnn.py CNN. Prints top-1/top-3 and the confusion matrix, and writes per-file predictions (CSV), a
confusion-matrix PNG and a JSON summary (naming the checkpoint and its sha256) into --out_dir.
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
p.add_argument("--model", choices=["cnn", "ml"], default=None,
               help="cnn: checkpoints/hw0/cnn_log.pt, ml: checkpoints/hw0/ml.joblib (default: cnn_log.pt if it is "
                    "there, else the only checkpoint in checkpoints/hw0/)")
p.add_argument("--checkpoint", default=None, help="a train_cnn.py .pt or train_ml.py .joblib file; the model kind "
                                                  "follows the file (default: see --model)")
p.add_argument("--out_dir", default=None, help="where predictions CSV, confusion PNG and JSON go (default "
                                               "runs/hw0/inference/<data name>: the test folder's name, or demo)")
p.add_argument("--provenance", default=None, help="what the data is, recorded in the results JSON, for a folder "
                                                  "without dataset_info.json (e.g. 'genuine NSynth notes ...'); "
                                                  "given, it overrides dataset_info.json")
p.add_argument("--chunk_size", type=int, default=utils.CHUNK, help="notes decoded and predicted at a time")
p.add_argument("--device", default="auto", help="auto, cpu or cuda (cnn only)")
args = p.parse_args()

t_start = time.time()
# the checkpoint: as asked, else the one that is there (a hand-in holds one), found next to this script
ckpt_dir = Path(__file__).resolve().parents[1] / "checkpoints" / "hw0"
if args.checkpoint:
    checkpoint = Path(args.checkpoint)
elif args.model:
    checkpoint = ckpt_dir / ("cnn_log.pt" if args.model == "cnn" else "ml.joblib")
elif (ckpt_dir / "cnn_log.pt").is_file():
    checkpoint = ckpt_dir / "cnn_log.pt"
else:
    found = sorted(f for f in ckpt_dir.glob("*") if f.suffix in (".pt", ".joblib") and f.is_file())
    if len(found) != 1:
        utils.die(f"{utils.shown_path(ckpt_dir)} holds " + (
            f"{len(found)} checkpoints and no cnn_log.pt ({', '.join(f.name for f in found)}); pass --checkpoint FILE "
            f"to choose one" if found else "no checkpoint (*.pt or *.joblib); train one with hw0/train_cnn.py or "
                                           "hw0/train_ml.py, or pass --checkpoint FILE"))
    checkpoint = found[0]
kind = "ml" if checkpoint.suffix == ".joblib" else "cnn"
if args.model and args.model != kind:           # the file decides; a --model that says otherwise is a mix-up
    utils.die(f"{checkpoint} is not a usable hw0 {args.model.upper()} checkpoint: " + (
        "a .joblib file is a Task-2 pipeline (hw0/train_ml.py)" if kind == "ml" else
        "Task-2 pipelines are .joblib files, this is taken for a CNN checkpoint (hw0/train_cnn.py)") +
        f"; leave out --model {args.model} (the kind follows the file) or pass another --checkpoint")
test_dir = Path(args.test_dir) if args.test_dir else utils.DEMO_DIR
if not args.test_dir:
    print(f"no --test_dir given: using the embedded demo set {utils.shown_path(test_dir)}")
paths, labels = utils.list_nsynth(test_dir)
# a folder of its own per data set (runs/ is not tracked): only an explicit --out_dir results/hw0 writes the shipped
# results
out_dir = Path(args.out_dir) if args.out_dir else utils.REPO / "runs" / "hw0" / "inference" / utils.data_name(test_dir)
name = checkpoint.stem

if kind == "cnn":
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
for start, audio in utils.stream_audio(paths, problems, args.chunk_size, desc=kind):
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

scored = f"{metrics['n']} notes scored" + (f", {metrics['n_unscored']} unlabelled not scored" if metrics["n_unscored"]
                                           else "")
print(f"model {kind} ({utils.shown_path(checkpoint)}) on {utils.shown_path(test_dir)} ({scored})")
if metrics["n"]:
    print(f"top-1: {metrics['top1']:.4f}")
    print(f"top-3: {metrics['top3']:.4f}")
    print(utils.format_confusion(metrics["confusion_matrix"]))
    utils.save_confusion_png(metrics["confusion_matrix"], out_dir / f"inference_{name}_confusion.png",
                             f"{'Task 2 model' if kind == 'ml' else 'Task 3 CNN'} ({checkpoint.name}) on "
                             f"{utils.data_name(test_dir)}: top-1 {metrics['top1']:.3f}, top-3 {metrics['top3']:.3f}")
else:
    print("no labelled notes, so no top-1/top-3: the predictions CSV holds what was predicted")
utils.write_json(out_dir / f"inference_{name}.json", dict(
    model=kind, checkpoint=utils.shown_path(checkpoint), checkpoint_sha256=utils.file_sha256(checkpoint),
    test_dir=utils.shown_path(test_dir), provenance=args.provenance or utils.read_provenance(test_dir),
    command=utils.command_line(), seconds=round(time.time() - t_start, 2), **metrics,
    figures=dict(confusion=f"inference_{name}_confusion.png" if metrics["n"] else None)))
print(f"wrote {utils.shown_path(csv_path)}, " +
      (f"{utils.shown_path(out_dir / f'inference_{name}_confusion.png')} and " if metrics["n"] else "") +
      f"{utils.shown_path(out_dir / f'inference_{name}.json')}")
