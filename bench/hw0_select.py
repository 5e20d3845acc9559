"""Choose HW0 recipes on signals that predict accuracy on real NSynth: leave-one-source-out validation over the
training sources, and the 99 genuine NSynth notes of shared/realdata (measured, never trained on).

    python bench/hw0_select.py --data /work/data/nsynth_mix --work /work/data/select --model cnn \
        --recipe "plain=--epochs 8" --recipe "bands=--epochs 8 --augment bands" --max_train 4000

Why: validation on one held-out SoundFont lineage said 0.67 top-1 while genuine NSynth notes got 0.32, and it chose
the plain recipe over every augmentation. A recipe that generalises to an unseen *source* (a sample library, a synth
engine, a physical-model toolkit) is what real NSynth asks for, so:
  leave-one-source-out (LOSO)  the training split's notes are grouped by source lineage (dataset_info.json, written
                               by standins/render_nsynth.py: fluid, opl3, synthetic, stk, zyn, ...). For each group g a
                               model is trained on the other groups and scored on g after the LAST epoch (no epoch is
                               picked on g). Reported: every group, the mean, and the worst group.
  genuine                      one model trained on the whole training split (epoch picked on the proxy valid split,
                               as the shipped models are), run through hw0/inference.py on --real: top-1 / top-3.
                               99 notes: a difference under about 8 points is noise.
  leave-one-library-out        (--lolo) the same idea with real recordings: every sample-library lineage of the
  (LOLO)                       training split ("sfz:karoryfer.growlybass", "philharmonia:flute", rendered by
                               standins/source_sfz.py / source_philharmonia.py) is held out in turn; the model trains
                               on everything else (engines included), its epoch is picked on the proxy valid split as
                               the shipped models' are, and hw0/inference.py scores the held-out library's notes.
                               --lolo_folds K packs the libraries into K folds (every library still held out once,
                               never trained on in its fold) when one training per library is too dear.
                               Reported: pooled and per-family top-1 with 95 % Wilson intervals, per library, and
                               with --baseline CKPT (e.g. the shipped model, which saw none of these libraries) the
                               paired difference on the same notes (bootstrap interval, McNemar p: bench/hw0_paired.py).

    python bench/hw0_select.py --data DATA/mix_real --work SCRATCH/lolo_ml --model ml --lolo --lolo_folds 6 \
        --baseline PREVIOUS/ml.joblib --recipe "ml=--models boosted_trees" --skip_genuine \
        --out results/hw0/leave_one_library_out.json

Each recipe is a set of extra arguments for hw0/train_cnn.py (--model cnn) or hw0/train_ml.py (--model ml); the same
--max_train and seed go to every run, so recipes compete on equal budgets. The test split is never read.
Runs already in --out with the same arguments are reused (rerun to add recipes; --fresh to redo them).
A full LOSO costs one training per lineage (8 for the stand-in mix): --loso_notes N --loso_args "--epochs 3" makes
it a cheaper screen (each fold trains on N notes of the other lineages, for 3 epochs), the same for every recipe:

    python bench/hw0_select.py --data DATA/mix2 --work SCRATCH/mix2 --model cnn --max_train 8510 \
        --loso_notes 2000 --loso_args "--epochs 3" --recipe "dr=--epochs 6 --augment bands,mixstyle,famix,resample"
"""
import argparse
import csv
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import zlib
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "hw0"))
import utils  # noqa: E402
sys.path.insert(0, str(ROOT / "bench"))
import hw0_paired  # noqa: E402

p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--data", required=True, help="rendered NSynth-format root: train/, valid/, dataset_info.json")
p.add_argument("--work", required=True, help="fold folders, caches and checkpoints (outside the repository)")
p.add_argument("--model", choices=["cnn", "ml"], default="cnn")
p.add_argument("--recipe", action="append", default=[], help="NAME=EXTRA ARGS for the training script (repeatable)")
p.add_argument("--real", default=str(ROOT.parent / "shared" / "realdata" / "nsynth-real-valid"),
               help="genuine NSynth notes, scored only")
p.add_argument("--groups", default="", help="LOSO groups to hold out, comma separated; 'stk+csound' holds out both "
                                          "lineages together (default: every lineage, with stk+csound together: "
                                          "Csound's waveguide/FM opcodes are ports of STK's models)")
p.add_argument("--min_group_notes", type=int, default=50, help="smaller lineages stay in training, never held out")
p.add_argument("--max_train", type=int, default=0, help="training notes per run (0 = all), the same for every run")
p.add_argument("--skip_loso", action="store_true", help="only the genuine-notes score (cheaper)")
p.add_argument("--lolo", action="store_true", help="leave-one-library-out over the real sample libraries instead of "
                                                   "leave-one-source-out over the lineages")
