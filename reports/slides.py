"""
Slide layout for the homework reports: 16:9 pages (13.333 x 7.5 in) drawn with matplotlib and written with PdfPages.

Every slide has a title band, a content area and a footer naming the results files its numbers come from and the
data they were measured on; a slide whose numbers do not come from the shipped checkpoint gets a red line above the
footer. Text is measured (not guessed) so that it wraps and shrinks to fit its box; tables continue on a new slide
rather than being clipped. What a homework says lives in hw0_slides.py / hw1_slides.py; this file only draws.
"""
import functools
import re
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import matplotlib.text
import numpy as np
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Rectangle

REPO = Path(__file__).resolve().parents[1]
W, H = 13.333, 7.5
TITLE_PT, BODY_PT, MIN_BODY_PT, TABLE_PT, MIN_TABLE_PT, FOOT_PT, MARK_PT = 28, 18, 14, 16, 12, 10, 13
TICK_PT, LABEL_PT = 14, 15
TOP, BOTTOM, LEFT, RIGHT = 0.865, 0.155, 0.035, 0.965   # content area (figure fractions)
MARK_Y = (0.085, 0.145)                                 # band for the red checkpoint line, between content and footer
ACCENT, GREY, WARN = "#1f3b5c", "#555555", "#c0392b"
DARK, MID, LIGHT, ORANGE = "#1f3b5c", "#5b8cc0", "#b9cde6", "#d95f02"
plt.rcParams.update({"pdf.fonttype": 42, "font.family": "DejaVu Sans", "text.usetex": False,
                     "axes.titlesize": 16, "axes.labelsize": LABEL_PT, "xtick.labelsize": TICK_PT,
                     "ytick.labelsize": TICK_PT, "legend.fontsize": 14})
_measure = RendererAgg(int(W * 72), int(H * 72), 72)  # at 72 dpi one pixel is one point
pages = []  # figures in order; write_pdf saves them

# -----------------------------------------------------------------------------
# what the reader may see: repository-relative paths, never the build machine's

ABS_PATH = re.compile(r"(?<![\w.~/-])/(?:[\w.+-]+/)+[\w.+-]*")


def shown(s):
    """Absolute paths -> repository-relative ones (outside the repository: DATA/<last two parts>)."""
    def rel(m):
        p = Path(m.group(0))
        try:
            return p.relative_to(REPO).as_posix()
        except ValueError:
            return "DATA/" + "/".join(p.parts[-2:])
    return ABS_PATH.sub(rel, str(s))


def plain(s):  # text from a JSON must not trigger mathtext, and never shows a machine path
    return shown(s).replace("$", r"\$")

# -----------------------------------------------------------------------------
# measured text


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
        line = ""
        for w in para.split(" "):
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
    """Bullets with a hanging indent and a half-line gap between them, at the largest font that fits rect.
    An item may be (text, colour)."""
    x, y, w, h = rect
    items = [it if isinstance(it, tuple) else (it, color) for it in items if it]
    for sz in range(int(size), int(min_size) - 1, -1):
        indent = 1.2 * sz / 72
        wrapped = [wrap(s, w * W - indent, sz) for s, _ in items]
        line_h = 1.3 * sz / 72
        if (sum(map(len, wrapped)) + 0.5 * (len(items) - 1)) * line_h <= h * H:
            break
    else:   # still too tall at min_size: drop whole lines from the end rather than draw past the box
        budget, kept = h * H / line_h, []
        for lines in wrapped:
            if int(budget) <= 0:
                break
            kept.append(lines[:int(budget)])
            budget -= len(kept[-1]) + 0.5
        wrapped = kept
    top = y + h
    for lines, (_, col) in zip(wrapped, items):
        fig.text(x, top, "\u2022", size=sz, va="top", color=ACCENT)
        top = draw_lines(fig, x + indent / W, top, lines, sz, color=col) - 0.5 * line_h / H
    return sz

# -----------------------------------------------------------------------------
# a slide: title band, footer, checkpoint mark


