"""HW0 at the real dataset's size: wall time, clips/s and peak RSS of every script stage for N notes, beside the
previous load-everything path (git revision --baseline) where it fits in memory.

    python bench/hw0_scale.py --source /work/data/nsynth_proxy --work /work/data/scale \
        --sizes 4096,16384,289205 --baseline_max 16384 --out docs/results/bench.json

NSynth-format training folders of N notes are built cheaply: the source's training notes reused under distinct
note_str names through symlinks, with a valid examples.json (289,205 names = the full nsynth-train). Validation is
the source's valid split. Each stage runs as its own process; peak RSS is that process's (os.wait4's ru_maxrss):
  cnn_data   train_cnn.py's data step: decode + log-mel of the training folder into its cache
  cnn_epoch  train_cnn.py --epochs 1 on the cached log-mel (training clips/s from its results JSON)
  ml_data    train_ml.py's data step: decode + Task-2 features of the training folder into its cache
  ml_harm    its second data step: decode + the 59 harmonic features into their own cache (this checkout only:
             the baseline revision has none)
  ml_fit     train_ml.py on the cached features: every candidate's fit time (SVM/k-NN/forest capped by --fit_cap)
  inf_cnn    inference.py --test_dir <the N-note folder> (CNN), inf_ml the same with --model ml
Symlinked copies share a few hundred files, so decoding reads from the page cache: decode figures are an upper bound
for a disk-bound real split. Figures go into --out under "hw0_scale" after every stage (a long run keeps what it has).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "hw0"))
import utils  # noqa: E402

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--source", required=True, help="rendered NSynth-format root with train/ and valid/")
p.add_argument("--work", required=True, help="where the N-note folders and caches go (outside the repository)")
p.add_argument("--sizes", default="4096,16384,65536,289205")
p.add_argument("--stages", default="cnn_data,cnn_epoch,ml_data,ml_harm,ml_fit,inf_cnn,inf_ml")
p.add_argument("--plan", default="", help="stages for particular sizes, e.g. '289205:cnn_data,cnn_epoch;65536:ml_fit' "
                                         "(sizes not named run --stages)")
p.add_argument("--baseline", default=None, help="git revision of an earlier load-everything hw0/ to compare with "
                                               "(docs/hw0_scale.md names the one measured); without it, streamed only")
p.add_argument("--baseline_max", type=int, default=16384, help="largest N the baseline is run at (it holds the "
                                                               "split in memory: ~10 GB at 16,384 notes)")
p.add_argument("--repeat", type=int, default=1, help="run each stage this often, the sides alternating every run; "
                                                 "the median run (by wall time) is kept, every run's figure beside it")
p.add_argument("--code", default=str(ROOT / "hw0"), help="hw0 folder to measure (default: this checkout's)")
p.add_argument("--out", default="docs/results/bench.json")
p.add_argument("--table", action="store_true", help="only print the table of the figures already in --out")
args = p.parse_args()


def print_table(results):
    """One line per size, stage and side: the figures README quotes."""
    print(f"{'notes':>8} {'stage':>9} {'path':>8} {'wall s':>8} {'clips/s':>8} {'peak RSS GB':>11}  other")
    for size in sorted((k for k in results if k.startswith("n")), key=lambda k: int(k[1:])):
        rows = results[size]
        stages = list(dict.fromkeys(st for side in rows.values() for st in side))
        for stage in stages:
            for side in ("streamed", "baseline"):
                r = rows.get(side, {}).get(stage)
                if r:
                    rate = r.get("clips_per_s", r.get("train_clips_per_s", ""))
                    other = {k: v for k, v in r.items() if k not in ("wall_s", "clips_per_s", "train_clips_per_s",
                                                                     "peak_rss_gb")}
                    print(f"{int(size[1:]):>8,} {stage:>9} {side:>8} {r['wall_s']:>8} {rate:>8} "
                          f"{r['peak_rss_gb']:>11}  " + ", ".join(f"{k} {v}" for k, v in other.items()))


if args.table:
    print_table(json.loads(Path(args.out).read_text())["hw0_scale"])
    sys.exit(0)
work = Path(args.work)
sizes = [int(n) for n in args.sizes.split(",")]
stages = args.stages.split(",")
plan = {int(n): part.split(",") for n, part in (item.split(":") for item in args.plan.split(";") if item)}


def build_folder(n):
    """<work>/n<N>/train: N symlinks to the source's training notes under distinct NSynth names + examples.json."""
    split = work / f"n{n}" / "train"
    if (split / "examples.json").is_file():
        return split
    if (split / "audio").is_dir():           # a build interrupted before its examples.json: start it again
        shutil.rmtree(split / "audio")
    source = Path(args.source) / "train"
    src_meta = json.loads((source / "examples.json").read_text())      # NSynth's 13 keys a note, as the real file
    src_paths = utils.list_nsynth(source)[0]
    (split / "audio").mkdir(parents=True, exist_ok=True)
    meta = {}
    for i in range(n):
        src = src_paths[i % len(src_paths)]
        inst, pitch, vel = src.stem.rsplit("-", 2)
        family, kind, idx = inst.rsplit("_", 2)
        name = f"{family}_{kind}_{int(idx) + 1000 * (i // len(src_paths)):03d}-{pitch}-{vel}"
        os.symlink(src.resolve(), split / "audio" / f"{name}.wav")
        meta[name] = dict(src_meta[src.stem], note_str=name)
    (split / "examples.json").write_text(json.dumps(meta))
    return split


def baseline_code():
    """The baseline revision's hw0/ (scripts, utils, model), extracted once."""
    code = work / f"baseline_{args.baseline}" / "hw0"
    if not code.is_dir():
        code.parent.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline, "hw0"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(code.parent)], input=archive, check=True)
    return code


