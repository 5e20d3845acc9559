"""
Build a homework's 16:9 PDF report (about ten slides, one idea each) from the saved results.

    python reports/make_report.py --hw 0        # results/hw0/*.json -> reports/hw0_report.pdf
    python reports/make_report.py --hw 1        # results/hw1/*.json -> reports/hw1_report.pdf

Every number on a slide is formatted from a results JSON (or computed from one, e.g. the difference of two
accuracies), and every slide's footer names the results files and the data its numbers were measured on (the JSON's
"provenance"). Plots are redrawn at slide size from the JSON numbers (confusion matrices with their counts, training
curves, whole-track activity maps); the only saved figure used is Task 1's mel grid, whose nine panels are cut out of
results/hw0/mel_grid.png and labelled again in large type. A missing results file gives a slide that names the
command producing it. Paths of the build machine and internal run names (--name, .cache/...) never reach a slide.
Only matplotlib (PdfPages) is used: no LaTeX, no office suite.
"""
import argparse
import functools
import json
import os
import re
import sys
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import matplotlib.text
import matplotlib.ticker
import numpy as np
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.colors import ListedColormap
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Patch, Rectangle

REPO = Path(__file__).resolve().parents[1]
parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--hw", type=int, choices=[0, 1], required=True, help="which homework")
parser.add_argument("--results_dir", default=None, help="default: results/hw<N> in the repository")
parser.add_argument("--config", default=str(REPO / "reports" / "report_config.json"),
                    help="JSON with name, student_id, code_link")
parser.add_argument("--name", default=None, help="overrides the config")
parser.add_argument("--student_id", default=None, help="overrides the config")
parser.add_argument("--code_link", default=None, help="overrides the config")
parser.add_argument("--out", default=None, help="default: reports/hw<N>_report.pdf in the repository")
args = parser.parse_args()

results_dir = Path(args.results_dir) if args.results_dir else REPO / "results" / f"hw{args.hw}"
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

# -----------------------------------------------------------------------------
# results I/O and number formatting (the only way numbers reach a slide)

loaded = []   # results files read so far, for the error message of a JSON whose fields have the wrong types


def load_json(name):
    path = results_dir / name
    if not path.is_file():
        return None
    try:
        d = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        sys.exit(f"error: {path} is not valid JSON ({e}); re-run the script that writes it")
    if not isinstance(d, dict):
        sys.exit(f"error: {path}: expected a JSON object (the results schema), got a {type(d).__name__}; re-run the "
                 f"script that writes it")
    loaded.append(path.name)
    return d


def get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or d.get(k) is None:
            return None
        d = d[k]
    return d


def pct(x):  # accuracies: 0.8123 -> "81.2 %"
    return "n/a" if x is None else f"{100 * float(x):.1f} %"


def points(x):  # accuracy differences: 0.0289 -> "+2.9 points"
    return "n/a" if x is None else f"{100 * float(x):+.1f} points"


def f3(x):  # F1, precision, recall, weights: 0.8123 -> "0.812"
    return "n/a" if x is None else f"{float(x):.3f}"


def f2(x):  # thresholds: 0.45 -> "0.45"
    return "n/a" if x is None else f"{float(x):.2f}"


def secs(x):
    return "n/a" if x is None else f"{float(x):.0f} s"


def count(x):
    return "n/a" if x is None else f"{int(x):,}"


def settings(d):  # {"n_mels": 64, "augment": ["gain", "eq"]} -> "n mels 64; augment gain+eq"
    def val(v):
        if isinstance(v, (list, tuple)):
            return "+".join(map(str, v)) if v else "none"
        return "none" if v in ("", None) else str(v)
    return "; ".join(f"{k.replace('_', ' ')} {val(v)}" for k, v in d.items())


def res(*names):  # how a slide names its results files
    return [f"results/hw{args.hw}/{n}" for n in names]

# -----------------------------------------------------------------------------
# what the reader may see: repository-relative paths, no build-machine paths, no internal run names

ABS_PATH = re.compile(r"(?<![\w.~/-])/(?:[\w.+-]+/)+[\w.+-]*")
RUN_FLAGS = {"--name", "--checkpoint_dir", "--results_dir", "--out_dir", "--out", "--ours", "--work", "--code",
             "--checkpoint", "--csv"}
DATA_FLAGS = {"--train_dir", "--valid_dir", "--test_dir", "--data_dir", "--data_root", "--labels",
              "--test_track_dir", "--source"}


def shown(s):
    """Absolute paths -> repository-relative ones (outside the repository: DATA/<last two parts>)."""
    def rel(m):
        p = Path(m.group(0))
        try:
            return p.relative_to(REPO).as_posix()
        except ValueError:
            return "DATA/" + "/".join(p.parts[-2:])
    return ABS_PATH.sub(rel, str(s))


def clean_command(cmd):
    """A command as a reader re-runs it: data folders as [data], output folders and run names dropped."""
    toks, out, skip, data = str(cmd).split(), [], False, False
    for t in toks:
        if skip:
            skip = False
            continue
        flag = t.split("=")[0]
        if flag in RUN_FLAGS or flag in DATA_FLAGS:
            skip = "=" not in t
            if flag in DATA_FLAGS and not data:
                out.append("[data folders]")
                data = True
            continue
        if ".cache" not in t:
            out.append(t)
    return shown(" ".join(out))


def plain(s):  # JSON text must not trigger mathtext, and never shows a machine path
    return shown(s).replace("$", r"\$")


GENUINE = re.compile(r"genuine|realdata|nsynth-real|real[ _-]nsynth|assumed real", re.I)


def provenance(d, fname):
    p = get(d, "data", "provenance") or get(d, "provenance")
    return compact_provenance(str(p)) if p else f"not recorded in {fname}"


def compact_provenance(p):
    """A merged stand-in's provenance is its renders' strings joined by '; ', each repeating the renderer's sentence
    ('X; X, stk (...); X, zyn (...)'): say the shared part once, then what each render added."""
    parts = list(dict.fromkeys(p.split("; ")))
    shared = os.path.commonprefix(parts)
    if len(parts) < 2 or len(shared) < 20:
        return p
    if shared not in parts:                     # cut back to a whole item: the last ", " all of them share
        shared = shared[:max(shared.rfind(","), 0)]
        if len(shared) < 20:
            return p
    return shared + "".join(part[len(shared):] for part in parts)


def data_kind(d):
    """'proxy', 'genuine' or '' from a results dict's provenance: prefixes every split name on the slides."""
    p = str(get(d, "data", "provenance") or get(d, "provenance") or "")
    if re.search(r"proxy|rendered|synthetic", p, re.I):
        return "proxy"
    where = " ".join(str(x) for x in (p, get(d, "test_dir"), get(d, "data", "test_dir")) if x)
    return "genuine" if GENUINE.search(where) else ""


def split_name(d, split):  # "proxy test"
    return f"{data_kind(d)} {split}".strip()


def prov_of(*items):
    """items: (json or None, file name). One string naming the data each present file was measured on."""
    provs = [(f, provenance(d, f)) for d, f in items if d is not None]
    if not provs:
        return "no results yet"
    if len({p for _, p in provs}) == 1:
        return provs[0][1]
    return "; ".join(f"{f}: {p}" for f, p in provs)

# -----------------------------------------------------------------------------
# slide layout: 13.333 x 7.5 in, title band on top, footer naming the results files and the data

W, H = 13.333, 7.5
TITLE_PT, BODY_PT, MIN_BODY_PT, TABLE_PT, MIN_TABLE_PT, FOOT_PT = 28, 18, 14, 16, 12, 10
TICK_PT, LABEL_PT = 14, 15
TOP, BOTTOM, LEFT, RIGHT = 0.865, 0.095, 0.035, 0.965   # content area (figure fractions)
ACCENT, GREY, WARN = "#1f3b5c", "#555555", "#aa3333"
DARK, MID, LIGHT = "#1f3b5c", "#5b8cc0", "#b9cde6"
plt.rcParams.update({"pdf.fonttype": 42, "font.family": "DejaVu Sans", "text.usetex": False,
                     "axes.titlesize": 16, "axes.labelsize": LABEL_PT, "xtick.labelsize": TICK_PT,
                     "ytick.labelsize": TICK_PT, "legend.fontsize": 14})
_measure = RendererAgg(int(W * 72), int(H * 72), 72)  # at 72 dpi one pixel is one point
slides = []  # figures in order; written at the end


@functools.lru_cache(maxsize=None)
def _word_w(word, size, bold):
    prop = FontProperties(family="DejaVu Sans", size=size, weight="bold" if bold else "normal")
    w, _, _ = _measure.get_text_width_height_descent(word or " ", prop, ismath=False)
    return w / 72


def text_w(s, size, bold=False):
    """Width of one line of text in inches: measured word by word (cached), plus the spaces, plus 2 % for kerning."""
    words = plain(s).split(" ")
    return 1.02 * (sum(_word_w(w, size, bold) for w in words if w) + (len(words) - 1) * _word_w(" ", size, bold))


def wrap(s, width_in, size, bold=False):
    """Greedy word wrap by measured width; paragraphs separated by newlines are kept."""
    lines = []
    for para in str(s).split("\n"):
        words, line = para.split(" "), ""
        for w in words:
            cand = w if not line else line + " " + w
            if text_w(cand, size, bold) <= width_in or not line:
                line = cand
            else:
                lines.append(line)
                line = w
            while text_w(line, size, bold) > width_in and len(line) > 1:  # a single very long token
                cut = len(line)
                while cut > 1 and text_w(line[:cut], size, bold) > width_in:
                    cut -= 1
                lines.append(line[:cut])
                line = line[cut:]
        lines.append(line)
    return lines


def draw_lines(fig, x, top, lines, size, pitch=1.3, **kw):
    """One fig.text per line at an exact pitch (x, top in figure fractions); returns the y below the last line."""
    step = pitch * size / 72 / H
    for i, ln in enumerate(lines):
        fig.text(x, top - i * step, plain(ln), size=size, va="top", **kw)
    return top - len(lines) * step


def new_slide(title, files, prov):
    """files: the results files the slide's numbers come from; prov: the data they were measured on."""
    fig = plt.figure(figsize=(W, H))
    size = TITLE_PT
    while size > 20 and text_w(title, size, bold=True) > (RIGHT - LEFT) * W:
        size -= 1
    fig.text(LEFT, 0.935, plain(title), size=size, weight="bold", va="center", color=ACCENT)
    fig.add_artist(plt.Line2D([LEFT, RIGHT], [0.885, 0.885], color=ACCENT, lw=1.5))
    src = ("Numbers from " + ", ".join(files) + ". " if files else "") + "Data: " + prov
    foot = wrap(src, 0.88 * W, FOOT_PT)
    if len(foot) > 2:
        foot = foot[:2]
        foot[1] = foot[1][:-3] + "..."
    draw_lines(fig, LEFT, 0.068, foot, FOOT_PT, pitch=1.25, color=GREY)
    fig.text(RIGHT, 0.045, str(len(slides) + 1), size=12, va="center", ha="right", color=GREY)
    slides.append(fig)
    return fig


def fit_lines(text, rect, size, min_size, bold=False):
    """The largest font (down to min_size) at which text wraps into rect; truncated at min_size if still too tall."""
    x, y, w, h = rect
    for sz in range(int(size), int(min_size) - 1, -1):
        lines = wrap(text, w * W, sz, bold)
        if len(lines) * 1.3 * sz / 72 <= h * H:
            return lines, sz
    keep = max(1, int(h * H / (1.3 * sz / 72)) - 1)
    return lines[:keep] + ["... (truncated)"], sz