p.add_argument("--lolo_folds", type=int, default=0, help="pack the libraries into this many folds (0 = one fold per "
                                                        "library)")
p.add_argument("--baseline", default=None, help="checkpoint scored on the same held-out notes for a paired test, "
                                                "e.g. checkpoints/hw0/cnn_log.pt (must not have seen the libraries)")
p.add_argument("--skip_genuine", action="store_true", help="no training on the whole split and no genuine score")
p.add_argument("--loso_notes", type=int, default=0, help="training notes per LOSO fold: a seeded random subset of "
                                                          "the other lineages, linked into the fold (0 = all), so a "
                                                          "cheap screen does not decode every note per fold")
p.add_argument("--loso_args", default="", help="extra training arguments for the LOSO folds only, after the recipe's "
                                             "(the last of a repeated flag wins), the same for every recipe: with "
                                             "--loso_notes a cheaper screen, e.g. \"--epochs 3\" (default: the "
                                             "recipe's own budget, 8 or more full trainings per recipe)")
p.add_argument("--seed", type=int, default=0)
p.add_argument("--out", default=str(ROOT / "docs" / "results" / "hw0" / "selection.json"))
p.add_argument("--fresh", action="store_true", help="rerun recipes already in --out")
args = p.parse_args()

data, work = Path(args.data), Path(args.work)
script = ROOT / "hw0" / ("train_cnn.py" if args.model == "cnn" else "train_ml.py")
if not args.recipe:
    utils.die("give at least one --recipe NAME=ARGS, e.g. --recipe \"plain=--epochs 8\"")
if not (Path(args.real) / "audio").is_dir():
    utils.die(f"{args.real} has no audio/ folder; pass --real the folder of genuine NSynth notes (shared/realdata)")


def lineage_of_notes(split):
    """note_str -> source lineage, from dataset_info.json (instrument_str -> lineage) one level above the split."""
    info_file = data / "dataset_info.json"
    if not info_file.is_file():
        utils.die(f"{info_file} not found; LOSO needs the lineage of every instrument "
                  "(render with standins/render_nsynth.py)")
    instruments = json.loads(info_file.read_text())["instruments"][split]
    meta = json.loads((data / split / "examples.json").read_text())
    lineage = {}
    for name, e in meta.items():
        inst = e.get("instrument_str") or name.rsplit("-", 2)[0]
        if inst not in instruments:
            utils.die(f"{info_file} lists no instrument '{inst}' (note {name}) under '{split}'; was {data / split} "
                      f"rendered with this dataset_info.json?")
        lineage[name] = instruments[inst]["lineage"]
    return lineage


def build_fold(group, lineage, members=None):
    """<work>/folds/<group>/{train,heldout}: symlinks to the training split's notes + their examples.json entries;
    held out: the lineages in `members` (default: the '+'-joined names in `group`)."""
    fold = work / "folds" / (group + (f"_n{args.loso_notes}" if args.loso_notes else ""))
    members = set(members or group.split("+"))
    record = fold / "held_out.json"
    if fold.is_dir() and (not record.is_file() or set(json.loads(record.read_text())) != members):
        shutil.rmtree(fold)                   # built for other libraries (e.g. another --lolo_folds packing)
    fold.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(sorted(members)))
    meta = json.loads((data / "train" / "examples.json").read_text())
    for part, keep in (("train", lambda lin: lin not in members), ("heldout", lambda lin: lin in members)):
        split = fold / part
        if (split / "examples.json").is_file():
            continue
        (split / "audio").mkdir(parents=True, exist_ok=True)
        names = [n for n, lin in lineage.items() if keep(lin)]
        if part == "train" and args.loso_notes and len(names) > args.loso_notes:
            pick = np.random.default_rng([args.seed, zlib.crc32(group.encode())]).permutation(len(names))
            names = [names[i] for i in sorted(pick[:args.loso_notes])]
        for n in names:
            link = split / "audio" / f"{n}.wav"
            if not link.is_symlink():
                os.symlink((data / "train" / "audio" / f"{n}.wav").resolve(), link)
        (split / "examples.json").write_text(json.dumps({n: meta[n] for n in names}))
    return fold