def run(cmd, cwd):
    """Run one stage as its own process -> (wall s, peak RSS GB, stdout)."""
    with tempfile.TemporaryFile("w+") as out:
        t = time.time()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.time() - t
        out.seek(0)
        text = out.read()
    if proc.returncode:
        sys.exit(f"error: {' '.join(map(str, cmd))} failed ({proc.returncode}):\n{text[-3000:]}")
    return wall, usage.ru_maxrss / 1024 ** 2, text


def data_step(code, stage, split, cache):
    """Only the data step of train_cnn.py / train_ml.py, as each revision does it."""
    if stage == "cnn_data":
        mel = "dict(utils.MEL_DEFAULTS, n_fft=1024, hop_length=512, n_mels=64)"
        call = f"utils.cached_log_mel(*utils.list_nsynth({str(split)!r}), {str(cache)!r}, {mel})"
    elif stage == "ml_data":       # the same call in both revisions
        call = f"utils.cached_features(*utils.list_nsynth({str(split)!r}), {str(cache)!r})"
    else:
        call = (f"import features; utils.cached_harmonics(*utils.list_nsynth({str(split)!r}), {str(cache)!r}, "
                f"features.HARMONIC_DEFAULTS)")
    return [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(code)!r}); import utils; {call}"]


CACHE_OF = dict(cnn_data="hw0_logmel_*", ml_data="hw0_features_*", ml_harm="hw0_harmonics_*")
results = json.loads(Path(args.out).read_text()).get("hw0_scale", {}) if Path(args.out).is_file() else {}
results.update(command="python " + " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:]), cores=os.cpu_count(),
               machine="2-core x86_64 VM, 24 GB RAM, no GPU" if os.cpu_count() == 2 else f"{os.cpu_count()} cores")
valid = Path(args.source) / "valid"
for n in sizes:
    split = build_folder(n)
    with_baseline = args.baseline and n <= args.baseline_max
    sides = [("streamed", Path(args.code))] + ([("baseline", baseline_code())] if with_baseline else [])
    for stage in plan.get(n, stages):
        runs = {side: [] for side, _ in sides}
        for side, code in sides * args.repeat:      # the sides alternate run by run: both see the same machine load
            if stage == "ml_harm" and side == "baseline":
                continue
            row = results.setdefault(f"n{n}", {}).setdefault(side, {})
            cache, res = work / f"n{n}" / f"cache_{side}", work / f"n{n}" / f"res_{side}"
            common = ["--valid_dir", str(valid), "--cache_dir", str(cache), "--checkpoint_dir",
                      str(work / f"n{n}" / f"ck_{side}"), "--results_dir", str(res)]
            if "--overwrite" in (code / "train_cnn.py").read_text():      # a rerun replaces its own checkpoints
                common.append("--overwrite")
            if stage in CACHE_OF:
                for old in cache.glob(CACHE_OF[stage]):
                    shutil.rmtree(old) if old.is_dir() else old.unlink()          # measure a cold build
                wall, rss, _ = run(data_step(code, stage, split, cache), ROOT)
                files = list(cache.glob(CACHE_OF[stage]))
                row[stage] = dict(wall_s=round(wall, 1), clips_per_s=round(n / wall, 1), peak_rss_gb=round(rss, 2),
                                  cache_mb=round(sum(f.stat().st_size for d in files
                                                     for f in (d.rglob("*") if d.is_dir() else [d])) / 1e6, 1))
            elif stage == "cnn_epoch":
                wall, rss, _ = run([sys.executable, code / "train_cnn.py", "--train_dir", split, "--epochs", "1",
                                    *common], ROOT)
                train_s = json.loads((res / "cnn_log.json").read_text())["train_time_s"]
                row[stage] = dict(wall_s=round(wall, 1), epoch_s=train_s, train_clips_per_s=round(n / train_s, 1),
                                  peak_rss_gb=round(rss, 2))
            elif stage == "ml_fit":
                wall, rss, _ = run([sys.executable, code / "train_ml.py", "--train_dir", split, *common], ROOT)
                cands = json.loads((res / "ml.json").read_text())["candidates"]
                row[stage] = dict(wall_s=round(wall, 1), peak_rss_gb=round(rss, 2),
                                  fit_s={m: c["fit_s"] for m, c in cands.items()},
                                  n_fit={m: c.get("n_fit", n) for m, c in cands.items()})
            elif stage in ("inf_cnn", "inf_ml"):
                model = stage.split("_")[1]
                wall, rss, _ = run([sys.executable, code / "inference.py", "--test_dir", split, "--model", model,
                                    "--checkpoint", ROOT / "checkpoints" / "hw0" /
                                    ("cnn_log.pt" if model == "cnn" else "ml.joblib"),
                                    "--out_dir", work / f"n{n}" / f"inf_{side}"], ROOT)
                row[stage] = dict(wall_s=round(wall, 1), clips_per_s=round(n / wall, 1), peak_rss_gb=round(rss, 2))
            print(f"N={n:>7} {side:>8} {stage:>9}: " + ", ".join(f"{k} {v}" for k, v in row[stage].items()),
                  flush=True)
            runs[side].append(row[stage])
            if len(runs[side]) > 1:         # keep the median run, list every run's wall time and rate beside it
                ordered = sorted(runs[side], key=lambda r: r["wall_s"])
                row[stage] = dict(ordered[(len(ordered) - 1) // 2], runs=len(ordered),
                                  every_wall_s=[r["wall_s"] for r in runs[side]],
                                  every_rate=[r.get("clips_per_s", r.get("train_clips_per_s")) for r in runs[side]])
            utils.merge_json(args.out, "hw0_scale", results)
print_table(results)