def text_box(fig, rect, text, size=BODY_PT, min_size=MIN_BODY_PT, bold=False, color="black"):
    lines, sz = fit_lines(text, rect, size, min_size, bold)
    draw_lines(fig, rect[0], rect[1] + rect[3], lines, sz, weight="bold" if bold else "normal", color=color)
    return sz


def bullets_box(fig, rect, items, size=BODY_PT, min_size=MIN_BODY_PT, color="black"):
    """Bullets with a hanging indent and a half-line gap between them, at the largest font that fits rect."""
    x, y, w, h = rect
    items = [s for s in items if s]
    for sz in range(int(size), int(min_size) - 1, -1):
        indent = 1.2 * sz / 72
        wrapped = [wrap(s, w * W - indent, sz) for s in items]
        line_h = 1.3 * sz / 72
        if (sum(map(len, wrapped)) + 0.5 * (len(items) - 1)) * line_h <= h * H:
            break
    top = y + h
    for lines in wrapped:
        fig.text(x, top, "\u2022", size=sz, va="top", color=ACCENT)
        top = draw_lines(fig, x + indent / W, top, lines, sz, color=color) - 0.5 * line_h / H
    return sz


def missing_box(fig, rect, what, command):
    ax = fig.add_axes(rect)
    ax.set_axis_off()
    ax.add_patch(Rectangle((0.01, 0.01), 0.98, 0.98, fill=False, ls="--", ec=WARN, lw=1.5, transform=ax.transAxes))
    x, y, w, h = rect
    text_box(fig, (x + 0.03 * w, y + 0.05 * h, 0.94 * w, 0.85 * h), f"Missing: {what}\nrun: {command}", size=16,
             min_size=12, color=WARN)


def missing_slide(title, what, command):
    fig = new_slide(title, [], "no results yet")
    missing_box(fig, (0.1, 0.3, 0.8, 0.4), what, command)


def layout_table(header, rows, width_in, size, break_words=False):
    """Column widths (in) and wrapped cells: the widest columns wrap at spaces (words are broken only if asked)."""
    pad = 0.22
    cols = list(zip(header, *rows))
    natural = [max(text_w(c, size, bold=(i == 0)) for i, c in enumerate(col)) + pad for col in cols]
    shortest = [max(text_w(w, size, bold=(i == 0)) for i, c in enumerate(col) for w in c.split(" ")) + pad
                for col in cols]
    floor = [0.5 if break_words else m for m in shortest]
    widths = list(natural)
    while sum(widths) > width_in:  # squeeze the widest squeezable column
        free = [i for i in range(len(widths)) if widths[i] - 0.05 >= floor[i]]
        if not free:
            break
        i = max(free, key=lambda k: widths[k])
        widths[i] -= 0.05
    cells = [[wrap(c, max(w - pad, 0.3) + 0.01, size, bold=(r == 0)) for c, w in zip(row, widths)]
             for r, row in enumerate([header] + rows)]
    heights = [(max(len(c) for c in row) * 1.25 + 0.75) * size / 72 for row in cells]
    return widths, cells, heights, sum(widths) <= width_in + 1e-6


def table(fig, rect, header, rows, size=TABLE_PT, min_size=MIN_TABLE_PT, align=None, bold_rows=()):
    """Draw a table into rect (font shrinks to min_size); returns the rows that did not fit (caller continues them).
    align: per column 'l' or 'r' (numbers right-aligned)."""
    header = [str(h) for h in header]
    rows = [[str(c) for c in r] for r in rows]
    align = align or ["l"] * len(header)
    x, y, w, h = rect
    w_in, h_in = w * W, h * H
    for sz in range(int(size), int(min_size) - 1, -1):
        widths, cells, heights, fits_w = layout_table(header, rows, w_in, sz)
        if fits_w and sum(heights) <= h_in:
            break
    if not fits_w:  # even at min_size: break long words rather than clip
        widths, cells, heights, _ = layout_table(header, rows, w_in, sz, break_words=True)
    n_fit = len(rows)
    while n_fit > 1 and sum(heights[:n_fit + 1]) > h_in:
        n_fit -= 1
    total_w = sum(widths)
    ax = fig.add_axes((x, y, w, h))
    ax.set_xlim(0, w_in)
    ax.set_ylim(h_in, 0)
    ax.set_axis_off()
    top = 0.0
    for r, (row, rh) in enumerate(zip(cells[:n_fit + 1], heights[:n_fit + 1])):
        shade = ACCENT if r == 0 else ("#eef2f7" if r % 2 == 0 else "white")
        ax.add_patch(Rectangle((0, top), total_w, rh, color=shade, lw=0))
        left = 0.0
        for c, (lines, cw) in enumerate(zip(row, widths)):
            right = align[c] == "r" and r > 0
            ax.text(left + cw - 0.11 if right else left + 0.11, top + rh / 2, plain("\n".join(lines)), size=sz,
                    va="center", ha="right" if right else "left", linespacing=1.25,
                    weight="bold" if r == 0 or (r - 1) in bold_rows else "normal",
                    color="white" if r == 0 else "black")
            left += cw
        top += rh
    ax.plot([0, total_w], [top, top], color=ACCENT, lw=1)
    return rows[n_fit:]


def table_slides(title, files, prov, header, rows, notes=(), **kw):
    """A table over as many slides as it needs (never clipped); notes: bullets beside it on the first slide."""
    first = True
    while True:
        fig = new_slide(title if first else title + " (continued)", files, prov)
        width = 0.55 if notes else RIGHT - LEFT
        rows = table(fig, (LEFT, BOTTOM, width, TOP - BOTTOM), header, rows, **kw)
        if first and notes:
            bullets_box(fig, (LEFT + width + 0.04, BOTTOM, RIGHT - LEFT - width - 0.04, TOP - BOTTOM), notes, size=17,
                        min_size=11)
        first = False
        if not rows:
            return


def image(fig, rect, path):
    """Embed a saved PNG, cropped to its non-white part, as large as rect allows."""
    img = mpimg.imread(str(path))
    ink = (img[..., :3] < 0.97).any(-1) if img.ndim == 3 else img < 0.97
    ys, xs = np.nonzero(ink)
    if len(ys):
        img = img[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    ax = fig.add_axes(rect)
    ax.imshow(img, interpolation="antialiased")
    ax.set_axis_off()


def axes_in(fig, rect, left=0.0, bottom=0.0, right=0.0, top=0.0):
    """Axes inside rect (figure fractions) leaving margins in inches for tick labels, axis labels and a title."""
    x, y, w, h = rect
    return fig.add_axes(((x * W + left) / W, (y * H + bottom) / H, (w * W - left - right) / W,
                         (h * H - bottom - top) / H))


def style(ax):
    ax.grid(alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=TICK_PT)


def confusion(fig, rect, cm, names, title):
    """A confusion matrix at slide size: cells coloured by the row share (recall), every count written in."""
    m = np.asarray(cm, dtype=float)
    n = len(m)
    names = list(names) if names and len(names) == n else [str(i) for i in range(n)]
    x, y, w, h = rect
    name_w = max(text_w(s, TICK_PT) for s in names)
    left, bottom, top = name_w + 0.55, 0.72 * name_w + 0.75, 0.55
    side = min(w * W - left - 0.1, h * H - bottom - top)
    x0 = x * W + (w * W - left - side) / 2
    ax = fig.add_axes(((x0 + left) / W, (y * H + bottom) / H, side / W, side / H))
    share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    cell_pt = side / n * 72
    digits = len(str(int(m.max()))) if m.size else 1
    num_pt = max(7.0, min(16.0, 0.9 * cell_pt / (0.64 * max(digits, 2))))
    for i in range(n):
        for j in range(n):
            v = int(m[i, j])
            ax.text(j, i, str(v), ha="center", va="center", size=num_pt,
                    color="white" if share[i, j] > 0.55 else ("#bbbbbb" if v == 0 else "black"))
    ax.set_xticks(range(n), names, rotation=45, ha="right", rotation_mode="anchor", size=TICK_PT)
    ax.set_yticks(range(n), names, size=TICK_PT)
    ax.tick_params(length=0)
    ax.set_xlabel("predicted family", size=LABEL_PT)
    ax.set_ylabel("true family", size=LABEL_PT)
    ax.set_title(plain(title), size=16, pad=8)
    return ax

# -----------------------------------------------------------------------------
# genuine-data numbers: any results dict measured on genuine (not rendered) data, wherever a results file holds it

SHIPPED_LABELS = {"cnn_log.pt": "Task 3 CNN, log-mel", "cnn_nolog.pt": "Task 3 CNN, linear mel",
                  "ml.joblib": "Task 2 classifier"}


def find_genuine():
    """[(results file, label, {top1, top3, n, confusion_matrix})] from results/hw<N>/**.json and results/bench.json."""
    files = (sorted(results_dir.glob("*.json")) + sorted(results_dir.glob("*/*.json"))
             + [results_dir.parent / "bench.json"]) if results_dir.is_dir() else []
    found = []

    def walk(d, where, path):
        if isinstance(d, list):
            for v in d:
                walk(v, where, path)
        if not isinstance(d, dict):
            return
        trial = d.get("genuine")
        if isinstance(trial, dict) and trial.get("top1") is not None and "recipe" in d:     # bench/hw0_select.py
            found.append((where, f"trial: {'CNN' if d.get('model') == 'cnn' else 'Task 2'} {d['recipe']}",
                          {"top1": trial["top1"], "top3": trial.get("top3"), "n": trial.get("n"),
                           "confusion_matrix": None, "loso": d.get("loso_mean_top1"),
                           "loso_groups": sorted(d.get("loso") or {})},
                          "genuine NSynth notes (shared/realdata)"))
            return
        top1 = d.get("top1") if d.get("top1") is not None else get(d, "test", "top1")
        keyed = any(re.search(r"genuine|real", k, re.I) for k in path)
        if top1 is not None and (data_kind(d) == "genuine" or (keyed and data_kind(d) != "proxy")):
            blk = d if d.get("top1") is not None else d["test"]
            label = d.get("model") or d.get("name") or (path[-1] if path else Path(where).stem)
            if d.get("checkpoint"):     # the shipped checkpoints by what they are, others by file name
                label = SHIPPED_LABELS.get(Path(d["checkpoint"]).name, f"{label} ({Path(d['checkpoint']).name})")
            prov = str(get(d, "provenance") or get(d, "data", "provenance") or "provenance not recorded")
            if d.get("test_dir") and GENUINE.search(str(d["test_dir"])):
                prov = shown(d["test_dir"])
            found.append((where, str(label), {"top1": top1, "top3": blk.get("top3"), "n": blk.get("n"),
                                              "confusion_matrix": blk.get("confusion_matrix")}, prov))
            return
        for k, v in d.items():
            walk(v, where, path + [str(k)])

    for p in files:
        if not p.is_file():
            continue
        try:
            d = json.loads(p.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        where = (f"results/{p.name}" if p.parent == results_dir.parent
                 else "results/hw%d/%s" % (args.hw, p.relative_to(results_dir).as_posix()))
        walk(d, where, [])
    return sorted(found, key=lambda g: g[1].startswith("trial"))      # the shipped models first, trials after


def cover(title, subtitle, files, prov, data_lines):
    fig = new_slide(title, files, prov)
    text_box(fig, (0.06, 0.66, 0.88, 0.17), subtitle, size=22, min_size=16, color=ACCENT)
    text_box(fig, (0.06, 0.44, 0.88, 0.2),
             f"Name: {author['name']}\nStudent ID: {author['student_id']}\nCode: {author['code_link']}",
             size=20, min_size=14)
    bullets_box(fig, (0.06, 0.12, 0.88, 0.29), data_lines, size=17, min_size=13, color=WARN)

# -----------------------------------------------------------------------------
# HW0: NSynth instrument family

FAMILY_PAIRS = {  # why two families get confused; used only when the confusion matrix names that pair
    frozenset(("bass", "guitar")): "both plucked strings whose registers overlap",
    frozenset(("keyboard", "mallet")): "both struck, with a sharp attack and a free decay",
    frozenset(("keyboard", "guitar")): "both struck or plucked, decaying after the attack",
    frozenset(("bass", "keyboard")): "both decay after the attack and share the low register",
    frozenset(("brass", "reed")): "both blown, sustained and rich in harmonics",
    frozenset(("brass", "synth_lead")): "both bright, sustained tones with strong upper harmonics",
    frozenset(("reed", "synth_lead")): "both sustained and rich in odd harmonics",
    frozenset(("flute", "synth_lead")): "both sustained with few strong partials",
    frozenset(("organ", "synth_lead")): "both electronic-sounding, steady tones",
    frozenset(("string", "brass")): "both sustained and rich in harmonics",
}
MEL_DB = (-80, 0)   # the fixed colour range hw0/visualize_mel.py draws the grid with (dB re. each note's maximum)
NSYNTH_SR = 16000   # NSynth audio: 16 kHz, so the mel axis runs to 8 kHz
NOTE_S = 4.0        # NSynth notes last 4 s


def runs(mask, min_len):
    """(start, stop) of the True runs of a 1-D mask that are at least min_len long."""
    edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(int), 0]))
    return [(a, b) for a, b in zip(edges[::2], edges[1::2]) if b - a >= min_len]


