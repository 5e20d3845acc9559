"""Task 2: a traditional classifier on pooled, standardised audio features.

    python hw0/train_ml.py --train_dir DATA/nsynth-train --valid_dir DATA/nsynth-valid --test_dir DATA/nsynth-test

Features (hw0/features.py, one STFT per note shared by all): MFCC 20 + deltas + delta-deltas, spectral centroid,
bandwidth, roll-off, flatness, 7-band contrast, chroma, zero-crossing rate and RMS, each pooled over time by mean
and standard deviation, plus attack/decay envelope statistics; and 59 features of the note's own harmonics, found
from the MIDI pitch in its file name (features.harmonic_features; --no_harmonics leaves them out). A StandardScaler
fitted on the training split feeds each candidate (SVM, random forest, k-NN, gradient-boosted trees); the best by
validation top-1 is saved as fitted on the training split; the test split is scored once at the end.
"""
import argparse
import time
from pathlib import Path

import joblib
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import features
import utils

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--train_dir", required=True, help="NSynth-format split folder (examples.json + audio/)")
p.add_argument("--valid_dir", required=True, help="validation split: picks the model")
p.add_argument("--test_dir", default=None, help="test split, scored once at the end (never used for selection)")
p.add_argument("--models", default="svm,random_forest,knn,boosted_trees", help="comma list of candidates")
p.add_argument("--no_harmonics", action="store_true",
               help="the 176 pooled features only, without the 59 harmonic ones (the ablation baseline)")
p.add_argument("--max_train", type=int, default=0, help="subsample the training split to this many notes (0 = all)")
p.add_argument("--fit_cap", type=int, default=20000,
               help="most training notes the SVM, k-NN and random forest see (a seeded random subset; 0 = all): an "
                    "RBF-SVM's fit grows quadratically, k-NN and forest models grow with the notes they keep. "
                    "Boosted trees always see the whole split")
p.add_argument("--name", default="ml")
# defaults inside the repository, wherever the script is run from
p.add_argument("--checkpoint_dir", default=str(utils.REPO / "checkpoints" / "hw0"))
p.add_argument("--results_dir", default=str(utils.REPO / "results" / "hw0"))
p.add_argument("--cache_dir", default=str(utils.REPO / ".cache"), help="feature cache (keyed by file list and "
                                                                      "feature settings)")
p.add_argument("--overwrite", action="store_true", help="replace an existing checkpoint of this --name (e.g. the "
                                                          "shipped checkpoints/hw0/ml.joblib) and its results")
p.add_argument("--seed", type=int, default=0)
args = p.parse_args()

CANDIDATES = {
    "svm": lambda: SVC(C=10, gamma="scale", class_weight="balanced", random_state=args.seed),
    # 150 trees with leaves of >= 5 notes keep the saved pipeline near 15 MB on 24k notes (400 full trees: ~45 MB)
    "random_forest": lambda: RandomForestClassifier(n_estimators=150, min_samples_leaf=5, class_weight="balanced",
                                                    n_jobs=-1, random_state=args.seed),
    "knn": lambda: KNeighborsClassifier(n_neighbors=7, weights="distance"),
    "boosted_trees": lambda: HistGradientBoostingClassifier(max_iter=300, learning_rate=0.1, early_stopping=False,
                                                            random_state=args.seed),
}
ckpt_path = Path(args.checkpoint_dir) / f"{args.name}.joblib"
if ckpt_path.exists() and not args.overwrite:
    utils.die(f"{utils.shown_path(ckpt_path)} exists (the checkpoint you hand in?); pass --overwrite to replace it "
              f"and its results, or --name NAME for a trial run (writes "
              f"{utils.shown_path(ckpt_path.with_name('NAME.joblib'))}; inference.py --checkpoint runs it)")
names = [m for m in args.models.split(",") if m]
unknown = [m for m in names if m not in CANDIDATES]
if unknown:
    utils.die(f"unknown --models {unknown}; choose from {list(CANDIDATES)}")

cfg = features.FEAT_DEFAULTS
harmonic_cfg = None if args.no_harmonics else features.HARMONIC_DEFAULTS
feature_names = features.note_feature_names(cfg, harmonic_cfg)


def cached_features(split_dir, desc):
    """[N, 176 + 59] features of a split's usable notes and their labels, through two on-disk caches (read whole:
    9 MB per 10,000 notes)."""
    return utils.cached_task2_rows(*utils.list_nsynth(split_dir), args.cache_dir, harmonic_cfg, desc)