def train(recipe_args, run_name, train_dir, valid_dir):
    """One training run of the recipe -> its results JSON."""
    cmd = [sys.executable, str(script), "--train_dir", str(train_dir), "--valid_dir", str(valid_dir),
           "--name", run_name, "--checkpoint_dir", str(work / "checkpoints"), "--results_dir", str(work / "results"),
           "--cache_dir", str(work / "cache"), "--overwrite", "--seed", str(args.seed)]
    if args.max_train:
        cmd += ["--max_train", str(args.max_train)]
    log = work / "logs" / f"{run_name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as f:
        if subprocess.run(cmd + recipe_args, stdout=f, stderr=subprocess.STDOUT).returncode:
            utils.die(f"{run_name} failed; see {log}")
    return json.loads((work / "results" / f"{run_name}.json").read_text())


def held_out_score(res):
    """Score on the held-out group: the last epoch's (CNN; no epoch is chosen on it) or the fitted model's (Task 2)."""
    if args.model == "cnn":
        return res["history"][-1]["val_top1"], res["history"][-1]["val_top3"]
    best = res["candidates"][res["model"]]      # train_ml.py picked it on this held-out group: say so in a recipe
    return best["val_top1"], best["val_top3"]   # of one candidate (--models boosted_trees) to avoid that choice


