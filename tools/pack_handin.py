"""Pack one homework for hand-in: exactly what the course asks for, laid out so that it runs where it is unpacked.

    python tools/pack_handin.py --hw 0                       # -> handin/hw0.zip with checkpoints/hw0/cnn_log.pt
    python tools/pack_handin.py --hw 0 --checkpoint checkpoints/hw0/ml.joblib      # the Task-2 pipeline instead
    python tools/pack_handin.py --hw 1                       # the best checkpoint in checkpoints/hw1/ (val_macro_f1)
    python tools/pack_handin.py --hw 1 --checkpoint runs/mine.pt

The zip holds, at its top level,
    README.txt            hw<N>/README.txt (how to install and run this homework)
    requirements.txt      hw<N>/requirements.txt (what inference needs)
    hw<N>/                the code (and hw0/demo, the embedded demo notes)
    checkpoints/hw<N>/    exactly one checkpoint, under its own file name
    reports/hw<N>_report.pdf
so that `python hw<N>/inference.py` works from the unpacked folder as it does here: with one checkpoint in
checkpoints/hw<N>/, that is the one it uses (HW0: a .pt is the CNN, a .joblib the Task-2 pipeline). A checkpoint
from elsewhere is packed under its own file name. Results, docs, caches, tests and the other homework stay out.
After writing, the zip is read back and checked, and the TA's command is printed.
"""
import argparse
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KINDS = {0: (".pt", ".joblib"), 1: (".pt",)}    # checkpoint extensions each homework's inference.py can load

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--hw", type=int, choices=[0, 1], required=True)
p.add_argument("--checkpoint", default=None, help="the checkpoint to hand in (default: checkpoints/hw0/cnn_log.pt; "
                                                  "HW1: the one in checkpoints/hw1/ with the highest val_macro_f1)")
p.add_argument("--out", default=None, help="zip file to write (default handin/hw<N>.zip)")
args = p.parse_args()

hw = f"hw{args.hw}"


def best_hw1_checkpoint():
    """The checkpoint in checkpoints/hw1/ with the highest validation macro-F1 (ties: the first by file name)."""
    found = sorted((ROOT / "checkpoints" / "hw1").glob("*.pt"))
    if not found:
        sys.exit("error: checkpoints/hw1/ holds no checkpoint; train one with hw1/finetune_mert.py, "
                 "or pass --checkpoint FILE")
    if len(found) == 1:
        return found[0]
    import torch
    scores = {}
    for f in found:
        try:
            scores[f] = float(torch.load(f, weights_only=True, map_location="cpu")["val_macro_f1"])
        except Exception as e:
            why = str(e).splitlines()[0][:100] if str(e) else ""
            sys.exit(f"error: checkpoints/hw1/{f.name}: no val_macro_f1 to rank it by ({type(e).__name__}: {why}); "
                     f"move it out of checkpoints/hw1/, or pass --checkpoint FILE")
    best = max(found, key=lambda f: scores[f])          # max keeps the first of equal scores
    others = ", ".join(f"{f.name} {scores[f]:.4f}" for f in found if f != best)
    print(f"checkpoints/hw1/ holds {len(found)} checkpoints: packing {best.name}, the highest validation macro-F1 "
          f"(val_macro_f1 {scores[best]:.4f}; {others}); --checkpoint FILE to choose another")
    return best


if args.checkpoint:
    checkpoint = Path(args.checkpoint).resolve()
elif args.hw == 0:
    checkpoint = ROOT / "checkpoints" / "hw0" / "cnn_log.pt"
else:
    checkpoint = best_hw1_checkpoint()
if not checkpoint.is_file():
    sys.exit(f"error: checkpoint {checkpoint} not found; pass --checkpoint FILE")
if checkpoint.suffix not in KINDS[args.hw]:
    sys.exit(f"error: {checkpoint}: {hw}/inference.py loads {' or '.join(KINDS[args.hw])} checkpoints, not "
             f"'{checkpoint.suffix}'; pass --checkpoint FILE")
report = ROOT / "reports" / f"{hw}_report.pdf"
if not report.is_file():
    print(f"warning: reports/{report.name} does not exist yet (python reports/make_report.py --hw {args.hw}); "
          f"packing without it", file=sys.stderr)

packed_checkpoint = f"checkpoints/{hw}/{checkpoint.name}"
files = {"README.txt": ROOT / hw / "README.txt", "requirements.txt": ROOT / hw / "requirements.txt",
         packed_checkpoint: checkpoint}
for f in sorted((ROOT / hw).rglob("*")):
    if f.is_file() and "__pycache__" not in f.parts and f.suffix != ".pyc":
        files[str(f.relative_to(ROOT))] = f
if report.is_file():
    files[f"reports/{report.name}"] = report

out = Path(args.out or ROOT / "handin" / f"{hw}.zip")
out.parent.mkdir(parents=True, exist_ok=True)
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for name, f in files.items():
        z.write(f, name)

# read the zip back: one checkpoint, where inference.py looks for it, and the code; nothing else at the top level
with zipfile.ZipFile(out) as z:
    names, damaged = z.namelist(), z.testzip()
packed = [n for n in names if n.startswith("checkpoints/") or n.endswith((".pt", ".joblib"))]
missing = {"README.txt", "requirements.txt", f"{hw}/inference.py"} - set(names)
strays = [n for n in names if n.split("/")[0] not in ("README.txt", "requirements.txt", hw, "checkpoints", "reports")]
problems = []
if damaged:
    problems.append(f"{damaged} does not read back")
if packed != [packed_checkpoint]:
    problems.append(f"{len(packed)} checkpoints ({', '.join(packed)}) where only {packed_checkpoint} belongs")
if missing:
    problems.append(f"{', '.join(sorted(missing))} missing")
if strays:
    problems.append(f"{', '.join(strays)} do not belong in it")
if problems:
    out.unlink()
    sys.exit(f"error: {out}: {'; '.join(problems)}; zip removed, move those files and pack again")

print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB): README.txt, requirements.txt, "
      f"{hw}/ ({sum(n.startswith(hw + '/') for n in names)} files), {packed_checkpoint}"
      + (f", reports/{report.name}" if report.is_file() else ""))
if args.hw == 0:
    kind = "the Task-2 pipeline" if checkpoint.suffix == ".joblib" else "the CNN"
    print(f"the TA runs, in the unpacked folder ({kind}, {checkpoint.name}):\n"
          f"    python hw0/inference.py --test_dir PATH/nsynth-test      (no --test_dir: the demo notes in hw0/demo)")
else:
    print(f"the TA runs, in the unpacked folder ({checkpoint.name}):\n"
          f"    python hw1/inference.py --test_dir PATH/slakh/test --labels PATH/slakh/test_labels.json")