def mel_panels(png):
    """The nine spectrogram panels of hw0/visualize_mel.py's 3 x 3 grid, cut out of its PNG (row-major pixel
    arrays, axes frame removed), or None when the image does not show such a grid."""
    img = mpimg.imread(str(png))
    if img.ndim != 3:
        return None
    img = img[..., :3]
    ink = (img < 0.97).any(-1)
    H_px, W_px = ink.shape
    cols = runs(ink.mean(0) > 0.4, 0.1 * W_px)   # the three panel columns (the colour bar is narrower)
    if len(cols) != 3:
        return None
    grid = [[None] * 3 for _ in range(3)]
    for j, (a, b) in enumerate(cols):
        rows = runs(ink[:, a:b].mean(1) > 0.5, 0.1 * H_px)
        if len(rows) != 3:
            return None
        for i, (r0, r1) in enumerate(rows):
            grid[i][j] = img[r0 + 2:r1 - 2, a + 2:b - 2]
    return grid


def midi_name(p):
    return f"{['C', 'C#', 'D', 'D#', 'E', 'F', 'F#', 'G', 'G#', 'A', 'A#', 'B'][p % 12]}{p // 12 - 1}"


def mel_grid_slide(mel, title, files, prov, command):
    """Task 1's grid filling a slide: panels cut from mel_grid.png, rows and columns labelled from mel_grid.json."""
    png = results_dir / Path(get(mel, "figure") or "mel_grid.png").name
    fig = new_slide(title, files, prov)
    if not png.is_file():
        missing_box(fig, (0.1, 0.3, 0.8, 0.4), "results/hw0/mel_grid.png", command)
        return
    fams = get(mel, "families") or []
    pitches = get(mel, "pitches")
    if isinstance(pitches, list):
        pitches = {f: pitches for f in fams}
    panels = mel_panels(png) if len(fams) == 3 and isinstance(pitches, dict) else None
    if panels is None:   # not the expected grid: the whole figure, as large as the slide allows
        image(fig, (LEFT, BOTTOM, RIGHT - LEFT, TOP - BOTTOM), png)
        return
    import librosa  # only for the mel scale of the frequency axis
    shared = all(pitches.get(f) == pitches.get(fams[0]) for f in fams)
    x0, x1, y0, y1 = 1.55, W * RIGHT - 1.45, H * BOTTOM + 0.62, H * TOP - (0.45 if shared else 0.1)
    gap_x, gap_y = 0.18, (0.14 if shared else 0.42)
    pw, ph = (x1 - x0 - 2 * gap_x) / 3, (y1 - y0 - 2 * gap_y) / 3
    top_mel = librosa.hz_to_mel(NSYNTH_SR / 2)
    hz_ticks = [0, 512, 1024, 2048, 4096]
    for i, fam in enumerate(fams):
        for j in range(3):
            ax = fig.add_axes(((x0 + j * (pw + gap_x)) / W, (y1 - (i + 1) * ph - i * gap_y) / H, pw / W, ph / H))
            ax.imshow(panels[i][j], aspect="auto", extent=[0, NOTE_S, 0, 1], interpolation="antialiased")
            ax.set_yticks([librosa.hz_to_mel(f) / top_mel for f in hz_ticks],
                          [f"{f:,}" if j == 0 else "" for f in hz_ticks], size=12)
            ax.set_xticks(range(int(NOTE_S) + 1), [str(t) if i == 2 else "" for t in range(int(NOTE_S) + 1)],
                          size=13)
            if i == 2:
                ax.set_xlabel("time (s)", size=14)
            p = (pitches.get(fam) or [None] * 3)[j]
            if not shared and p is not None:
                ax.set_title(f"MIDI {p} ({midi_name(int(p))})", size=14, pad=4)
            if i == 0 and shared and p is not None:
                fig.text((x0 + j * (pw + gap_x) + pw / 2) / W, (y1 + 0.08) / H,
                         f"MIDI {p}  ({midi_name(int(p))}, {440 * 2 ** ((int(p) - 69) / 12):.0f} Hz)",
                         size=17, ha="center", va="bottom", weight="bold", color=ACCENT)
        fig.text(0.2 / W, (y1 - i * (ph + gap_y) - ph / 2) / H, fam, size=19, ha="left", va="center",
                 weight="bold", color=ACCENT, rotation=90)
    fig.text(0.82 / W, (y0 + y1) / 2 / H, "frequency (Hz, mel scale)", size=13, rotation=90, ha="center",
             va="center", color=GREY)
    cax = fig.add_axes(((x1 + 0.3) / W, y0 / H, 0.22 / W, (y1 - y0) / H))
    sm = plt.cm.ScalarMappable(cmap="magma", norm=plt.Normalize(*MEL_DB))
    cb = fig.colorbar(sm, cax=cax)
    cb.ax.tick_params(labelsize=13)
    cb.set_label("dB re. each note's maximum", size=14)


def parse_mel_text(desc):
    """mel_grid.txt -> (reading paragraphs, table rows of the measured lines); rows empty when not parseable."""
    meas = re.compile(r"MIDI (\d+): centroid (\d+) Hz, attack (\d+) ms, decay ([+-]?[\d.]+) dB/s")
    reading, rows = [], []
    for ln in desc.splitlines():
        ln = ln.strip()
        m = re.match(r"- ([\w ]+): (.*)", ln)
        if m and meas.search(m.group(2)):
            for part in m.group(2).split("; "):
                g = meas.search(part)
                if g:
                    rows.append([m.group(1), g.group(1), g.group(2), g.group(3), g.group(4)])
        elif ln and not ln.lower().startswith(("provenance:", "data:", "what the mel-spectrograms show")):
            reading.append(ln)
    return reading, rows


