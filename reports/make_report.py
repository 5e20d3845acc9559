"""
Build a homework's 16:9 PDF report (about ten slides, one idea each) from its saved results.

    python reports/make_report.py --hw 0        # results/hw0/*.json -> reports/hw0_report.pdf
    python reports/make_report.py --hw 1        # results/hw1/*.json -> reports/hw1_report.pdf

Every number on a slide is formatted from a results JSON, and every slide's footer names the results files and the
data they were measured on (the JSON's "provenance": genuine, rendered stand-in, or unknown). Each results file must
name the shipped checkpoint it was computed with ("checkpoint_sha256" = sha256 of checkpoints/hw<N>/<file>); a file
that does not is marked with a red line on every slide that uses it, and --strict refuses to build instead. A
missing results file gives a slide that names the command producing it.
Layout: reports/slides.py; reading and formatting results: reports/results.py; what each homework's slides say:
reports/hw0_slides.py, reports/hw1_slides.py.
"""
import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--hw", type=int, choices=[0, 1], required=True, help="which homework")
parser.add_argument("--results_dir", default=None, help="default: results/hw<N> in the repository")
parser.add_argument("--checkpoint_dir", default=None,
                    help="the shipped checkpoints the results are checked against (default: checkpoints/hw<N>)")
parser.add_argument("--strict", action="store_true",
                    help="refuse to build when a results file does not match its shipped checkpoint")
parser.add_argument("--config", default=str(REPO / "reports" / "report_config.json"),
                    help="JSON with name, student_id, code_link")
parser.add_argument("--name", default=None, help="overrides the config")
parser.add_argument("--student_id", default=None, help="overrides the config")
parser.add_argument("--code_link", default=None, help="overrides the config")
parser.add_argument("--out", default=None, help="default: reports/hw<N>_report.pdf in the repository")
args = parser.parse_args()

import hw0_slides  # noqa: E402  (after argparse: --help stays fast)
import hw1_slides  # noqa: E402
import results as R  # noqa: E402
import slides as S  # noqa: E402

results_dir = Path(args.results_dir) if args.results_dir else REPO / "results" / f"hw{args.hw}"
checkpoint_dir = Path(args.checkpoint_dir) if args.checkpoint_dir else REPO / "checkpoints" / f"hw{args.hw}"
out_path = Path(args.out) if args.out else REPO / "reports" / f"hw{args.hw}_report.pdf"
if not results_dir.is_dir():
    print(f"warning: results folder {results_dir} does not exist; every result slide will name the command "
          f"that produces it", file=sys.stderr)

config = {}
config_path = Path(args.config)
if config_path.is_file():
    try:
        config = json.loads(config_path.read_text())
    except json.JSONDecodeError as e:
        sys.exit(f"error: config {config_path} is not valid JSON ({e}); expected "
                 '{"name": ..., "student_id": ..., "code_link": ...}')
elif args.config != parser.get_default("config"):
    sys.exit(f"error: config file {config_path} not found; expected a JSON with name, student_id, code_link")
author = {"name": args.name or config.get("name") or "<YOUR NAME>",
          "student_id": args.student_id or config.get("student_id") or "<YOUR STUDENT ID>",
          "code_link": args.code_link or config.get("code_link") or "<LINK TO YOUR CODE>"}

R.setup(args.hw, results_dir, checkpoint_dir, strict=args.strict)
try:
    (hw0_slides if args.hw == 0 else hw1_slides).build(results_dir, author)
except (TypeError, ValueError, KeyError, AttributeError, IndexError) as e:   # a field of the wrong type or shape
    sys.exit(f"error: a results JSON in {results_dir} ({', '.join(R.names_read())}) does not follow the results "
             f"schema ({type(e).__name__}: {' '.join(str(e).split())[:120]}); re-run the script that wrote it")
n_slides = S.write_pdf(out_path, f"HW{args.hw} report", author["name"])
stale = R.problems()
if stale:
    print(f"warning: {len(stale)} results file(s) not tied to the shipped checkpoints ({', '.join(stale)}): their "
          f"slides carry a red line; re-run the scripts that write them (--strict refuses to build)", file=sys.stderr)
print(f"wrote {out_path} ({n_slides} slides) from {results_dir}")
