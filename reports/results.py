"""
Reading a homework's results JSON for the report: the only way a number reaches a slide.

- load(name) reads results/hw<N>/<name> and records, for the slides that use it, what its data is and whether its
  numbers belong to the shipped checkpoint:
  * data kind, from the JSON's "provenance" alone: it starts with "genuine" -> genuine; with "rendered" -> rendered
    stand-in (proxy); anything else (no dataset_info.json, unreadable, not recorded) -> unknown.
  * checkpoint: the sha256 of checkpoints/hw<N>/<file named in "checkpoint"> must equal the JSON's
    "checkpoint_sha256"; if it differs or is missing, every slide using the file carries a red line (see marks_of),
    a warning is printed, and with strict=True the build stops with a one-line error.
- pct / points / f3 / ... format numbers; trend() says how a value changed only as precisely as it is shown;
  wilson() gives a 95 % interval for an accuracy on n notes.
"""
import hashlib
import json
import math
import os
import sys
from pathlib import Path

from slides import shown

HW, RESULTS_DIR, CHECKPOINT_DIR, STRICT = 0, Path("results/hw0"), Path("checkpoints/hw0"), False
seen = {}   # "results/hw0/ml.json" -> {"kind", "data", "problem", "expected"} for every results file read
UNKNOWN_DATA = ("unknown: its data folder does not say whether the data is genuine or rendered (no provenance "
                "starting 'genuine' or 'rendered')")


def setup(hw, results_dir, checkpoint_dir, strict=False):
    global HW, RESULTS_DIR, CHECKPOINT_DIR, STRICT
    HW, RESULTS_DIR, CHECKPOINT_DIR, STRICT = hw, Path(results_dir), Path(checkpoint_dir), strict


def label(name):  # how a slide names a results file
    return f"results/hw{HW}/{name}"


def get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or d.get(k) is None:
            return None
        d = d[k]
    return d

# -----------------------------------------------------------------------------
# reading


def load(name, checkpoint=None):
    """results/hw<N>/<name> as a dict, or None when the file is not there.
    checkpoint: the shipped file these numbers should come from (e.g. "ml.joblib"); True: the one the JSON names;
    None for results that no checkpoint produced (the mel grid)."""
    path = RESULTS_DIR / name
    if not path.is_file():
        return None
    try:
        d = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        sys.exit(f"error: {path} is not valid JSON ({e}); re-run the script that writes it")
    if not isinstance(d, dict):
        sys.exit(f"error: {path}: expected a JSON object (the results schema), got a {type(d).__name__}; re-run the "
                 f"script that writes it")
    problem, expected = checkpoint_problem(d, checkpoint)
    seen[label(name)] = {"kind": data_kind(d), "data": data_text(d), "problem": problem, "expected": expected}
    if problem:
        if STRICT:
            sys.exit(f"error: {label(name)}: {problem}; re-run the script that writes it with the shipped "
                     f"checkpoint, or build without --strict")
        print(f"warning: {label(name)}: {problem}; the slides using it are marked in red", file=sys.stderr)
    return d


def names_read():
    return [Path(k).name for k in seen]

# -----------------------------------------------------------------------------
# checkpoint identity


_sha = {}


def sha256(path):
    if path not in _sha:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _sha[path] = h.hexdigest()
    return _sha[path]


def checkpoint_problem(d, default):
    """(what is wrong or None, "checkpoints/hw<N>/<file>"): do d's numbers come from the shipped checkpoint?
    default: the shipped file's name when d does not record one; True: a checkpoint made d, named in d; None: no
    checkpoint made d (unless d says so)."""
    recorded = d.get("checkpoint")
    if not recorded and default is None and not d.get("checkpoint_sha256"):
        return None, None                       # no checkpoint made these numbers
    name = default if isinstance(default, str) else Path(str(recorded)).name if recorded else None
    if name is None:
        return "checkpoint not recorded", f"the shipped checkpoint in checkpoints/hw{HW}/"
    shipped = f"checkpoints/hw{HW}/{name}"
    if recorded and Path(str(recorded)).name != name:
        return f"computed with a different checkpoint than {shipped}", shipped
    if not (CHECKPOINT_DIR / name).is_file():
        return f"{shipped} is not in the repository, so its numbers cannot be checked against it", shipped
    if not d.get("checkpoint_sha256"):
        return f"checkpoint not recorded (no checkpoint_sha256), so it may not be {shipped}", shipped
    if str(d["checkpoint_sha256"]).lower() != sha256(CHECKPOINT_DIR / name):
        return f"computed with a different checkpoint than {shipped} (sha256 differs)", shipped
    return None, shipped