def hw0():
    splits = "--train_dir DATA/nsynth-train --valid_dir DATA/nsynth-valid --test_dir DATA/nsynth-test"
    CMD = {"mel": "python hw0/visualize_mel.py --data_dir DATA/nsynth-test (writes results/hw0/mel_grid.png, "
                  "mel_grid.txt and mel_grid.json)",
           "ml": f"python hw0/train_ml.py {splits} (writes results/hw0/ml.json)",
           "cnn_log": f"python hw0/train_cnn.py {splits} (writes results/hw0/cnn_log.json)",
           "cnn_nolog": f"python hw0/train_cnn.py {splits} --no_log --peak_norm (writes results/hw0/cnn_nolog.json)",
           "ablation": "python bench/hw0_ablation.py --train_dir DATA/nsynth-train --valid_dir DATA/nsynth-valid "
                       "(writes results/hw0/ablation.json)"}
    ml, log, nolog = load_json("ml.json"), load_json("cnn_log.json"), load_json("cnn_nolog.json")
    abl, ref, mel = load_json("ablation.json"), load_json("reference.json"), load_json("mel_grid.json")
    infer = [(p.name, load_json(p.name)) for p in sorted(results_dir.glob("inference_*.json"))] \
        if results_dir.is_dir() else []
    genuine = find_genuine()
    ml_name = str(get(ml, "model") or "classical classifier").replace("_", " ")
    models = [{"key": "ml", "label": f"Task 2: features + {ml_name}", "short": f"features +\n{ml_name}", "d": ml,
               "name": ml_name, "file": "ml.json"},
              {"key": "cnn_log", "label": "Task 3: CNN, log-mel input", "short": "CNN\nlog-mel", "d": log,
               "name": "log-mel CNN", "file": "cnn_log.json"},
              {"key": "cnn_nolog", "label": "Task 3: CNN, linear-mel input", "short": "CNN\nlinear mel",
               "d": nolog, "name": "linear-mel CNN", "file": "cnn_nolog.json"}]
    present = [m for m in models if m["d"] is not None]
    files_all = res(*[m["file"] for m in present])
    prov_all = prov_of(*[(m["d"], m["file"]) for m in present])
    names = next((get(m["d"], "class_names") for m in present if get(m["d"], "class_names")), None)
    main = log or nolog or ml
    test_of = {m["key"]: get(m["d"], "test", "top1") for m in models}
    d_log = (test_of["cnn_log"] - test_of["cnn_nolog"]) if None not in (test_of["cnn_log"], test_of["cnn_nolog"]) \
        else None
    d_ml = (test_of["cnn_log"] - test_of["ml"]) if None not in (test_of["cnn_log"], test_of["ml"]) else None

    def epoch_row(d, e):
        return next((h for h in (get(d, "history") or []) if h.get("epoch") == e), None)

    # equal-budget comparison of log vs linear on validation: both runs at the shorter run's last epoch
    eq = None
    e1, e2 = len(get(log, "history") or []), len(get(nolog, "history") or [])
    if e1 and e2:
        e = min(e1, e2)
        a, b = epoch_row(log, e), epoch_row(nolog, e)
        if a and b and a.get("val_top1") is not None and b.get("val_top1") is not None:
            eq = (e, a["val_top1"], b["val_top1"])
    budget = ""
    if get(log, "recipe", "epochs") and get(nolog, "recipe", "epochs") and \
            get(log, "recipe", "epochs") != get(nolog, "recipe", "epochs"):
        budget = f"{get(log, 'recipe', 'epochs')} vs {get(nolog, 'recipe', 'epochs')} epochs"
    abl_lin = next((r for r in (get(abl, "rows") or []) if "no_log" in str(r.get("args", "")) + str(r.get("name"))
                    or "linear" in str(r.get("name", "")).lower()), None)

    # 1 cover ------------------------------------------------------------------
    cover_lines = []
    if present:
        kind = data_kind(main)
        cover_lines.append(("Every number here was measured on rendered proxy data" if kind == "proxy" else "Data")
                           + f" ({provenance(main, 'results')}).")
        n_tr, n_va, n_te = get(main, "data", "n_train"), get(main, "data", "n_valid"), get(main, "test", "n")
        cover_lines.append(f"Splits: {count(n_tr)} training, {count(n_va)} validation and {count(n_te)} test notes; "
                           f"validation and test instruments are not in the training split (as in NSynth).")
    else:
        cover_lines.append("No results files were found: each result slide names the command that produces it.")
    if genuine:
        g = genuine[0]
        cover_lines.append(f"Genuine NSynth notes: {g[1]} reaches top-1 {pct(g[2]['top1'])} on "
                           f"{count(g[2]['n'])} of them (see the slide 'On genuine NSynth notes').")
    else:
        cover_lines.append("No results on genuine NSynth notes are in the results files yet, so no number in this "
                           "report measures the real dataset.")
    cover("HW0: Which instrument family plays this note?",
          "Eleven NSynth instrument families from 4 s notes: mel spectrograms (Task 1), hand-made features with a "
          "classical classifier (Task 2), and a CNN on mel spectrograms (Task 3).", files_all, prov_all, cover_lines)

    # 2 approach ----------------------------------------------------------------
    fig = new_slide("Approach: two model families, compared on the same splits", files_all, prov_all)
    mel_cfg = get(main, "mel") if isinstance(get(main, "mel"), dict) else None
    cand = get(ml, "candidates") or {}
    steps = []
    if ml:
        steps.append(f"Task 2: {str(get(ml, 'features') or 'features not recorded in ml.json').split(':')[0]} "
                     f"(listed on the Task 2 slide)"
                     + (", standardised with training-split statistics. " if re.search(
                         r"standard|scaler", str(get(ml, "features")) + str(get(ml, "standardisation")), re.I)
                        else ". ")
                     + (f"Candidates {', '.join(k.replace('_', ' ') for k in cand)} are compared on validation; "
                        f"{ml_name} is kept." if cand else f"Classifier: {ml_name}."))
    else:
        steps.append(f"Task 2: no results yet (run: {CMD['ml'].split(' (')[0]}).")
    if log or nolog:
        steps.append(f"Task 3: {get(main, 'model') or 'CNN'} on the mel spectrogram of the whole note"
                     + (f" ({get(mel_cfg, 'n_mels')} mel bands, n_fft {get(mel_cfg, 'n_fft')}, hop "
                        f"{get(mel_cfg, 'hop_length')})" if mel_cfg else "")
                     + ", trained with cross-entropy; the epoch with the best validation top-1 is kept.")
        peak_lin = bool(get(nolog, "recipe", "peak_norm")) and not get(log, "recipe", "peak_norm")
        steps.append("Controlled comparison: the same CNN, seed and recipe on log-compressed (dB) and on linear "
                     "mel input, so any difference comes from the log compression"
                     + (f" (budgets: {budget})" if budget else "")
                     + ("; the linear input is divided by each note's peak (--peak_norm), without which linear "
                        "power's range across notes leaves the network near chance on unseen instruments."
                        if peak_lin else "."))
    else:
        steps.append(f"Task 3: no results yet (run: {CMD['cnn_log'].split(' (')[0]}).")
    steps.append("Everything (features, classifier, epoch, recipe) is chosen on the validation split; the test "
                 "split is scored once per model. Metrics: top-1 and top-3 accuracy over the 11 families.")
    cmds = [f"{m['label'].split(': ', 1)[0]}: {clean_command(get(m['d'], 'command'))}" for m in present
            if get(m["d"], "command")]
    bullets_box(fig, (LEFT, 0.36 if cmds else BOTTOM, RIGHT - LEFT, TOP - (0.36 if cmds else BOTTOM) - 0.01),
                steps, size=20)
    if cmds:
        fig.text(LEFT, 0.335, "Reproduce (python, from the repository root):", size=14, weight="bold",
                 color=ACCENT, va="top")
        text_box(fig, (LEFT, BOTTOM + 0.01, RIGHT - LEFT, 0.2), "\n".join(cmds), size=13, min_size=11,
                 color="#333333")

    # 3 results at a glance ------------------------------------------------------
    best = max((m for m in present if test_of[m["key"]] is not None), key=lambda m: test_of[m["key"]], default=None)
    title = (f"Results: the {best['name']} is best on the {split_name(best['d'], 'test')} split"
             if best else "Results: test accuracy of each model")
    fig = new_slide(title, files_all + res(*[f for f, _ in infer]), prov_all)
    bars = [m for m in present if test_of[m["key"]] is not None]
    if bars:
        ax = axes_in(fig, (LEFT, BOTTOM, 0.56, TOP - BOTTOM), left=0.9, bottom=0.95, top=0.15, right=0.1)
        xs = np.arange(len(bars))
        series = [("validation top-1", "val", "top1", LIGHT), ("test top-1", "test", "top1", DARK),
                  ("test top-3", "test", "top3", MID)]
        for k, (lab, split, key, col) in enumerate(series):
            vals = [get(m["d"], split, key) for m in bars]
            xk = xs + (k - 1) * 0.27
            ax.bar(xk, [100 * (v or 0) for v in vals], 0.25, color=col, label=lab)
            for xx, v in zip(xk, vals):
                if v is not None:
                    ax.text(xx, 100 * v + 1, f"{100 * v:.1f}", ha="center", va="bottom", size=13)
        ax.set_xticks(xs, [m["short"] for m in bars], size=14)
        ax.set_ylim(0, 112)
        ax.set_yticks(range(0, 101, 20))
        ax.set_ylabel(f"accuracy (%), {split_name(bars[0]['d'], 'splits')}", size=LABEL_PT)
        ax.legend(loc="upper center", ncol=3, frameon=False, fontsize=13, bbox_to_anchor=(0.5, 1.07))
        style(ax)
        ax.grid(axis="x", visible=False)
        facts = [f"Best: {best['label']}, top-1 {pct(test_of[best['key']])} and top-3 "
                 f"{pct(get(best['d'], 'test', 'top3'))} on {count(get(best['d'], 'test', 'n'))} "
                 f"{split_name(best['d'], 'test')} notes."]
        if d_ml is not None:
            facts.append(f"The log-mel CNN vs the Task 2 classifier: {points(d_ml)} top-1 on the same test notes.")
        if d_log is not None:
            facts.append(f"Log vs linear mel input: {points(d_log)} test top-1"
                         + (f", but with unequal budgets ({budget}); at epoch {eq[0]} of both runs the log-mel CNN "
                            f"leads by {points(eq[1] - eq[2])} on validation." if budget and eq else "."))
        for fname, d in infer:
            stem = fname[len("inference_"):-len(".json")]
            twin = next((m for m in models if m["key"] == stem), None)
            top1, n = get(d, "top1"), get(d, "n")
            same = twin and get(twin["d"], "test", "top1") is not None and top1 is not None and \
                abs(top1 - get(twin["d"], "test", "top1")) < 1e-9 and n == get(twin["d"], "test", "n")
            ck = shown(get(d, "checkpoint") or "its checkpoint")
            if same:
                facts.append(f"hw0/inference.py with {ck} reproduces {pct(top1)} on the same {count(n)} notes.")
            else:
                facts.append(f"hw0/inference.py with {ck}: top-1 {pct(top1)}, top-3 {pct(get(d, 'top3'))} on "
                             f"{count(n)} {split_name(d, 'test')} notes.")
        facts += [f"{m['label']}: not run yet (run: {CMD[m['key']].split(' (')[0]})." for m in models
                  if m["d"] is None]
        bullets_box(fig, (0.62, BOTTOM + 0.02, RIGHT - 0.62, TOP - BOTTOM - 0.04), facts, size=17)
    else:
        for k, m in enumerate(models):
            if m["d"] is None:
                missing_box(fig, (0.08, 0.62 - 0.22 * k, 0.84, 0.19), f"results/hw0/{m['file']}", CMD[m["key"]])

    # 4 Task 1 grid --------------------------------------------------------------
    mel_txt = results_dir / "mel_grid.txt"
    desc = mel_txt.read_text(errors="replace").strip() if mel_txt.is_file() else None
    mel_prov = get(mel, "provenance") or get(mel, "data", "provenance")
    if not mel_prov and desc:
        mel_prov = next((ln.split(":", 1)[1].strip() for ln in desc.splitlines()
                         if ln.lower().startswith(("provenance:", "data:"))), None)
    mel_prov = mel_prov or ("not recorded in mel_grid.txt" if desc else "no results yet")
    has_png = (results_dir / "mel_grid.png").is_file()
    mel_files = res(*[f for f, ok in (("mel_grid.json", mel), ("mel_grid.png", has_png),
                                      ("mel_grid.txt", desc)) if ok])
    fams = get(mel, "families") or []
    title = ("Task 1: mel spectrograms of " + ", ".join(fams[:-1]) + f" and {fams[-1]}" if len(fams) >= 2
             else "Task 1: mel spectrograms of the instrument families")
    mel_grid_slide(mel, title, mel_files, mel_prov, CMD["mel"])

    # 5 Task 1 reading -----------------------------------------------------------
    fig = new_slide("Task 1: what the spectrograms show", mel_files, mel_prov)
    if desc:
        reading, rows = parse_mel_text(desc)
        if rows:
            bullets_box(fig, (LEFT, BOTTOM, 0.5, TOP - BOTTOM - 0.02), reading, size=17, min_size=13)
            fig.text(0.56, TOP - 0.01, "Measured on the nine notes of the grid", size=16, weight="bold",
                     color=ACCENT, va="top")
            table(fig, (0.56, BOTTOM, RIGHT - 0.56, TOP - BOTTOM - 0.08),
                  ["family", "MIDI", "centroid (Hz)", "attack (ms)", "decay (dB/s)"], rows, size=16,
                  align=["l", "r", "r", "r", "r"])
        else:
            text_box(fig, (LEFT, BOTTOM, RIGHT - LEFT, TOP - BOTTOM - 0.02), desc, size=17, min_size=12)
    else:
        missing_box(fig, (0.1, 0.3, 0.8, 0.4), "results/hw0/mel_grid.txt (the description)", CMD["mel"])

    # 6 Task 2 -------------------------------------------------------------------
    if ml is None:
        missing_slide("Task 2: hand-made features + a classical classifier", "results/hw0/ml.json", CMD["ml"])
    else:
        fig = new_slide(f"Task 2: hand-made features + {ml_name}", res("ml.json"), provenance(ml, "ml.json"))
        info = [f"Features: {get(ml, 'features') or 'not recorded in ml.json'}"]
        std = get(ml, "standardisation") or get(ml, "standardization") or get(ml, "scaler")
        if std:
            info.append(f"Standardisation: {std}")
        if get(ml, "test", "top1") is not None:
            info.append(f"Kept: {ml_name}, {split_name(ml, 'test')} top-1 {pct(get(ml, 'test', 'top1'))}, top-3 "
                        f"{pct(get(ml, 'test', 'top3'))} ({count(get(ml, 'test', 'n'))} notes).")
        bullets_box(fig, (LEFT, 0.50 if cand else BOTTOM, 0.40, TOP - (0.50 if cand else BOTTOM)), info, size=16,
                    min_size=12)
        if cand:
            ks = list(cand)
            ax = axes_in(fig, (LEFT, BOTTOM, 0.40, 0.40), left=text_w("random forest", 14) + 0.2, bottom=0.55,
                         top=0.4, right=0.2)
            v = [100 * (get(cand[k], "val_top1") or 0) for k in ks]
            ax.barh(range(len(ks)), v, color=[DARK if k.replace("_", " ") == ml_name else LIGHT for k in ks])
            for i, k in enumerate(ks):
                ax.text(v[i] + 1, i, pct(get(cand[k], "val_top1")), va="center", size=14)
            ax.set_yticks(range(len(ks)), [k.replace("_", " ") for k in ks], size=14)
            ax.invert_yaxis()
            ax.set_xlim(0, 118)
            ax.set_xticks(range(0, 101, 25))
            ax.set_xlabel(f"{split_name(ml, 'validation')} top-1 (%)", size=14)
            ax.set_title("Candidates (dark: kept)", size=15, loc="left")
            style(ax)
        cm = get(ml, "test", "confusion_matrix")
        if cm:
            confusion(fig, (0.44, BOTTOM, RIGHT - 0.44, TOP - BOTTOM),
                      cm, names, f"{split_name(ml, 'test')}: top-1 {pct(get(ml, 'test', 'top1'))}, "
                                 f"{count(get(ml, 'test', 'n'))} notes")
        else:
            text_box(fig, (0.5, 0.4, 0.45, 0.2), "No test confusion matrix in ml.json (test not evaluated).")

    # 7 Task 3: the kept CNN's confusion matrix + recall per family, log vs linear --------
    cnn_files = res(*[f for f, d in (("cnn_log.json", log), ("cnn_nolog.json", nolog)) if d])
    cnn_prov = prov_of((log, "cnn_log.json"), (nolog, "cnn_nolog.json"))
    fig = new_slide("Task 3: the CNN on log-mel vs linear-mel input", cnn_files, cnn_prov)
    cm_log, cm_lin = get(log, "test", "confusion_matrix"), get(nolog, "test", "confusion_matrix")
    if cm_log:
        eps = get(log, "recipe", "epochs") or len(get(log, "history") or []) or None
        confusion(fig, (LEFT, BOTTOM, 0.52, TOP - BOTTOM), cm_log, names,
                  f"log-mel, {split_name(log, 'test')}: top-1 {pct(get(log, 'test', 'top1'))}"
                  + (f", {eps} epochs" if eps else ""))
    else:
        missing_box(fig, (LEFT + 0.02, 0.3, 0.48, 0.35), "results/hw0/cnn_log.json (test confusion matrix)",
                    CMD["cnn_log"])
    curves = [(m, np.asarray(get(m["d"], "test", "confusion_matrix"), dtype=float)) for m in models[1:]
              if get(m["d"], "test", "confusion_matrix")]
    if curves and names and all(len(c) == len(names) for _, c in curves):
        lab_w = max(text_w(s, TICK_PT) for s in names) + 0.2
        ax = axes_in(fig, (0.58, BOTTOM + 0.17, RIGHT - 0.58, TOP - BOTTOM - 0.17), left=lab_w, bottom=0.55,
                     top=0.75, right=0.15)
        k = len(curves)
        for j, ((m, c), col) in enumerate(zip(curves, (DARK, "#d95f02"))):
            rec = 100 * np.diag(c) / np.maximum(c.sum(axis=1), 1)
            ax.barh(np.arange(len(names)) + (j - (k - 1) / 2) * 0.8 / k, rec, 0.8 / k, color=col,
                    label=f"{m['label'].split(', ', 1)[1]} ({pct(test_of[m['key']])})")
        ax.set_yticks(range(len(names)), names, size=TICK_PT)
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel(f"recall per family (%), {split_name(curves[0][0]['d'], 'test')}", size=14)
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False, fontsize=13, ncol=1)
        style(ax)
        ax.grid(axis="y", visible=False)
        if len(curves) == 2:
            rec = [np.diag(c) / np.maximum(c.sum(axis=1), 1) for _, c in curves]
            gain = rec[0] - rec[1]
            i = int(np.argmax(gain))
            line = (f"Test top-1 {points(d_log)} for log-mel; largest gain: {names[i]} recall {points(gain[i])}."
                    + (f" Budgets differ ({budget}): at epoch {eq[0]} of both runs log-mel leads by "
                       f"{points(eq[1] - eq[2])} on validation." if budget and eq else ""))
            text_box(fig, (0.58, BOTTOM, RIGHT - 0.58, 0.15), line, size=14, min_size=12)
    elif not cm_lin:
        missing_box(fig, (0.6, 0.3, 0.35, 0.35), "results/hw0/cnn_nolog.json (test confusion matrix)",
                    CMD["cnn_nolog"])

    # 8 training curves + why validation loss rises --------------------------------
    fig = new_slide("Task 3: training curves, and why validation loss rises", cnn_files, cnn_prov)
    runs_h = [(m, get(m["d"], "history") or []) for m in models[1:]]
    hist_d = log if get(log, "history") else nolog
    vl = [(r.get("epoch"), r.get("val_loss"), r.get("val_top1"), r.get("train_loss"))
          for r in (get(hist_d, "history") or []) if r.get("val_loss") is not None]
    if any(h for _, h in runs_h):
        axl = axes_in(fig, (LEFT, 0.5, 0.6, TOP - 0.5), left=0.95, bottom=0.2, top=0.45, right=0.1)
        axa = axes_in(fig, (LEFT, BOTTOM, 0.6, 0.5 - BOTTOM), left=0.95, bottom=0.55, top=0.1, right=0.1)
        for (m, h), col in zip(runs_h, (DARK, "#d95f02")):
            if not h:
                continue
            ep = [r.get("epoch", i + 1) for i, r in enumerate(h)]
            lab = m["label"].split(", ", 1)[1]
            axl.plot(ep, [r.get("train_loss") for r in h], "--", color=col, marker="o", label=f"{lab}: train")
            axl.plot(ep, [r.get("val_loss") for r in h], "-", color=col, marker="o", label=f"{lab}: validation")
            axa.plot(ep, [100 * (r.get("train_acc") or np.nan) for r in h], "--", color=col, marker="o")
            axa.plot(ep, [100 * (r.get("val_top1") or np.nan) for r in h], "-", color=col, marker="o")
            be = get(m["d"], "best_epoch")
            if be:
                axa.axvline(be, color=col, ls=":", lw=1.5)
        axl.set_ylabel("cross-entropy loss", size=LABEL_PT)
        axa.set_ylabel("accuracy / top-1 (%)", size=LABEL_PT)
        axa.set_xlabel(f"epoch (dotted line: kept epoch; validation = {split_name(main, 'validation')} split)",
                       size=14)
        for a in (axl, axa):
            style(a)
            a.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        axl.tick_params(labelbottom=False)
        keys = [plt.Line2D([], [], color=col, lw=3, label=m["label"].split(", ", 1)[1])
                for (m, h), col in zip(runs_h, (DARK, "#d95f02")) if h]
        keys += [plt.Line2D([], [], color="black", ls="--", label="train"),
                 plt.Line2D([], [], color="black", ls="-", label="validation")]
        axl.legend(handles=keys, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=4, frameon=False, fontsize=13,
                   handlelength=1.6, columnspacing=1.0)
        words = []
        if vl:
            e_min, l_min, a_min, _ = min(vl, key=lambda t: t[1])
            e_end, l_end, a_end, t_end = vl[-1]
            if e_end != e_min and l_end > l_min:
                words.append(f"Validation loss is lowest at epoch {e_min} ({l_min:.2f}) and rises to {l_end:.2f} by "
                             f"epoch {e_end}, while validation top-1 goes from {pct(a_min)} to {pct(a_end)} and "
                             f"the training loss falls to {t_end:.3f}.")
                words.append("Why: training keeps sharpening the predicted probabilities. The validation notes it "
                             "gets wrong (instruments it never heard in training) become confidently wrong, and "
                             "cross-entropy grows without bound on those; accuracy looks only at the arg-max, so it "
                             "barely moves.")
            else:
                words.append(f"Validation loss falls to {l_end:.2f} by the last epoch ({e_end}); validation top-1 "
                             f"{pct(a_end)}.")
            words.append(f"The kept checkpoint is the epoch with the best validation top-1 (epoch "
                         f"{get(hist_d, 'best_epoch') or 'n/a'}), the metric we report, not the lowest validation "
                         f"loss; the test split played no part in the choice.")
        bullets_box(fig, (0.65, BOTTOM + 0.01, RIGHT - 0.65, TOP - BOTTOM - 0.02), words, size=16, min_size=12)
    else:
        missing_box(fig, (0.1, 0.3, 0.8, 0.4), "results/hw0/cnn_log.json (training history)", CMD["cnn_log"])

    # 9 ablation -----------------------------------------------------------------
    abl_rows = get(abl, "rows") or []
    if not abl_rows:
        missing_slide("Ablation: which parts of the training recipe help", "results/hw0/ablation.json (rows)",
                      CMD["ablation"])
    else:
        abl_prov = provenance(abl, "ablation.json")
        fig = new_slide("Ablation: which parts of the training recipe help", res("ablation.json")
                        + (res("reference.json") if ref else []) + (res("cnn_log.json") if log else []), abl_prov)
        labels = ["\n".join(wrap(str(r.get("name", "?")), 2.3, 14)[:2]) for r in abl_rows]
        v = [100 * (r.get("val_top1") or 0) for r in abl_rows]
        lw = max(text_w(ln, 14) for s_ in labels for ln in s_.split("\n")) + 0.2
        ax = axes_in(fig, (LEFT, BOTTOM, 0.58, TOP - BOTTOM), left=lw, bottom=0.85, top=0.1, right=1.9)
        ax.barh(range(len(v)), v, color=[DARK if i == 0 else MID for i in range(len(v))])
        for i, r in enumerate(abl_rows):
            dl = r.get("delta_top1")
            ax.text(v[i] + 1, i, pct(r.get("val_top1")) + ("" if i == 0 or dl is None else f"  ({points(dl)})"),
                    va="center", size=14)
        ax.set_yticks(range(len(v)), labels, size=14)
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel(f"{split_name(abl, 'validation')} top-1 (%), {count(get(abl, 'data', 'max_train'))} training "
                      f"notes and {get(abl, 'epochs') or 'n/a'} epochs per run;\nin brackets: change vs the first row",
                      size=14)
        style(ax)
        bestr = max(abl_rows, key=lambda r: r.get("val_top1") or -1)
        words = []
        if bestr is not abl_rows[0]:
            words.append(f"Best: {bestr.get('name')}, {pct(bestr.get('val_top1'))} ({points(bestr.get('delta_top1'))} "
                         f"vs {abl_rows[0].get('name')})"
                         + ("; the shipped log-mel CNN trains with " + settings(
                             {k: x for k, x in get(log, "recipe").items() if k not in ("batch_size", "lr", "epochs")})
                            if isinstance(get(log, "recipe"), dict) else "") + ".")
        others = [r for r in abl_rows[1:] if r.get("delta_top1") is not None]
        offs = [r for r in others if str(r.get("name", "")).startswith("no ")]
        if offs and all(r["delta_top1"] > 0 for r in offs):
            words.append(f"Switching off any one regulariser raised validation top-1 "
                         f"({', '.join(points(r['delta_top1']) for r in offs)}): at this short budget they slow "
                         f"learning more than they prevent over-fitting.")
        if abl_lin and abl_lin.get("delta_top1") is not None:
            biggest = max(others, key=lambda r: abs(r["delta_top1"])) is abl_lin
            words.append(f"{abl_lin.get('name')}: {points(abl_lin.get('delta_top1'))}"
                         + (", the largest single effect." if biggest else "."))
        if ref and get(ref, "reference", "best", "val_top1") is not None:
            words.append(f"A reference short-chunk CNN recipe given the same {secs(get(ref, 'budget_s'))} of "
                         f"training reaches {pct(get(ref, 'reference', 'best', 'val_top1'))} validation top-1, ours "
                         f"{pct(get(ref, 'ours', 'val', 'top1'))}.")
        bullets_box(fig, (0.63, BOTTOM + 0.01, RIGHT - 0.63, TOP - BOTTOM - 0.02), words, size=16, min_size=12)

    # 10 genuine NSynth notes (only when a results file has such numbers) ------------
    if genuine:
        g_prov = "genuine NSynth notes (" + "; ".join(sorted({g[3] for g in genuine})) + ")"
        shipped = [g_ for g_ in genuine if not g_[1].startswith("trial")] or genuine
        trials = [g_ for g_ in genuine if g_[1].startswith("trial") and g_ not in shipped]
        fig = new_slide("On genuine NSynth notes", sorted({g_[0] for g_ in shipped}), g_prov)
        g = shipped[0]
        has_cm = bool(g[2]["confusion_matrix"])
        col_w = 0.45 if has_cm else RIGHT - LEFT
        head, align = ["model", "top-1", "top-3", "notes"], ["l", "r", "r", "r"]
        rows = [[g_[1], pct(g_[2]["top1"]), pct(g_[2]["top3"]), count(g_[2]["n"])] for g_ in shipped]
        tab_h = min(0.56, 0.1 + 0.075 * len(rows))
        left_over = table(fig, (LEFT, TOP - tab_h, col_w, tab_h), head, rows, align=align)
        words = [f"{len(left_over)} more rows did not fit: " + ", ".join(f"{r[0]} {r[1]}" for r in left_over)
                 ] if left_over else []
        if g[2]["n"]:
            words.append(f"One note is {100 / g[2]['n']:.1f} points of accuracy on {count(g[2]['n'])} notes: "
                         f"differences of a few notes are noise.")
        if trials:
            words.append(f"{len(trials)} recipe trials on the same notes: next slide.")
        twin = nolog if "linear" in g[1] or "nolog" in g[1] else log if "cnn" in g[1].lower() else ml
        if twin and get(twin, "test", "top1") is not None:
            words.append(f"The same model scores {pct(get(twin, 'test', 'top1'))} on the proxy test split: "
                         f"{points(g[2]['top1'] - get(twin, 'test', 'top1'))} on genuine notes measures how far "
                         f"the rendered stand-ins are from real NSynth recordings.")
        bullets_box(fig, (LEFT, BOTTOM, col_w, TOP - tab_h - BOTTOM - 0.04), words, size=17, min_size=10)
        if has_cm:
            confusion(fig, (0.5, BOTTOM, RIGHT - 0.5, TOP - BOTTOM), g[2]["confusion_matrix"], names,
                      f"{g[1]}: top-1 {pct(g[2]['top1'])}")
        # the recipe trials (bench/hw0_select.py) get slides of their own: a table continued, never cut
        rows = [[g_[1].removeprefix("trial: "), pct(g_[2]["top1"]), pct(g_[2]["top3"]), count(g_[2]["n"])]
                for g_ in trials]
        head = ["trial (results/hw0/selection.json)", "top-1", "top-3", "notes"]
        if any(g_[2].get("loso") is not None for g_ in trials):     # leave-one-source-out screen of the trials
            def loso_cell(t):   # a screen of a single held-out lineage says which, so it is not read as a mean
                if t.get("loso") is None:
                    return "-"
                return pct(t["loso"]) + (f" ({t['loso_groups'][0]} only)" if len(t["loso_groups"]) == 1 else "")
            rows = [r + [loso_cell(g_[2])] for r, g_ in zip(rows, trials)]
            head, align = head + ["LOSO"], align + ["r"]
        if rows:
            table_slides("Genuine NSynth notes: recipe trials", sorted({g_[0] for g_ in trials}), g_prov, head, rows,
                         align=align, notes=[
                             "mix0 = GM fonts + generated patches, mix1 + STK/Csound, mix2 + Zyn/Faust/LMMS, mix3 + "
                             "amsynth, mix4 + the Merlin GM font, mix2ws = mix2 with half its training notes "
                             "waveshaped; dr = domain randomisation; plain = no augmentation; peak = --peak_norm; "
                             "nolog = linear mel input; pc72 = a second, pitch-aligned input channel; rfn = relaxed "
                             "instance frequency-wise normalisation; mix5 = mix2 with 3x the generated patches; rr = "
                             "mix2 re-rendered.",
                             "Equal budgets per model kind; the command and arguments of each row are in "
                             "results/hw0/selection.json."]
                         + (["LOSO: mean top-1 on training lineages held out in turn (a short screen)."]
                            if "LOSO" in head else [])
                         + [f"One note is {100 / g[2]['n']:.1f} points here: most differences between trials are "
                            f"noise." if g[2]["n"] else ""])

    # 10b where rendered stand-ins differ from genuine notes (bench/hw0_domain_gap.py) --------
    gap = load_json("domain_gap.json")
    if gap and (results_dir / "domain_gap.png").is_file():
        fig = new_slide("Stand-in vs genuine notes: where they differ", res("domain_gap.json", "domain_gap.png"),
                        f"{sum(f['genuine']['n'] for f in gap['families'].values())} genuine NSynth notes "
                        f"(shared/realdata) vs rendered stand-ins ({'/'.join(Path(gap['data']).parts[-2:])}) within "
                        f"{gap.get('pitch_window')} semitones of their pitch, velocity >= {gap.get('min_velocity')}")
        image(fig, (LEFT, BOTTOM + 0.02, RIGHT - LEFT, TOP - BOTTOM - 0.04), results_dir / "domain_gap.png")

    # 11 what we learned ---------------------------------------------------------
    fig = new_slide("What we learned", files_all + (res("ablation.json") if abl else []), prov_all)
    learned = []
    if d_ml is not None:
        learned.append((f"Learning the features beats summarising them ({points(d_ml)} test top-1, log-mel CNN "
                        f"{pct(test_of['cnn_log'])} vs {pct(test_of['ml'])}): the Task 2 features are means and "
                        f"standard deviations over time, so the order of attack, sustain and decay is lost; the "
                        f"CNN sees the whole time-frequency picture of the note.") if d_ml > 0 else
                       (f"Summary features hold up: the Task 2 classifier is {points(-d_ml)} top-1 ahead of the "
                        f"log-mel CNN ({pct(test_of['ml'])} vs {pct(test_of['cnn_log'])}), so the CNN's extra "
                        f"view of the time course did not pay off at this training budget."))
    effects = [(eq[1] - eq[2], "validation top-1 at equal budget") if eq else None,
               (-abl_lin["delta_top1"], "in the ablation") if abl_lin and abl_lin.get("delta_top1") is not None
               else None]
    effects = [e for e in effects if e]
    if effects:
        nums = "; ".join(f"log minus linear {points(v)} {what}" for v, what in effects)
        learned.append((f"Log compression matters ({nums}): on a linear scale the few loudest partials fill the "
                        f"input and the quiet partials and noise that tell families apart are close to zero.")
                       if all(v > 0 for v, _ in effects) else
                       f"Log vs linear input gave mixed results ({nums}); with one seed per run this difference "
                       f"is not established.")
    cm_m = next((m for m in (models[1], models[0], models[2]) if get(m["d"], "test", "confusion_matrix")), None)
    dcm = get(cm_m["d"], "test", "confusion_matrix") if cm_m else None
    if dcm and names and len(dcm) == len(names):
        m = np.asarray(dcm, dtype=float)
        off = m.copy()
        np.fill_diagonal(off, 0)
        order = np.argsort(off, axis=None, kind="stable")[::-1][:2]
        pairs = []
        for flat in order:
            i, j = np.unravel_index(int(flat), off.shape)
            if off[i, j] > 0:
                why = FAMILY_PAIRS.get(frozenset((names[i], names[j])))
                pairs.append(f"{names[i]} taken for {names[j]} ({int(m[i, j])} of {int(m[i].sum())} {names[i]} "
                             f"notes{': ' + why if why else ''})")
        if pairs and off.sum():
            share = sum(off.flat[int(f)] for f in order) / off.sum()
            learned.append(f"The {len(pairs)} largest confusions of the {cm_m['name']} hold {pct(share)} of its "
                           f"{int(off.sum()):,} test errors: " + "; ".join(pairs) + ".")
    if vl and vl[-1][1] > min(t[1] for t in vl):
        e_min, l_min, a_min, _ = min(vl, key=lambda t: t[1])
        a_end = vl[-1][2]
        trend = ("still improves" if a_end is not None and a_min is not None and a_end > a_min else
                 "does not improve")
        learned.append(f"Loss and accuracy tell different stories after epoch {e_min}: validation loss "
                       f"{l_min:.2f} -> {vl[-1][1]:.2f} while top-1 {trend} ({pct(a_min)} -> {pct(a_end)}); the "
                       f"model becomes over-confident on unseen instruments, so we keep the epoch with the best "
                       f"validation top-1.")
    gaps = [(m, get(m["d"], "val", "top1") - test_of[m["key"]]) for m in present
            if get(m["d"], "val", "top1") is not None and test_of[m["key"]] is not None]
    if gaps:
        listed = ", ".join(f"{m['name']} {points(g)}" for m, g in gaps)
        learned.append(f"Validation predicts test well (validation minus test top-1: {listed}): both hold "
                       f"instruments unseen in training"
                       + (", rendered by the same engines." if genuine else ", so choosing on validation is safe.")
                       if max(abs(g) for _, g in gaps) <= 0.05 else
                       f"Validation and test disagree (validation minus test top-1: {listed}): the unseen "
                       f"instruments of the two splits differ, so a single validation number is optimistic or "
                       f"pessimistic by this much.")
    if genuine and log and get(log, "test", "top1") is not None:
        g_log = next((g for g in genuine if g[1] == SHIPPED_LABELS["cnn_log.pt"]), genuine[0])
        learned.append(f"The proxy splits do not predict real accuracy: {g_log[1]} {pct(get(log, 'test', 'top1'))} "
                       f"on the proxy test split, {pct(g_log[2]['top1'])} on {count(g_log[2]['n'])} genuine NSynth "
                       f"notes. Real instruments differ more from our renders than the renders differ from each "
                       f"other, so recipes have to be chosen on held-out sources and genuine notes.")
    if not present:
        learned.append("No results yet: the slides before this one name the commands that produce them.")
    learned.append("Limits: one seed per configuration"
                   + (("; every number outside the genuine-notes slide is on rendered proxy data" if genuine else
                       "; every number is on rendered proxy data") if data_kind(main) == "proxy" else "")
                   + (f"; the {count(genuine[0][2]['n'])} genuine notes are a small sample (one note = "
                      f"{100 / genuine[0][2]['n']:.1f} points)." if genuine and genuine[0][2]["n"]
                      else "." if genuine else "; no genuine NSynth results are in the results files yet."))
    bullets_box(fig, (LEFT, BOTTOM + 0.01, RIGHT - LEFT, TOP - BOTTOM - 0.02), learned, size=17, min_size=13)