def run_inference(ckpt, test_dir, out_dir):
    """hw0/inference.py on a folder -> (its results JSON, its per-file predictions CSV path)."""
    cmd = [sys.executable, str(ROOT / "hw0" / "inference.py"), "--test_dir", str(test_dir), "--checkpoint", str(ckpt),
           "--out_dir", str(out_dir)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        utils.die(f"inference on {test_dir} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    stem = Path(ckpt).stem
    return json.loads((Path(out_dir) / f"inference_{stem}.json").read_text()), Path(out_dir) / f"predictions_{stem}.csv"


def checkpoint_of(run_name):
    return work / "checkpoints" / (f"{run_name}.pt" if args.model == "cnn" else f"{run_name}.joblib")


def genuine_score(run_name):
    res, csv_path = run_inference(checkpoint_of(run_name), args.real, work / "inference" / run_name)
    per_family = {}
    cm = res["confusion_matrix"]
    for i, fam in enumerate(utils.FAMILIES):
        if sum(cm[i]):
            per_family[fam] = f"{cm[i][i]}/{sum(cm[i])}"
    out = dict(top1=res["top1"], top3=res["top3"], n=res["n"], per_family=per_family)
    if args.baseline:
        _, base_csv = run_inference(args.baseline, args.real, work / "inference" / "baseline_genuine")
        out["vs_baseline"] = hw0_paired.compare_files(csv_path, base_csv)
    return out


def lolo_folds(lineage):
    """The real sample libraries of the training split, packed into folds: [(fold name, [library lineages])].
    Packed per family (a library counts for the family most of its notes belong to): each library, largest first,
    goes to the fold holding the fewest notes of its family so far, so that no fold takes most of one family's
    recordings away from training (two of three piano libraries held out together would leave the model mostly
    real basses to learn what a real recording is from)."""
    sizes = Counter(lin for lin in lineage.values() if ":" in lin)
    if not sizes:
        utils.die(f"{data / 'train'} holds no sample-library lineage (source:library); render one with "
                  f"standins/render_nsynth.py --sources sfz,philharmonia and merge it in (standins/README.txt)")
    libs = sorted(sizes, key=lambda lin: (-sizes[lin], lin))
    if not args.lolo_folds or args.lolo_folds >= len(libs):
        return [(lib.replace(":", "_"), [lib]) for lib in libs]
    family_of = {lib: Counter(n.rsplit("_", 2)[0] for n, lin in lineage.items() if lin == lib).most_common(1)[0][0]
                 for lib in libs}
    folds = [[] for _ in range(args.lolo_folds)]
    held = [Counter() for _ in range(args.lolo_folds)]          # notes per family held out in each fold
    for lib in libs:
        fam = family_of[lib]
        k = min(range(args.lolo_folds), key=lambda j: (held[j][fam], sum(held[j].values()), j))
        folds[k].append(lib)
        held[k][fam] += sizes[lib]
    return [(f"lolo{k + 1}of{args.lolo_folds}", members) for k, members in enumerate(folds)]


def read_correct(csv_path):
    """Predictions CSV -> {file: (true family, top-1 right, top-3 right)}."""
    with open(csv_path, newline="") as f:
        return {r["file"]: (r["true"], r["pred1"] == r["true"], r["true"] in (r["pred1"], r["pred2"], r["pred3"]))
                for r in csv.DictReader(f)}


def lolo_summary(notes, note_library):
    """Per-note results of all folds -> pooled / per family / per library top-1 with Wilson intervals, and the paired
    comparison with the baseline when there is one."""
    def block(keys):
        top1 = [notes[k]["top1"] for k in keys]
        acc = sum(top1) / len(top1)
        out = dict(n=len(top1), top1=round(acc, 4), top1_ci=[round(x, 4) for x in hw0_paired.wilson(acc, len(top1))],
                   top3=round(sum(notes[k]["top3"] for k in keys) / len(keys), 4))
        if all("baseline" in notes[k] for k in keys):
            out["baseline_top1"] = round(sum(notes[k]["baseline"] for k in keys) / len(keys), 4)
        return out
    out = dict(pooled=block(list(notes)), per_family={}, per_library={})
    for fam in utils.FAMILIES:
        keys = [k for k in notes if notes[k]["true"] == fam]
        if keys:
            out["per_family"][fam] = block(keys)
    for lib in sorted(set(note_library.values())):
        keys = [k for k in notes if note_library[k] == lib]
        out["per_library"][lib] = block(keys)
    if all("baseline" in v for v in notes.values()):
        keys = sorted(notes)
        out["vs_baseline"] = hw0_paired.paired([notes[k]["top1"] for k in keys], [notes[k]["baseline"] for k in keys])
    return out


def run_lolo(name, recipe_args, row):
    """Train without each fold's libraries, score their notes (and the baseline's) -> row["lolo"]; per-note results
    go to <work>/lolo/<recipe>.json, so an interrupted selection continues with the next fold."""
    notes_file = work / "lolo" / f"{name}.json"        # per-note results, kept beside the folds (resumable)
    notes = json.loads(notes_file.read_text()) if notes_file.is_file() and "lolo" in row else {}
    folds = dict(lolo_folds(lineage))
    notes = {f: v for f, v in notes.items() if lineage.get(Path(f).stem) in folds.get(v["fold"], ())}
    for fold_name, members in folds.items():
        run_name = f"{name}_without_{fold_name}"
        if any(v["fold"] == fold_name for v in notes.values()):
            continue
        fold = build_fold(fold_name, lineage, members)
        train(recipe_args + shlex.split(args.loso_args), run_name, fold / "train", data / "valid")
        res, csv_path = run_inference(checkpoint_of(run_name), fold / "heldout", work / "inference" / run_name)
        got = read_correct(csv_path)
        base = {}
        if args.baseline:
            _, base_csv = run_inference(args.baseline, fold / "heldout", work / "inference" / f"baseline_{fold_name}")
            base = read_correct(base_csv)
        for f, (true, top1, top3) in got.items():
            notes[f] = dict(fold=fold_name, true=true, top1=int(top1), top3=int(top3),
                            **({"baseline": int(base[f][1])} if f in base else {}))
        utils.write_json(notes_file, notes)
        row["lolo"] = dict(partial=True)
        print(f"{name}: held out {', '.join(members)} ({len(got)} notes): top-1 {res['top1']:.3f}"
              + (f" (baseline {sum(b[1] for b in base.values()) / len(base):.3f})" if base else ""), flush=True)
        save(name, row)
    note_library = {f: lineage[Path(f).stem] for f in notes}
    row["lolo"] = lolo_summary(notes, note_library)
    row["lolo"]["folds"] = folds


def save(name, row):
    """Write this recipe's row into --out as it is on disk now: two selections (e.g. --model cnn and --model ml)
    can run side by side on one file without erasing each other's rows."""
    block[name] = row
    latest = json.loads(Path(args.out).read_text()) if Path(args.out).is_file() else {}
    latest.setdefault(args.model, {})[name] = row
    latest["provenance"] = utils.read_provenance(data / "train")      # what the held-out notes are
    utils.write_json(args.out, latest)


lineage = lineage_of_notes("train")
sizes = Counter(lineage.values())
KIN = [("stk", "csound")]          # lineages held out together by default
groups = [g for g in args.groups.split(",") if g]
if not groups:
    big = sorted(g for g, n in sizes.items() if n >= args.min_group_notes)
    for kin in KIN:
        if set(kin) <= set(big):
            big = sorted(set(big) - set(kin)) + ["+".join(kin)]
    groups = big
for g in groups:
    for member in g.split("+"):
        if member not in sizes:
            utils.die(f"--groups {g}: no such lineage '{member}' in {data / 'train'} (there are {dict(sizes)})")
sizes.update({g: sum(sizes[m] for m in g.split("+")) for g in groups if "+" in g})
print(f"training split: {len(lineage)} notes, lineages {dict(sorted(sizes.items()))}; held out in turn: "
      + ("; ".join(f"{name}: {'+'.join(m)}" for name, m in lolo_folds(lineage)) if args.lolo else str(groups)))
results = json.loads(Path(args.out).read_text()) if Path(args.out).is_file() else {}
block = results.setdefault(args.model, {})
for spec in args.recipe:
    name, eq, extra = spec.partition("=")
    if not eq or not name:
        utils.die(f"--recipe '{spec}' must look like NAME=EXTRA ARGS, e.g. 'bands=--epochs 8 --augment bands'")
    recipe_args = shlex.split(extra)
    key = dict(args=extra, max_train=args.max_train, seed=args.seed, data=str(data))
    row = block.get(name, {})
    if args.fresh or {k: row.get(k) for k in key} != key:
        row = dict(key, model=args.model, recipe=name)
    t0 = time.time()
    if args.lolo:
        budget = dict(loso_notes=args.loso_notes, loso_args=args.loso_args, lolo_folds=args.lolo_folds,
                      baseline=args.baseline)
        if {k: row.get(k, v) for k, v in budget.items()} != budget:    # another budget: those folds don't count
            row.pop("lolo", None)
        row.update(budget, baseline_sha256=utils.file_sha256(args.baseline) if args.baseline else None)
        run_lolo(name, recipe_args, row)
    elif not args.skip_loso:
        budget = dict(loso_notes=args.loso_notes, loso_args=args.loso_args)
        if {k: row.get(k, v) for k, v in budget.items()} != budget:    # another LOSO budget: those folds don't count
            row.pop("loso", None)
        row.update(budget)
        for g in groups:
            if g in row.get("loso", {}):
                continue
            fold = build_fold(g, lineage)
            res = train(recipe_args + shlex.split(args.loso_args), f"{name}_without_{g}", fold / "train",
                        fold / "heldout")
            top1, top3 = held_out_score(res)
            row.setdefault("loso", {})[g] = dict(top1=round(top1, 4), top3=round(top3, 4), n=sizes[g])
            print(f"{name}: held out {g} ({sizes[g]} notes): top-1 {top1:.3f} top-3 {top3:.3f}", flush=True)
            save(name, row)
        scores = {g: row["loso"][g]["top1"] for g in groups if g in row["loso"]}
        row["loso_mean_top1"] = round(sum(scores.values()) / len(scores), 4)
        row["loso_worst"] = min(scores, key=scores.get)
    if "genuine" not in row and not args.skip_genuine:
        res = train(recipe_args, f"{name}_all", data / "train", data / "valid")
        row["proxy_valid_top1"] = round(res["val"]["top1"] if "val" in res else held_out_score(res)[0], 4)
        row["genuine"] = genuine_score(f"{name}_all")
        print(f"{name}: genuine NSynth top-1 {row['genuine']['top1']:.3f} top-3 {row['genuine']['top3']:.3f} "
              f"{row['genuine']['per_family']}", flush=True)
    row["seconds"] = round(row.get("seconds", 0) + time.time() - t0, 1)
    save(name, row)

for name, row in block.items():
    if "pooled" in row.get("lolo", {}):
        lo = row["lolo"]
        print(f"\n{name}: leave-one-library-out top-1 {lo['pooled']['top1']:.3f} [{lo['pooled']['top1_ci'][0]:.3f}-"
              f"{lo['pooled']['top1_ci'][1]:.3f}] top-3 {lo['pooled']['top3']:.3f} on {lo['pooled']['n']} real notes")
        print("  per family: " + ", ".join(f"{f} {b['top1']:.2f} (n={b['n']})" for f, b in lo["per_family"].items()))
        if "vs_baseline" in lo:
            print("  vs baseline: " + hw0_paired.describe(lo["vs_baseline"], name, "baseline"))
        if "vs_baseline" in row.get("genuine", {}):
            print("  genuine vs baseline: " + hw0_paired.describe(row["genuine"]["vs_baseline"], name, "baseline"))
print(f"\n{'recipe':<16} {'LOSO mean':>9} {'worst group':>18} {'proxy valid':>11} {'genuine top-1':>13} {'top-3':>6}")
for name, row in block.items():
    worst = f"{row['loso_worst']} {row['loso'][row['loso_worst']]['top1']:.3f}" if "loso_worst" in row else "-"
    mean = f"{row['loso_mean_top1']:.3f}" if "loso_mean_top1" in row else "-"
    g = row.get("genuine", {})
    print(f"{name:<16} {mean:>9} {worst:>18} {row.get('proxy_valid_top1', float('nan')):>11.3f} "
          f"{g.get('top1', float('nan')):>13.3f} {g.get('top3', float('nan')):>6.3f}")
print(f"(genuine = the 99 genuine NSynth notes of shared/realdata; LOSO = last-epoch top-1 on each held-out source "
      f"lineage of {data}; figures in {utils.shown_path(args.out)})")