def marks_of(labels):
    """The red line(s) of a slide whose numbers come from these results files: one sentence per kind of problem."""
    bad = [(lab, seen[lab]) for lab in labels if lab in seen and seen[lab]["problem"]]
    groups = {}
    for lab, s in bad:
        key = ("differs" if "different checkpoint" in s["problem"] else
               "absent" if "not in the repository" in s["problem"] else "unrecorded")
        groups.setdefault(key, []).append((lab, s["expected"]))
    out = []
    for key, items in groups.items():
        files = same_folder_once(dict.fromkeys(lab for lab, _ in items))
        ckpts = same_folder_once(dict.fromkeys(e for _, e in items))
        out.append({"differs": f"These numbers were computed with a different checkpoint than {ckpts} ({files}).",
                    "absent": f"{ckpts}: not in the repository, so {files} cannot be checked against it.",
                    "unrecorded": f"Checkpoint not recorded in {files}: these numbers may not come from "
                                  f"{ckpts}."}[key])
    return out


def same_folder_once(paths):
    """['results/hw0/a.json', 'results/hw0/b.json'] -> 'results/hw0/a.json, b.json' (a shared folder said once)."""
    paths = list(paths)
    folder = os.path.commonpath(paths) + "/" if len(paths) > 1 and "/" in paths[0] else ""
    if not all(p.startswith(folder) for p in paths):
        folder = ""
    return ", ".join([paths[0]] + [p[len(folder):] for p in paths[1:]])


def problems():
    return [lab for lab, s in seen.items() if s["problem"]]

# -----------------------------------------------------------------------------
# what the data is


def provenance(d):
    p = get(d, "data", "provenance") or get(d, "provenance")
    return str(p) if p else None


def data_kind(d):
    """'genuine', 'proxy' (rendered stand-in) or 'unknown', from the provenance string alone."""
    p = (provenance(d) or "").strip().lower()
    return "genuine" if p.startswith("genuine") else "proxy" if p.startswith("rendered") else "unknown"


KIND_WORD = {"genuine": "genuine", "proxy": "proxy", "unknown": "unknown-data"}


def split_name(d, split):  # "proxy test", "genuine validation", "unknown-data test"
    return f"{KIND_WORD[data_kind(d)]} {split}"


def data_text(d):
    """The data a results dict was measured on, for a footer: its provenance, or the unknown sentence."""
    return compact_provenance(provenance(d)) if data_kind(d) != "unknown" else UNKNOWN_DATA


def data_short(d):
    """A few words for running text: 'rendered proxy data from SoundFonts (not NSynth)', 'data of unknown origin';
    '... and recorded sample libraries' where a merged stand-in also holds real recordings."""
    if data_kind(d) == "unknown":
        return "data of unknown origin"
    words = provenance(d).split(":")[0].strip()
    return words + (" and recorded sample libraries" if "recorded sample libraries" in provenance(d) else "")


def data_of(labels):
    """One footer string for the results files of a slide."""
    texts = {lab: seen[lab]["data"] for lab in labels if lab in seen}
    if not texts:
        return "no results yet"
    by_text = {}
    for lab, t in texts.items():
        by_text.setdefault(t, []).append(Path(lab).name)
    if len(by_text) == 1:
        return next(iter(by_text))
    return "; ".join(f"{', '.join(names)}: {t}" for t, names in by_text.items())


