"""Ablation of the Task-3 recipe: each generalisation idea switched off on its own, same data, seed and budget,
measured on the instrument-disjoint validation split (never on test).

    python bench/hw0_ablation.py --train_dir DATA/train --valid_dir DATA/valid --max_train 6000 --epochs 8

Runs hw0/train_cnn.py once per variant (checkpoints go to a scratch folder, not checkpoints/), then writes
docs/results/hw0/ablation.json and ablation.md with validation top-1/top-3 and the change against the full recipe.
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--train_dir", required=True)
p.add_argument("--valid_dir", required=True)
p.add_argument("--max_train", type=int, default=6000, help="training notes per run (same subset for every run)")
p.add_argument("--epochs", type=int, default=8)
p.add_argument("--scratch_dir", default=str(REPO / ".cache" / "ablation"))
p.add_argument("--results_dir", default=str(REPO / "docs" / "results" / "hw0"))
p.add_argument("--only", default="", help="comma list of variant names to run (default: all)")
p.add_argument("--extra", default="", help="extra arguments for every train_cnn.py run, e.g. '--width 16'")
args = p.parse_args()

FULL = {"--augment": "gain,eq,noise,reverb,shift,pitch", "--specaugment": "1", "--mixup": "0.2",
        "--label_smoothing": "0.1"}                       # the regularised recipe; every flag given explicitly


def recipe(**off):
    """train_cnn.py flags of the full recipe with the named regularisers switched off."""
    flags = dict(FULL, **{f"--{k}": v for k, v in off.items()})
    return [t for kv in flags.items() for t in kv]


VARIANTS = [   # name, train_cnn.py arguments, what is switched off
    ("full recipe", recipe(), "log-mel, all augmentation, SpecAugment, mixup 0.2, label smoothing 0.1"),
    ("no log-mel-domain augmentation", recipe(augment=""), "gain, EQ, noise, reverb, onset and spectral shift off"),
    ("no SpecAugment", recipe(specaugment="0"), "frequency/time masks off"),
    ("no mixup", recipe(mixup="0"), "mixup off"),
    ("no label smoothing", recipe(label_smoothing="0"), "label smoothing off"),
    ("nothing (plain recipe)", recipe(augment="", specaugment="0", mixup="0", label_smoothing="0"),
     "all of the above off"),
    ("linear mel input (--no_log)", recipe() + ["--no_log"], "log off, everything else as the full recipe"),
]
only = [v for v in args.only.split(",") if v]
rows = []
for i, (name, extra, note) in enumerate(VARIANTS):
    if only and name not in only:
        continue
    run = f"ablation_{i}"
    cmd = [sys.executable, str(REPO / "hw0" / "train_cnn.py"), "--train_dir", args.train_dir, "--valid_dir",
           args.valid_dir, "--max_train", str(args.max_train), "--epochs", str(args.epochs), "--name", run,
           "--checkpoint_dir", args.scratch_dir, "--results_dir", args.scratch_dir, "--overwrite"]
    cmd += extra + args.extra.split()
    print(f"== {name}: {' '.join(cmd[1:])}", flush=True)
    subprocess.run(cmd, check=True, cwd=REPO)
    res = json.loads((Path(args.scratch_dir) / f"{run}.json").read_text())
    rows.append(dict(name=name, note=note, args=" ".join(extra), val_top1=res["val"]["top1"],
                     val_top3=res["val"]["top3"], best_epoch=res["best_epoch"], train_time_s=res["train_time_s"]))
    print(f"   validation top-1 {res['val']['top1']:.4f} top-3 {res['val']['top3']:.4f}", flush=True)

base = next((r for r in rows if r["name"] == "full recipe"), None)
lines = ["| variant | validation top-1 | validation top-3 | change in top-1 vs full recipe |", "|---|---|---|---|"]
for r in rows:
    r["delta_top1"] = None if base is None else r["val_top1"] - base["val_top1"]
    delta = "" if r["delta_top1"] is None or r is base else f"{r['delta_top1']:+.4f}"
    lines.append(f"| {r['name']} | {r['val_top1']:.4f} | {r['val_top3']:.4f} | {delta} |")
provenance = res["data"]["provenance"] if rows else "none"
out = Path(args.results_dir)
out.mkdir(parents=True, exist_ok=True)
(out / "ablation.json").write_text(json.dumps(dict(
    data=dict(train_dir=args.train_dir, valid_dir=args.valid_dir, provenance=provenance, max_train=args.max_train),
    epochs=args.epochs, command=" ".join(["python", "bench/hw0_ablation.py"] + sys.argv[1:]), rows=rows), indent=1))
(out / "ablation.md").write_text(f"Ablation on {provenance}; {args.max_train} training notes, {args.epochs} epochs, "
                                 f"validation split (instruments unseen in training)\n\n" + "\n".join(lines) + "\n")
print("\n".join(lines))