# -----------------------------------------------------------------------------
# HW1: Slakh instrument activity with MERT

AGREEMENT = [("agree: inactive", "#ffffff"), ("TP: both active", "#4d4d4d"),
             ("FP: predicted, not in MIDI", "#e69f00"), ("FN: in MIDI, missed", "#0072b2")]  # as hw1/utils.py
CLIP_S = 5  # HW1 activity windows are 5 s long (the course definition)


def activity(fig, rect, gt, pred, names, title):
    """A whole track's ground truth vs prediction, one cell per (class, 5 s window), coloured by agreement."""
    gt, pred = np.asarray(gt).astype(bool), np.asarray(pred).astype(bool)
    codes = np.select([gt & pred, pred & ~gt, gt & ~pred], [1, 2, 3], 0)
    n, L = codes.shape
    name_w = max(text_w(s, TICK_PT) for s in names)
    cap, cap_pt = fit_lines(title, (0, 0, rect[2], 0.12), 16, 13)
    cap_h = len(cap) * 1.3 * cap_pt / 72 + 0.1
    draw_lines(fig, rect[0], rect[1] + rect[3], cap, cap_pt)
    ax = axes_in(fig, rect, left=name_w + 0.25, bottom=1.55, top=cap_h + 0.05, right=0.15)
    ax.imshow(codes, aspect="auto", interpolation="nearest", cmap=ListedColormap([c for _, c in AGREEMENT]),
              vmin=-0.5, vmax=3.5, extent=[0, L * CLIP_S, n - 0.5, -0.5])
    ax.set_xticks(np.arange(L + 1) * CLIP_S, minor=True)
    ax.set_yticks(np.arange(n + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="#bbbbbb", lw=0.6)
    ax.tick_params(which="minor", length=0)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(12, integer=True))
    ax.set_yticks(range(n), names, size=TICK_PT)
    ax.set_xlabel(f"time (s); one cell = one {CLIP_S} s window", size=LABEL_PT)
    cnt = {k: int((codes == c).sum()) for k, c in (("TP", 1), ("FP", 2), ("FN", 3))}
    handles = [Patch(facecolor=c, edgecolor="#888888", label=lab + (f" ({cnt[lab[:2]]})" if lab[:2] in cnt else ""))
               for lab, c in AGREEMENT]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, -0.55 / (ax.get_position().height * H) - 0.02),
              ncol=2, frameon=False, fontsize=14)
    return cnt