def compact_provenance(p):
    """A merged stand-in's provenance is its renders' strings joined by '; ', each repeating the renderer's sentence
    ('X; X, stk (...); X, zyn (...)'): say the shared part once, then what each render added."""
    parts = list(dict.fromkeys(str(p).split("; ")))
    shared = os.path.commonprefix(parts)
    if len(parts) < 2 or len(shared) < 20:
        return str(p)
    if shared not in parts:                     # cut back to a whole item: the last ", " all of them share
        shared = shared[:max(shared.rfind(","), 0)]
        if len(shared) < 20:
            return str(p)
    return shared + "".join(part[len(shared):] for part in parts)

# -----------------------------------------------------------------------------
# numbers as text


NBSP = "\u00a0"   # keeps "81.2 %" on one line when text wraps


def pct(x):  # accuracies: 0.8123 -> "81.2 %"
    return "n/a" if x is None else f"{100 * float(x):.1f}{NBSP}%"


def points(x):  # accuracy differences: 0.0289 -> "+2.9 points"
    return "n/a" if x is None else f"{100 * float(x):+.1f} points"


def f3(x):  # F1, precision, recall, weights: 0.8123 -> "0.812"
    return "n/a" if x is None else f"{float(x):.3f}"


def f2(x):  # losses, thresholds: 0.45 -> "0.45"
    return "n/a" if x is None else f"{float(x):.2f}"


def secs(x):
    return "n/a" if x is None else f"{float(x):.0f} s"


def count(x):
    return "n/a" if x is None else f"{int(x):,}"


def trend(a, b, fmt):
    """How a value changed from a to b, said only as precisely as it is shown: 'unchanged at 1.69' when both format
    the same, else 'rises from 1.20 to 1.90' / 'falls from ...'."""
    sa, sb = fmt(a), fmt(b)
    if sa == sb:
        return f"unchanged at {sa}"
    return f"{'rises' if float(b) > float(a) else 'falls'} from {sa} to {sb}"


def wilson(p, n, z=1.96):
    """95 % Wilson score interval of an accuracy p measured on n items: (low, high)."""
    if not n:
        return None
    n = int(n)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def pct_ci(p, n):  # "40.4 % (31.3-50.2)"
    ci = wilson(p, n) if p is not None else None
    return pct(p) if ci is None else f"{pct(p)} ({100 * ci[0]:.1f}\u2013{100 * ci[1]:.1f})"

# -----------------------------------------------------------------------------
# commands as a reader re-runs them: data folders as [data folders], output folders and run names dropped

RUN_FLAGS = {"--name", "--checkpoint_dir", "--results_dir", "--out_dir", "--out", "--cache_dir", "--checkpoint",
             "--csv", "--device", "--workers", "--stop_after_epoch"}
RUN_SWITCHES = {"--overwrite", "--resume"}
DATA_FLAGS = {"--train_dir", "--valid_dir", "--test_dir", "--data_dir", "--data_root", "--labels",
              "--test_track_dir", "--encoder"}


def clean_command(cmd):
    toks, out, skip, data = str(cmd).split(), [], False, False
    for t in toks:
        if skip:
            skip = False
            continue
        flag = t.split("=")[0]
        if flag in RUN_SWITCHES:
            continue
        if flag in RUN_FLAGS or flag in DATA_FLAGS:
            skip = "=" not in t
            if flag in DATA_FLAGS and not data:
                out.append("[data folders]")
                data = True
            continue
        if ".cache" not in t:
            out.append(t)
    return shown(" ".join(out))


def command_flags(cmd):
    """{flag: value or True} of a recorded command, without the run, output and data flags."""
    flags, toks = {}, str(cmd or "").split()
    for i, t in enumerate(toks):
        if not t.startswith("--"):
            continue
        flag, _, val = t.partition("=")
        if flag in RUN_FLAGS | RUN_SWITCHES | DATA_FLAGS:
            continue
        if not val:
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            val = nxt if nxt is not None and not nxt.startswith("--") else True
        flags[flag] = val
    return flags
