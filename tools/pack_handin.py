"""Pack one homework for hand-in: exactly what the course asks for, laid out so that it runs where it is unpacked.

    python tools/pack_handin.py --hw 0                       # -> handin/hw0.zip with checkpoints/hw0/cnn_log.pt
    python tools/pack_handin.py --hw 0 --checkpoint checkpoints/hw0/ml.joblib
    python tools/pack_handin.py --hw 1                       # the one checkpoint in checkpoints/hw1/

The zip holds, at its top level,
    README.txt            hw<N>/README.txt (how to install and run this homework)
    requirements.txt      hw<N>/requirements.txt (what inference needs)
    hw<N>/                the code (and hw0/demo, the embedded demo notes)
    checkpoints/hw<N>/    the one checkpoint
    reports/hw<N>_report.pdf
so `python hw<N>/inference.py` works from the unpacked folder as it does here (the scripts find checkpoints/ beside
hw<N>/). Caches, results, tests and the other homework are left out.
"""
import argparse
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--hw", type=int, choices=[0, 1], required=True)
p.add_argument("--checkpoint", default=None, help="the checkpoint to hand in (default: checkpoints/hw0/cnn_log.pt, "
                                                  "or the only one in checkpoints/hw1/)")
p.add_argument("--out", default=None, help="zip file to write (default handin/hw<N>.zip)")
args = p.parse_args()

hw = f"hw{args.hw}"
if args.checkpoint:
    checkpoint = Path(args.checkpoint).resolve()
elif args.hw == 0:
    checkpoint = ROOT / "checkpoints" / "hw0" / "cnn_log.pt"
else:
    found = sorted((ROOT / "checkpoints" / "hw1").glob("*.pt"))
    if len(found) != 1:
        sys.exit(f"error: checkpoints/hw1/ holds {len(found)} checkpoints ({', '.join(f.name for f in found) or 'none'}); "
                 f"train one with hw1/finetune_mert.py, or pass --checkpoint FILE")
    checkpoint = found[0]
if not checkpoint.is_file():
    sys.exit(f"error: checkpoint {checkpoint} not found; pass --checkpoint FILE")
report = ROOT / "reports" / f"{hw}_report.pdf"
if not report.is_file():
    print(f"warning: {report.relative_to(ROOT)} does not exist yet (python reports/make_report.py --hw {args.hw}); "
          f"packing without it", file=sys.stderr)

files = {"README.txt": ROOT / hw / "README.txt", "requirements.txt": ROOT / hw / "requirements.txt",
         f"checkpoints/{hw}/{checkpoint.name}": checkpoint}
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
size = out.stat().st_size / 1e6
print(f"wrote {out} ({size:.1f} MB): README.txt, requirements.txt, {hw}/ ({sum(n.startswith(hw + '/') for n in files)} "
      f"files), checkpoints/{hw}/{checkpoint.name}" + (f", reports/{report.name}" if report.is_file() else ""))