def hw1():
    CMD = {"frozen": "python hw1/finetune_mert.py --data_root DATA/slakh (frozen MERT features + probe; writes "
                     "results/hw1/frozen.json)",
           "finetune": "python hw1/finetune_mert.py --data_root DATA/slakh --finetune (writes "
                       "results/hw1/finetune.json)",
           "inference": "python hw1/inference.py --test_dir DATA/slakh/test --labels DATA/slakh/test_labels.json "
                        "(writes results/hw1/inference.json)",
           "tracks": "python hw1/inference.py --test_track_dir DATA/slakh_tracks "
                     "(writes results/hw1/tracks.json and track_<name>.png)"}
    runs_ = [(k, load_json(f"{k}.json")) for k in ("frozen", "finetune")]
    present = [(d, f"{k}.json") for k, d in runs_ if d is not None]
    inf, tracks = load_json("inference.json"), load_json("tracks.json")
    run_files, run_prov = res(*[f for _, f in present]), prov_of(*present)
    inf_prov = provenance(inf, "inference.json") if inf else "no results yet"
    trk_prov = (provenance(tracks, "tracks.json") if (get(tracks, "provenance") or get(tracks, "data", "provenance"))
                else (f"not recorded in tracks.json (inference.json: {inf_prov})" if tracks else "no results yet"))
    all_files = run_files + (res("inference.json") if inf else []) + (res("tracks.json") if tracks else [])
    all_prov = prov_of(*present, (inf, "inference.json"), (tracks, "tracks.json"))
    main = next((d for _, d in runs_ if d is not None), None)
    rep = get(inf, "report") or {}
    names = (get(main, "class_names") or get(inf, "class_names") or get(tracks, "class_names")
             or [k for k in rep if not k.endswith("avg")] or None)
    fr, ft = runs_[0][1], runs_[1][1]
    val = {k: (get(d, "val", "macro_f1"), get(d, "val", "micro_f1")) for k, d in runs_}
    d_ft = (val["finetune"][0] - val["frozen"][0]) if None not in (val["finetune"][0], val["frozen"][0]) else None
    used = get(inf, "mode") or ("finetune" if "finetune" in str(get(inf, "checkpoint")) else "frozen")
    cls = [(c, get(rep, c, "f1-score"), get(rep, c, "support")) for c in (names or [])
           if get(rep, c, "f1-score") is not None]

    # 1 cover
    lines = []
    if present or inf:
        kind = data_kind(main or inf)
        lines.append(("Every number here was measured on rendered proxy data" if kind == "proxy" else "Data")
                     + f" ({provenance(main or inf, 'results')}).")
        counts = get(main, "data", "counts")
        if isinstance(counts, dict) and counts:
            lines.append("Clips: " + ", ".join(f"{count(v)} {k}" for k, v in counts.items()
                                               if isinstance(v, (int, float))) + ".")
    else:
        lines.append("No results files were found: each result slide names the command that produces it.")
    cover("HW1: Which instruments play in each 5 s of a Slakh mix?",
          "A self-supervised music encoder (MERT), a learned mix of its layers and a small multi-label probe; "
          "frozen vs fine-tuned; whole-track activity maps against the MIDI.", all_files, all_prov, lines)

    # 2 approach
    fig = new_slide("Approach: MERT features, a layer mix and a multi-label probe", run_files, run_prov)
    lw = get(main, "layer_weights") or []
    steps = [f"Encoder: {get(main, 'encoder') or 'MERT (not recorded yet)'}"
             + (f", revision {get(main, 'revision')}" if get(main, "revision") else "")
             + f"; each 5 s clip is pooled over time ({get(main, 'pooling') or 'pooling not recorded'}) in every "
               f"hidden layer.",
             "Learned layer mix: a softmax weight per hidden state lets the data decide which depth carries "
             "instrument identity (lower layers: timbre; upper: the pretext targets)"
             + (f"; the largest weight is on hidden state {int(np.argmax(lw))} of {len(lw)} ({f3(max(lw))})."
                if lw else "."),
             f"Probe: a small MLP with one sigmoid per class ({len(names) if names else 'n/a'} classes), binary "
             f"cross-entropy, because several instruments sound at once.",
             "Per-class thresholds and the kept epoch are chosen on validation macro F1; the test split is used "
             "once, by hw1/inference.py.",
             "Frozen: features cached once, only the probe trains. Fine-tuned: the encoder's top layers train too."]
    cmds = [f"{k}: {clean_command(get(d, 'command'))}" for k, d in runs_ if d and get(d, "command")]
    bullets_box(fig, (LEFT, 0.34 if cmds else BOTTOM, RIGHT - LEFT, TOP - (0.34 if cmds else BOTTOM) - 0.01), steps)
    if cmds:
        fig.text(LEFT, 0.315, "Reproduce (python, from the repository root):", size=14, weight="bold", color=ACCENT,
                 va="top")
        text_box(fig, (LEFT, BOTTOM + 0.01, RIGHT - LEFT, 0.18), "\n".join(cmds), size=13, min_size=11,
                 color="#333333")

    # 3 results at a glance
    title = ("Results: fine-tuning changes validation macro F1 by " + f"{d_ft:+.3f}" if d_ft is not None
             else "Results: macro and micro F1")
    fig = new_slide(title, run_files + (res("inference.json") if inf else []),
                    prov_of(*present, (inf, "inference.json")))
    groups = [(f"{k}\n{split_name(d, 'validation')}", get(d, "val", "macro_f1"), get(d, "val", "micro_f1"))
              for k, d in runs_ if d]
    groups += [(f"{k}\n{split_name(d, 'test')}", get(d, "test", "macro_f1"), get(d, "test", "micro_f1"))
               for k, d in runs_ if d and get(d, "test")]
    if inf and rep:
        groups.append((f"{used}, inference\n{split_name(inf, 'test')}", get(rep, "macro avg", "f1-score"),
                       get(rep, "micro avg", "f1-score")))
    if groups:
        ax = axes_in(fig, (LEFT, BOTTOM, 0.6, TOP - BOTTOM), left=0.9, bottom=0.95, top=0.2, right=0.1)
        xs = np.arange(len(groups))
        for k, (lab, col) in enumerate((("macro F1", DARK), ("micro F1", MID))):
            vals = [g[1 + k] for g in groups]
            ax.bar(xs + (k - 0.5) * 0.36, [v or 0 for v in vals], 0.34, color=col, label=lab)
            for xx, v in zip(xs + (k - 0.5) * 0.36, vals):
                if v is not None:
                    ax.text(xx, v + 0.01, f3(v), ha="center", va="bottom", size=13)
        ax.set_xticks(xs, [g[0] for g in groups], size=13)
        ax.set_ylim(0, 1.12)
        ax.set_yticks(np.arange(0, 1.01, 0.2))
        ax.set_ylabel("F1", size=LABEL_PT)
        ax.legend(loc="upper center", ncol=2, frameon=False, bbox_to_anchor=(0.5, 1.08))
        style(ax)
        ax.grid(axis="x", visible=False)
        facts = []
        if d_ft is not None:
            facts.append(f"Fine-tuning: validation macro F1 {f3(val['frozen'][0])} -> {f3(val['finetune'][0])} "
                         f"({d_ft:+.3f}), at {secs(get(fr, 'train_time_s'))} vs {secs(get(ft, 'train_time_s'))} "
                         f"of training.")
        for k, d in runs_:
            if d and get(d, "test"):
                facts.append(f"{k}, test (--eval_test): macro F1 {f3(get(d, 'test', 'macro_f1'))}, micro F1 "
                             f"{f3(get(d, 'test', 'micro_f1'))} on {count(get(d, 'test', 'n'))} clips.")
        if rep:
            facts.append(f"hw1/inference.py ({shown(get(inf, 'checkpoint') or used)}): test macro F1 "
                         f"{f3(get(rep, 'macro avg', 'f1-score'))}, micro F1 {f3(get(rep, 'micro avg', 'f1-score'))}"
                         f" on {count(get(inf, 'n'))} clips; thresholds from validation.")
            facts.append("Macro F1 averages the classes equally, micro F1 pools all decisions: the gap shows how "
                         "much the frequent classes carry the pooled score.")
        bullets_box(fig, (0.66, BOTTOM + 0.02, RIGHT - 0.66, TOP - BOTTOM - 0.04), facts, size=16, min_size=12)
    else:
        for k, key in enumerate(("frozen", "finetune", "inference")):
            missing_box(fig, (0.08, 0.62 - 0.22 * k, 0.84, 0.19), f"results/hw1/{key}.json", CMD[key])

    # 4 classification report
    keys = [c for c in (names or []) if isinstance(rep.get(c), dict)] + \
        [k for k in rep if k not in (names or []) and isinstance(rep.get(k), dict)]
    if not keys:
        missing_slide("Test classification report", "results/hw1/inference.json (report)", CMD["inference"])
    else:
        fig = new_slide(f"Test classification report ({count(get(inf, 'n'))} {split_name(inf, 'test')} clips)",
                        res("inference.json"), inf_prov)
        rows = [[k, f3(get(rep, k, "precision")), f3(get(rep, k, "recall")), f3(get(rep, k, "f1-score")),
                 count(get(rep, k, "support"))] for k in keys]
        n_cls = len([k for k in keys if k in (names or [])])
        table(fig, (LEFT, BOTTOM, 0.5, TOP - BOTTOM - 0.01), ["class", "precision", "recall", "F1", "support"], rows,
              size=17, min_size=12, align=["l", "r", "r", "r", "r"], bold_rows=range(n_cls, len(rows)))
        if cls:
            srt = sorted(cls, key=lambda t: -t[1])
            lab_w = max(text_w(c, 14) for c, _, _ in srt) + 0.2
            ax = axes_in(fig, (0.56, BOTTOM, RIGHT - 0.56, TOP - BOTTOM), left=lab_w, bottom=0.6, top=0.45, right=0.6)
            ax.barh(range(len(srt)), [v for _, v, _ in srt], color=DARK)
            for i, (c, v, s) in enumerate(srt):
                ax.text(v + 0.01, i, f3(v), va="center", size=13)
            ax.set_yticks(range(len(srt)), [c for c, _, _ in srt], size=14)
            ax.invert_yaxis()
            ax.set_xlim(0, 1.1)
            ax.set_xlabel("test F1 (best first)", size=14)
            ax.set_title("Per-class F1", size=16, loc="left")
            style(ax)

    # 5 what the probe learned: layer weights + thresholds
    fig = new_slide("What the probe learned: layer weights and per-class thresholds", run_files, run_prov)
    if present:
        ax = axes_in(fig, (LEFT, BOTTOM, 0.4, TOP - BOTTOM), left=0.9, bottom=0.6, top=0.5, right=0.1)
        width = 0.8 / max(1, len(present))
        for j, ((k, d), col) in enumerate(zip([(k, d) for k, d in runs_ if d], (DARK, "#d95f02"))):
            w_ = get(d, "layer_weights") or []
            ax.bar(np.arange(len(w_)) + (j - (len(present) - 1) / 2) * width, w_, width, color=col, label=k)
        ax.set_xlabel("hidden state (0 = input embedding)", size=14)
        ax.set_ylabel("softmax weight", size=14)
        ax.set_title("Learned layer mix", size=16, loc="left")
        ax.legend(frameon=False, loc="upper left")
        style(ax)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        hdr = ["class"] + [f"threshold {k}" for k, d in runs_ if d] + [f"val F1 {k}" for k, d in runs_ if d]
        rows = []
        for i, c in enumerate(names or []):
            row = [c]
            for key in ("thresholds", "per_class_f1"):
                for k, d in runs_:
                    if d:
                        v = (get(d, "thresholds") if key == "thresholds" else get(d, "val", "per_class_f1")) or []
                        row.append((f2 if key == "thresholds" else f3)(v[i]) if i < len(v) else "n/a")
            rows.append(row)
        rest = table(fig, (0.46, BOTTOM, RIGHT - 0.46, TOP - BOTTOM - 0.01), hdr, rows, size=17,
                     align=["l"] + ["r"] * (len(hdr) - 1))
        if rest:
            table_slides("Per-class thresholds (continued)", run_files, run_prov, hdr, rest)
    else:
        missing_box(fig, (0.1, 0.3, 0.8, 0.4), "results/hw1/frozen.json (layer weights, thresholds)", CMD["frozen"])

    # 6 training curves
    fig = new_slide("Training curves: loss and validation F1 per epoch", run_files, run_prov)
    hs = [(k, get(d, "history") or [], d) for k, d in runs_ if d]
    if any(h for _, h, _ in hs):
        axl = axes_in(fig, (LEFT, BOTTOM, 0.46, TOP - BOTTOM), left=0.95, bottom=0.6, top=0.95, right=0.1)
        axf = axes_in(fig, (0.51, BOTTOM, RIGHT - 0.51, TOP - BOTTOM), left=0.95, bottom=0.6, top=0.95, right=0.1)
        for (k, h, d), col in zip(hs, (DARK, "#d95f02")):
            ep = [r.get("epoch", i + 1) for i, r in enumerate(h)]
            axl.plot(ep, [r.get("train_loss") for r in h], "--", marker="o", color=col, label=f"{k}: train")
            axl.plot(ep, [r.get("val_loss") for r in h], "-", marker="o", color=col, label=f"{k}: validation")
            axf.plot(ep, [r.get("val_macro_f1") for r in h], "-", marker="o", color=col, label=f"{k}: macro F1")
            if any(r.get("val_micro_f1") is not None for r in h):
                axf.plot(ep, [r.get("val_micro_f1") for r in h], ":", marker="s", color=col, label=f"{k}: micro F1")
            if get(d, "best_epoch"):
                axf.axvline(get(d, "best_epoch"), color=col, ls="--", lw=1)
        axl.set_title("binary cross-entropy", size=16, loc="left")
        axf.set_title(f"{split_name(main, 'validation')} F1 (dashed: kept epoch)", size=16, loc="left")
        for a in (axl, axf):
            a.set_xlabel("epoch", size=LABEL_PT)
            a.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
            style(a)
        keys = [plt.Line2D([], [], color=col, lw=3, label=k) for (k, _, _), col in zip(hs, (DARK, "#d95f02"))]
        keys += [plt.Line2D([], [], color="black", ls="--", label="train loss"),
                 plt.Line2D([], [], color="black", ls="-", label="validation loss / macro F1"),
                 plt.Line2D([], [], color="black", ls=":", marker="s", label="micro F1")]
        fig.legend(handles=keys, loc="upper left", bbox_to_anchor=(LEFT, TOP), ncol=5, frameon=False, fontsize=14,
                   handlelength=2.2, columnspacing=1.2)
    else:
        missing_box(fig, (0.1, 0.3, 0.8, 0.4), "results/hw1/frozen.json (history)", CMD["frozen"])

    # 7 whole-track activity maps, one track per slide (best, median and worst when there are more than three)
    tl = [t for t in (get(tracks, "tracks") or []) if isinstance(t, dict)]
    if not tl:
        missing_slide("Whole-track activity: prediction vs MIDI", "results/hw1/tracks.json", CMD["tracks"])
    srt = sorted(tl, key=lambda t: -(t.get("micro_f1") or 0))
    shown_tracks = srt if len(srt) <= 3 else [srt[0], srt[len(srt) // 2], srt[-1]]
    for t in shown_tracks:
        name = str(t.get("name", "?"))
        fig = new_slide(f"Whole-track activity: {name}, prediction vs MIDI", res("tracks.json"), trk_prov)
        cap = (f"{count(t.get('L'))} windows of {CLIP_S} s; micro F1 {f3(t.get('micro_f1'))}, macro F1 "
               f"{f3(t.get('macro_f1'))}" + (f"; {len(tl)} tracks in tracks.json, micro F1 "
                                              f"{f3(srt[-1].get('micro_f1'))} to {f3(srt[0].get('micro_f1'))}"
                                              if len(tl) > 1 else ""))
        tnames = get(tracks, "class_names") or names
        if t.get("gt") is not None and t.get("pred") is not None and tnames:
            activity(fig, (LEFT, BOTTOM, RIGHT - LEFT, TOP - BOTTOM), t["gt"], t["pred"], tnames, cap)
        else:   # an older tracks.json without the matrices: its saved figure, or what to run
            png = results_dir / Path(t.get("figure") or f"track_{name}.png").name
            fig.text(LEFT, TOP - 0.01, plain(cap), size=16, va="top")
            if png.is_file():
                image(fig, (LEFT, BOTTOM, RIGHT - LEFT, TOP - BOTTOM - 0.08), png)
            else:
                missing_box(fig, (0.1, 0.3, 0.8, 0.35), f"results/hw1/{png.name} (and gt/pred in tracks.json)",
                            CMD["tracks"])

    # 8 what we learned
    fig = new_slide("What we learned", all_files, all_prov)
    learned = []
    if cls:
        hi, lo = max(cls, key=lambda t: t[1]), min(cls, key=lambda t: t[1])
        line = (f"Easiest class on test: {hi[0]} (F1 {f3(hi[1])}, support {count(hi[2])}); hardest: {lo[0]} "
                f"(F1 {f3(lo[1])}, support {count(lo[2])}).")
        sup = np.array([float(c[2] or 0) for c in cls])
        f1s = np.array([c[1] for c in cls])
        if len(cls) >= 4 and sup.min() > 0 and sup.std() > 0 and f1s.std() > 0:
            r = float(np.corrcoef(np.log(sup), f1s)[0, 1])
            line += (f" F1 rises with the number of test clips of a class (correlation {r:+.2f} between F1 and log "
                     f"support over {len(cls)} classes): the probe learns frequent instruments best." if r >= 0.3
                     else f" F1 does not follow class frequency (correlation {r:+.2f} between F1 and log support "
                          f"over {len(cls)} classes): some rare instruments are easy, some frequent ones hard.")
        learned.append(line)
        ma, mi = get(rep, "macro avg", "f1-score"), get(rep, "micro avg", "f1-score")
        if ma is not None and mi is not None:
            learned.append(f"Test macro F1 {f3(ma)} vs micro F1 {f3(mi)}: "
                           + ("the frequent classes score higher, so the pooled (micro) score is the optimistic one."
                              if mi > ma + 0.01 else
                              "the rare classes score higher than the frequent ones." if ma > mi + 0.01 else
                              "the classes score alike whatever their frequency."))
    if d_ft is not None:
        learned.append(f"Fine-tuning the encoder changes validation macro F1 by {d_ft:+.3f} for "
                       f"{secs(get(ft, 'train_time_s'))} instead of {secs(get(fr, 'train_time_s'))} of training: "
                       + ("adapting the representation to mixtures pays off." if d_ft > 0 else
                          "the frozen features already hold what the probe needs."))
    d_used = dict(runs_).get(used)
    if d_used and get(d_used, "val", "macro_f1") is not None and rep:
        gap = get(d_used, "val", "macro_f1") - get(rep, "macro avg", "f1-score")
        learned.append(f"{used}: validation macro F1 {f3(get(d_used, 'val', 'macro_f1'))} vs test "
                       f"{f3(get(rep, 'macro avg', 'f1-score'))} ({-gap:+.3f})"
                       + ("; thresholds and epoch were tuned on validation, so some optimism there is expected."
                          if gap > 0 else "; the validation choices carry over to the test split."))
    edge = wrong = 0
    for t in tl:
        if t.get("gt") is None or t.get("pred") is None:
            continue
        gt, pred = np.asarray(t["gt"]).astype(bool), np.asarray(t["pred"]).astype(bool)
        # a cell is at an edge when a time neighbour has the other ground-truth state (an entry or exit)
        pad = np.pad(gt, ((0, 0), (1, 1)), mode="edge")
        at_edge = (pad[:, :-2] != gt) | (pad[:, 2:] != gt)
        wrong += int((gt != pred).sum())
        edge += int(((gt != pred) & at_edge).sum())
    if wrong:
        learned.append(f"Whole tracks: {edge} of {wrong} wrong windows ({pct(edge / wrong)}) sit where an "
                       f"instrument enters or leaves in the MIDI; there a {CLIP_S} s window holds only part of a "
                       f"note, so its label depends on a fraction of a second of sound.")
    learned.append("Limits: one seed per configuration"
                   + ("; numbers on rendered proxy data show that the pipeline works end to end, not how it scores "
                      "on the real Slakh data." if data_kind(main or inf) == "proxy" else "."))
    bullets_box(fig, (LEFT, BOTTOM + 0.01, RIGHT - LEFT, TOP - BOTTOM - 0.02), learned, size=17, min_size=13)

# -----------------------------------------------------------------------------

try:
    hw0() if args.hw == 0 else hw1()
except (TypeError, ValueError, KeyError, AttributeError, IndexError) as e:   # a field of the wrong type or shape
    sys.exit(f"error: a results JSON in {results_dir} ({', '.join(loaded)}) does not follow the results schema "
             f"({type(e).__name__}: {' '.join(str(e).split())[:120]}); re-run the script that wrote it")
out_path.parent.mkdir(parents=True, exist_ok=True)
with PdfPages(out_path) as pdf:
    for fig in slides:
        for t in fig.findobj(matplotlib.text.Text):   # last guard: no machine path reaches the page
            if ABS_PATH.search(t.get_text()):
                t.set_text(shown(t.get_text()))
        pdf.savefig(fig)
        plt.close(fig)
    info = pdf.infodict()
    info["Title"] = f"HW{args.hw} report"
    info["Author"] = author["name"]
print(f"wrote {out_path} ({len(slides)} slides) from {results_dir}")
