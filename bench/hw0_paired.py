"""Compare two HW0 models on the same notes: each one's top-1 with a 95 % Wilson interval, the paired difference with
a 95 % paired-bootstrap interval, and McNemar's exact test (does one model get notes right that the other gets
wrong more often than chance would?).

    python bench/hw0_paired.py NEW/predictions_cnn_log.csv results/hw0/genuine/predictions_cnn_log.csv

Each CSV is hw0/inference.py's per-file predictions (file,true,pred1,...). Only files in both are compared; a file
whose true label differs between them stops the comparison (they are not the same notes).
Why paired: on 99 notes one model's interval is about +-10 points wide, but two models scored on the same notes
disagree on far fewer of them, so the paired test sees differences the two intervals alone cannot.
"""
import argparse
import csv
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reports"))
from results import wilson  # noqa: E402  (reports/results.py: the interval README and the report show)


def mcnemar_p(a_only, b_only):
    """Exact two-sided McNemar p: of the notes exactly one model gets right, is the split a fair coin's?"""
    n = a_only + b_only
    if n == 0:
        return 1.0
    k = min(a_only, b_only)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def paired(correct_a, correct_b, n_boot=10000, seed=0):
    """Per-note 0/1 arrays of two models on the same notes -> dict of both accuracies, intervals and the tests."""
    a, b = np.asarray(correct_a, dtype=float), np.asarray(correct_b, dtype=float)
    n = len(a)
    diffs = a - b
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    boot = diffs[idx].mean(1)
    return dict(n=n, a=round(float(a.mean()), 4), a_ci=[round(float(x), 4) for x in wilson(a.mean(), n)],
                b=round(float(b.mean()), 4), b_ci=[round(float(x), 4) for x in wilson(b.mean(), n)],
                diff=round(float(diffs.mean()), 4),
                diff_ci=[round(float(np.quantile(boot, 0.025)), 4), round(float(np.quantile(boot, 0.975)), 4)],
                a_only=int(((a == 1) & (b == 0)).sum()), b_only=int(((a == 0) & (b == 1)).sum()),
                mcnemar_p=round(mcnemar_p(int(((a == 1) & (b == 0)).sum()), int(((a == 0) & (b == 1)).sum())), 4))


def read_predictions(path):
    """hw0/inference.py CSV -> {file: (true, top-1 prediction)}."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or not {"file", "true", "pred1"} <= set(rows[0]):
        sys.exit(f"error: {path} is not an hw0/inference.py predictions CSV (columns file,true,pred1,...)")
    return {r["file"]: (r["true"], r["pred1"]) for r in rows}


def compare_files(path_a, path_b):
    a, b = read_predictions(path_a), read_predictions(path_b)
    common = sorted(set(a) & set(b))
    if not common:
        sys.exit(f"error: {path_a} and {path_b} share no file; score both models on the same folder")
    wrong = [f for f in common if a[f][0] != b[f][0]]
    if wrong:
        sys.exit(f"error: {wrong[0]} has true label {a[wrong[0]][0]} in {path_a} but {b[wrong[0]][0]} in {path_b}")
    return paired([a[f][0] == a[f][1] for f in common], [b[f][0] == b[f][1] for f in common])


def describe(r, name_a="A", name_b="B"):
    return (f"{r['n']} notes: {name_a} {r['a']:.3f} [{r['a_ci'][0]:.2f}-{r['a_ci'][1]:.2f}], {name_b} {r['b']:.3f} "
            f"[{r['b_ci'][0]:.2f}-{r['b_ci'][1]:.2f}]; difference {r['diff']:+.3f} [{r['diff_ci'][0]:+.3f} to "
            f"{r['diff_ci'][1]:+.3f}] (paired bootstrap); only {name_a} right {r['a_only']}, only {name_b} right "
            f"{r['b_only']}, McNemar p = {r['mcnemar_p']:.3f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("a", help="predictions CSV of model A (e.g. the new checkpoint)")
    ap.add_argument("b", help="predictions CSV of model B on the same notes (e.g. the shipped checkpoint)")
    ap.add_argument("--out", default=None, help="also write the comparison (and both file names) to this JSON")
    args = ap.parse_args()
    for path in (args.a, args.b):
        if not Path(path).is_file():
            sys.exit(f"error: {path} not found; write it with hw0/inference.py --test_dir ... --out_dir ...")
    result = compare_files(args.a, args.b)
    print(describe(result, "A", "B"))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(dict(file_a=str(args.a), file_b=str(args.b), **result), indent=1))