def new_slide(title, files, data, marks=()):
    """files: the results files the slide's numbers come from; data: what they were measured on;
    marks: red warnings (results that do not match the shipped checkpoint), drawn above the footer."""
    fig = plt.figure(figsize=(W, H))
    size = TITLE_PT
    while size > 20 and text_w(title, size, bold=True) > (RIGHT - LEFT) * W:
        size -= 1
    fig.text(LEFT, 0.935, plain(title), size=size, weight="bold", va="center", color=ACCENT)
    fig.add_artist(plt.Line2D([LEFT, RIGHT], [0.885, 0.885], color=ACCENT, lw=1.5))
    if marks:
        rect = (LEFT, MARK_Y[0], RIGHT - LEFT, MARK_Y[1] - MARK_Y[0])
        text_box(fig, rect, " ".join(marks), size=MARK_PT, min_size=10, bold=True, color=WARN)
    src = ("Numbers from " + ", ".join(files) + ". " if files else "") + "Data: " + data
    foot = wrap(src, 0.9 * W, FOOT_PT)
    if len(foot) > 2:
        foot = foot[:2]
        foot[1] = foot[1][:-3] + "..."
    draw_lines(fig, LEFT, 0.068, foot, FOOT_PT, pitch=1.25, color=GREY)
    fig.text(RIGHT, 0.045, str(len(pages) + 1), size=12, va="center", ha="right", color=GREY)
    pages.append(fig)
    return fig


def reproduce_box(fig, top, commands):
    """The commands that made a slide's numbers, under a small heading, between `top` and the footer."""
    fig.text(LEFT, top - 0.02, "Reproduce (from the repository root):", size=14, weight="bold", color=ACCENT,
             va="top")
    text_box(fig, (LEFT, BOTTOM + 0.005, RIGHT - LEFT, top - 0.06 - BOTTOM), "\n".join(commands), size=13,
             min_size=10, color="#333333")


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
    return fig

# -----------------------------------------------------------------------------
# tables


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
    """Draw a table at the top of rect (font shrinks to min_size); returns (rows that did not fit, height used as a
    figure fraction). align: per column 'l' or 'r' (numbers right-aligned)."""
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
    return rows[n_fit:], top / H

# -----------------------------------------------------------------------------
# images and plots


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


def confusion_margins(names, row_names=True):
    """(left, bottom, top) inches a confusion matrix needs around its cells for tick labels and titles."""
    name_w = max(text_w(s, TICK_PT) for s in names)
    return (name_w + 0.55 if row_names else 0.15), 0.87 * name_w + 0.75, 0.55   # x labels at 60 degrees


def confusion_side(rect, names, row_names=True):
    """The side (in) of the largest square matrix that fits rect with its labels."""
    left, bottom, top = confusion_margins(names, row_names)
    return min(rect[2] * W - left - 0.1, rect[3] * H - bottom - top)


def confusion(fig, rect, cm, names, title, row_names=True, side=None):
    """A confusion matrix at slide size: cells coloured by the row share (recall), every count written in.
    row_names=False leaves out the true-family labels (a second matrix beside a first that has them); side: cell
    area in inches (two matrices side by side get the same), default as large as rect allows."""
    m = np.asarray(cm, dtype=float)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"confusion matrix of shape {m.shape} is not square")
    n = len(m)
    names = list(names) if names and len(names) == n else [str(i) for i in range(n)]
    x, y, w, h = rect
    left, bottom, top = confusion_margins(names, row_names)
    side = side or confusion_side(rect, names, row_names)
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
    ax.set_xticks(range(n), names, rotation=60, ha="right", rotation_mode="anchor", size=TICK_PT)
    ax.set_yticks(range(n), names if row_names else [], size=TICK_PT)
    ax.tick_params(length=0)
    ax.set_xlabel("predicted family", size=LABEL_PT)
    if row_names:
        ax.set_ylabel("true family", size=LABEL_PT)
    ax.set_title(plain(title), size=16, pad=8)
    return ax

# -----------------------------------------------------------------------------


def write_pdf(path, title, author):
    """Save every slide made so far into one PDF; a machine path that slipped through is made relative here."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with PdfPages(path) as pdf:
        for fig in pages:
            for t in fig.findobj(matplotlib.text.Text):
                if ABS_PATH.search(t.get_text()):
                    t.set_text(shown(t.get_text()))
            pdf.savefig(fig)
            plt.close(fig)
        info = pdf.infodict()
        info["Title"] = title
        info["Author"] = author
    return len(pages)
