"""Task-2 candidates' fit time against the number of training notes, measured at sub-sizes and extrapolated to the
course's 48,037 (nsynth-subtrain) and 289,205 (nsynth-train) notes.

    python bench/hw0_fit_scale.py --train_dir DATA/train --sizes 4096,8192,16384,32768,65536 \
        --out docs/results/bench.json

The features of --train_dir's notes (train_ml.py's 176 pooled + 59 harmonic ones, through its caches;
--no_harmonics: the 176 only) are repeated to each size with 5 % jitter of each
feature's standard deviation, so that no two training rows are equal (a repeated row would make the SVM and k-NN
look faster than they are). Fit times of distinct real notes can differ; the growth with N is what this measures.
Each candidate is fitted as train_ml.py fits it: the SVM, k-NN and random forest on at most --fit_cap notes, boosted
trees on all. Extrapolation: a power law t = a * N^b fitted to the two largest measured sizes of each candidate
(capped candidates stay at their cap's time). Figures go into --out under "hw0_fit_scale".
"""
import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hw0"))
import features  # noqa: E402
import utils  # noqa: E402

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--train_dir", required=True)
p.add_argument("--cache_dir", default=".cache")
p.add_argument("--sizes", default="4096,8192,16384,32768,65536")
p.add_argument("--no_harmonics", action="store_true", help="the 176 pooled features only, as train_ml.py's flag")
p.add_argument("--fit_cap", type=int, default=20000, help="as train_ml.py's --fit_cap")
p.add_argument("--targets", default="48037,289205")
p.add_argument("--out", default="docs/results/bench.json")
args = p.parse_args()

# the candidates exactly as hw0/train_ml.py builds them (seed 0)
CANDIDATES = {
    "svm": lambda: SVC(C=10, gamma="scale", class_weight="balanced", random_state=0),
    "random_forest": lambda: RandomForestClassifier(n_estimators=150, min_samples_leaf=5, class_weight="balanced",
                                                    n_jobs=-1, random_state=0),
    "knn": lambda: KNeighborsClassifier(n_neighbors=7, weights="distance"),
    "boosted_trees": lambda: HistGradientBoostingClassifier(max_iter=300, learning_rate=0.1, early_stopping=False,
                                                            random_state=0),
}
CAPPED = ("svm", "knn", "random_forest")

X0, y0 = utils.cached_task2_rows(*utils.list_nsynth(args.train_dir), args.cache_dir,
                                 None if args.no_harmonics else features.HARMONIC_DEFAULTS, "train")
X0, y0 = X0[y0 >= 0], y0[y0 >= 0]
rng = np.random.default_rng(0)
sizes = [int(n) for n in args.sizes.split(",")]
fit_s = {m: {} for m in CANDIDATES}
for n in sizes:
    idx = np.arange(n) % len(y0)
    X = X0[idx] + 0.05 * X0.std(0) * rng.standard_normal((n, X0.shape[1])).astype(np.float32)
    y = y0[idx]
    for m, make in CANDIDATES.items():
        n_fit = min(n, args.fit_cap) if m in CAPPED else n
        if n_fit in fit_s[m]:
            continue
        t = time.time()
        make_pipeline(StandardScaler(), make()).fit(X[:n_fit], y[:n_fit])
        fit_s[m][n_fit] = round(time.time() - t, 2)
        print(f"{m:>14}: {n_fit:>6} notes fitted in {fit_s[m][n_fit]:.1f} s", flush=True)

projected = {}
for m, times in fit_s.items():
    (n1, t1), (n2, t2) = sorted(times.items())[-2:]
    b = math.log(t2 / t1) / math.log(n2 / n1)
    projected[m] = {}
    for target in (int(n) for n in args.targets.split(",")):
        n_fit = min(target, args.fit_cap) if m in CAPPED else target
        projected[m][target] = dict(n_fit=n_fit, fit_s=round(times[n_fit] if n_fit in times else t2 * (n_fit / n2) ** b, 1),
                                    how="measured" if n_fit in times else f"extrapolated (N^{b:.2f} from {n1}, {n2})")
    print(f"{m:>14}: " + "; ".join(f"{t:,} notes -> {v['fit_s']} s ({v['how']})" for t, v in projected[m].items()))
utils.merge_json(args.out, "hw0_fit_scale", dict(
    command="python " + " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:]), cores=os.cpu_count(),
    fit_cap=args.fit_cap, n_distinct_notes=int(len(y0)), n_features=int(X0.shape[1]),
    measured_fit_s={m: {str(k): v for k, v in t.items()} for m, t in fit_s.items()},
    projected={m: {str(k): v for k, v in t.items()} for m, t in projected.items()}))