X_train, y_train = cached_features(args.train_dir, "train")
X_valid, y_valid = cached_features(args.valid_dir, "valid")
keep = y_train >= 0
X_train, y_train = X_train[keep], y_train[keep]
if args.max_train and len(y_train) > args.max_train:
    pick = np.random.default_rng(args.seed).choice(len(y_train), args.max_train, replace=False)
    X_train, y_train = X_train[pick], y_train[pick]
if not (y_valid >= 0).any():
    utils.die(f"{args.valid_dir} has no labelled notes, so no model can be selected; add its examples.json or use "
              f"NSynth file names (<family>_<source>_<NNN>-<pitch>-<velocity>.wav)")
if len(np.unique(y_train)) < 2:
    utils.die(f"{args.train_dir} has fewer than two labelled families; a classifier needs at least two")
print(f"train {len(y_train)} notes x {X_train.shape[1]} features, valid {len(y_valid)} notes")

# ---- fit every candidate on train, compare on validation --------------------------------------------------------
candidates, fitted, t0 = {}, {}, time.time()
capped = (np.sort(np.random.default_rng(args.seed + 1).choice(len(y_train), args.fit_cap, replace=False))
          if args.fit_cap and len(y_train) > args.fit_cap else slice(None))
for m in names:
    t = time.time()
    fit_rows = capped if m in ("svm", "knn", "random_forest") else slice(None)
    pipe = make_pipeline(StandardScaler(), CANDIDATES[m]()).fit(X_train[fit_rows], y_train[fit_rows])  # train only
    val = utils.evaluate(utils.scores_of(pipe, X_valid), y_valid)
    n_fit = len(y_train[fit_rows])
    candidates[m] = dict(val_top1=val["top1"], val_top3=val["top3"], fit_s=round(time.time() - t, 1), n_fit=n_fit)
    fitted[m] = pipe
    print(f"{m:>14}: validation top-1 {val['top1']:.4f} top-3 {val['top3']:.4f} ({n_fit} notes, "
          f"{time.time() - t:.1f}s)")
best = max(names, key=lambda m: (candidates[m]["val_top1"], candidates[m]["val_top3"]))
train_time = time.time() - t0
pipeline = fitted[best]
print(f"selected on validation: {best}")

ckpt_path.parent.mkdir(parents=True, exist_ok=True)
joblib.dump(dict(pipeline=pipeline, model=best, feature_config=cfg, harmonic_config=harmonic_cfg,
                 feature_names=feature_names, class_names=utils.FAMILIES), ckpt_path, compress=3)
print(f"saved {utils.shown_path(ckpt_path)} ({ckpt_path.stat().st_size / 1e6:.1f} MB)")

# ---- final evaluation -------------------------------------------------------------------------------------------
results_dir = Path(args.results_dir)
test = None
if args.test_dir:
    X_test, y_test = cached_features(args.test_dir, "test")
    test = utils.evaluate(utils.scores_of(pipeline, X_test), y_test)
    utils.print_metrics("test", test)
    if test["n"]:
        print(utils.format_confusion(test["confusion_matrix"]))
        utils.save_confusion_png(test["confusion_matrix"], results_dir / f"{args.name}_confusion.png",
                                 f"Task 2 {best.replace('_', ' ')}, test split: top-1 {test['top1']:.3f}, top-3 {test['top3']:.3f}")
utils.write_json(results_dir / f"{args.name}.json", dict(
    name=args.name, task="task2", model=best, checkpoint=utils.shown_path(ckpt_path),
    checkpoint_sha256=utils.file_sha256(ckpt_path), command=utils.command_line(), seed=args.seed,
    class_names=utils.FAMILIES, candidates=candidates, train_time_s=round(train_time, 1),
    features=f"{X_train.shape[1]} features: MFCC {cfg['n_mfcc']} + delta + delta-delta, spectral centroid, "
             f"bandwidth, roll-off, flatness, contrast (7), chroma (12), ZCR, RMS (mean and std over time) + 6 "
             f"attack/decay envelope statistics" + (" + 59 harmonic features (levels, decays and deviations of the "
                                                   "note's harmonics from its file-name pitch)" if harmonic_cfg else "")
             + "; StandardScaler fitted on train",
    data=dict(train_dir=args.train_dir, valid_dir=args.valid_dir, test_dir=args.test_dir,
              provenance=utils.read_provenance(args.train_dir), n_train=int(len(y_train)), n_valid=int(len(y_valid))),
    val=dict(top1=candidates[best]["val_top1"], top3=candidates[best]["val_top3"], n=int((y_valid >= 0).sum())),
    test=test, figures=dict(confusion=f"{args.name}_confusion.png" if test and test["n"] else None)))
print(f"wrote {utils.shown_path(results_dir / (args.name + '.json'))}")
