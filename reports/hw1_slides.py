"""
HW1 report content (Slakh instrument activity with MERT): one function per slide, every number read from results/hw1.

    1 cover                      frozen.json, finetune.json (data counts), inference.json
    2 approach                   frozen.json, finetune.json (encoder, pooling, layer weights, commands)
    3 results at a glance        frozen.json, finetune.json (val / test F1), inference.json (report)
    4 classification report      inference.json (report)
    5 layer weights, thresholds  frozen.json, finetune.json (layer_weights, thresholds, val.per_class_f1)
    6 training curves            frozen.json, finetune.json (history, best_epoch)
    7 whole-track activity       tracks.json (gt, pred per track; the best, median and worst track)
    8 what we learned            all of the above

A missing results file gives a box naming the command that writes it.
"""
from pathlib import Path

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

import results as R
import slides as S
from results import count, f2, f3, get, pct, secs
from slides import BOTTOM, LEFT, RIGHT, TOP, H

CMD = {"frozen": "python hw1/finetune_mert.py --data_root data/slakh (frozen MERT features + probe; writes "
                 "results/hw1/frozen.json)",
       "finetune": "python hw1/finetune_mert.py --data_root data/slakh --finetune (writes results/hw1/finetune.json)",
       "inference": "python hw1/inference.py --test_dir data/slakh/test --out_dir results/hw1 "
                    "(writes results/hw1/inference.json)",
       "tracks": "python hw1/inference.py --test_track_dir data/test_track --out_dir results/hw1 (writes tracks.json "
                 "and track_<name>.png)"}
AGREEMENT = [("agree: inactive", "#ffffff"), ("TP: both active", "#4d4d4d"),
             ("FP: predicted, not in MIDI", "#e69f00"), ("FN: in MIDI, missed", "#0072b2")]  # as hw1/utils.py
CLIP_S = 5  # HW1 activity windows are 5 s long (the course definition)
COLOURS = {"frozen": S.DARK, "finetune": S.ORANGE}


def slide(title, names, extra=()):
    """A slide whose numbers come from these results files (only those read are named); footer and red checkpoint
    line follow from them."""
    labels = [R.label(n) for n in names if R.label(n) in R.seen]
    return S.new_slide(title, labels + [R.label(n) for n in extra], R.data_of(labels), R.marks_of(labels))


def build(results_dir, author):
    r = {"author": author, "results_dir": results_dir}
    r["runs"] = [(k, R.load(f"{k}.json", f"{k}.pt")) for k in ("frozen", "finetune")]
    r["fr"], r["ft"] = r["runs"][0][1], r["runs"][1][1]
    r["inf"], r["tracks"] = R.load("inference.json", True), R.load("tracks.json", True)
    r["present"] = [(k, d) for k, d in r["runs"] if d is not None]
    r["run_files"] = [f"{k}.json" for k, _ in r["present"]]
    r["main"] = next((d for _, d in r["present"]), None)
    r["rep"] = get(r["inf"], "report") or {}
    rep = r["rep"]
    r["names"] = (get(r["main"], "class_names") or get(r["inf"], "class_names") or get(r["tracks"], "class_names")
                  or [k for k in rep if not k.endswith("avg")] or None)
    val = {k: get(d, "val", "macro_f1") for k, d in r["runs"]}
    r["d_ft"] = val["finetune"] - val["frozen"] if None not in val.values() else None
    r["used"] = get(r["inf"], "mode") or ("finetune" if "finetune" in str(get(r["inf"], "checkpoint")) else "frozen")
    r["cls"] = [(c, get(rep, c, "f1-score"), get(rep, c, "support")) for c in (r["names"] or [])
                if get(rep, c, "f1-score") is not None]
    for make in (cover, approach, at_a_glance, report, probe, curves, tracks, learned):
        make(r)

# 1 ---------------------------------------------------------------------------


def clip_counts(d):
    """'1,200 train, 300 validation' from data.counts ({split: n} or {split: {"n": n, ...}}), or None."""
    counts = get(d, "data", "counts")
    if not isinstance(counts, dict):
        return None
    parts = []
    for split, v in counts.items():
        n = v.get("n") if isinstance(v, dict) else v
        if isinstance(n, (int, float)):
            parts.append(f"{count(n)} {split}")
    return ", ".join(parts) or None


def cover(r):
    main, inf = r["main"], r["inf"]
    fig = slide("HW1: Which instruments play in each 5 s of a Slakh mix?", r["run_files"] + ["inference.json"])
    S.text_box(fig, (0.06, 0.66, 0.88, 0.17), "A self-supervised music encoder (MERT), a learned mix of its layers "
               "and a small multi-label probe; frozen vs fine-tuned; whole-track activity maps against the MIDI.",
               size=22, min_size=16, color=S.ACCENT)
    a = r["author"]
    S.text_box(fig, (0.06, 0.44, 0.88, 0.2), f"Name: {a['name']}\nStudent ID: {a['student_id']}\n"
                                             f"Code: {a['code_link']}", size=20, min_size=14)
    lines = []
    if main or inf:
        lines.append(f"Trained and evaluated on {R.data_short(main or inf)}.")
        clips = clip_counts(main)
        lines.append(f"Clips: {clips}." if clips else "Clip counts per split: not recorded in the results.")
    else:
        lines.append("No results files were found: each result slide names the command that produces it.")
    S.bullets_box(fig, (0.06, BOTTOM + 0.01, 0.88, 0.28), lines, size=17, min_size=13, color=S.WARN)

# 2 ---------------------------------------------------------------------------


def approach(r):
    main, names = r["main"], r["names"]
    fig = slide("Approach: MERT features, a layer mix and a multi-label probe", r["run_files"])
    lw = get(main, "layer_weights") or []
    steps = [f"Encoder: {get(main, 'encoder') or 'MERT (not recorded yet)'}"
             + (f", revision {get(main, 'revision')}" if get(main, "revision") else "")
             + f"; each 5 s clip is pooled over time ({get(main, 'pooling') or 'pooling not recorded'}) in every "
               f"hidden layer.",
             "Learned layer mix: a softmax weight per hidden state lets the data decide which depth carries "
             "instrument identity"
             + (f"; the largest weight is on hidden state {int(np.argmax(lw))} of {len(lw)} ({f3(max(lw))})."
                if lw else "."),
             f"Probe: a small MLP with one sigmoid per class ({len(names) if names else 'n/a'} classes), binary "
             f"cross-entropy, because several instruments sound at once.",
             "Per-class thresholds and the kept epoch are chosen on validation macro F1; the test split is used "
             "once, by hw1/inference.py.",
             "Frozen: features cached once, only the probe trains. Fine-tuned: the encoder's top layers train too."]
    cmds = [f"{k}: {R.clean_command(get(d, 'command'))}" for k, d in r["present"] if get(d, "command")]
    cut = 0.34 if cmds else BOTTOM
    S.bullets_box(fig, (LEFT, cut, RIGHT - LEFT, TOP - cut - 0.01), steps)
    if cmds:
        S.reproduce_box(fig, cut, cmds)

# 3 ---------------------------------------------------------------------------


def at_a_glance(r):
    inf, rep, fr, ft, d_ft = r["inf"], r["rep"], r["fr"], r["ft"], r["d_ft"]
    title = ("Results: macro and micro F1" if d_ft is None else
             "Results: fine-tuning leaves validation macro F1 unchanged" if f3(abs(d_ft)) == f3(0) else
             f"Results: fine-tuning changes validation macro F1 by {d_ft:+.3f}")
    fig = slide(title, r["run_files"] + ["inference.json"])
    groups = [(f"{k}\n{R.split_name(d, 'validation')}", get(d, "val", "macro_f1"), get(d, "val", "micro_f1"))
              for k, d in r["present"]]
    groups += [(f"{k}\n{R.split_name(d, 'test')}", get(d, "test", "macro_f1"), get(d, "test", "micro_f1"))
               for k, d in r["present"] if get(d, "test")]
    if inf and rep:
        groups.append((f"{r['used']}, inference\n{R.split_name(inf, 'test')}", get(rep, "macro avg", "f1-score"),
                       get(rep, "micro avg", "f1-score")))
    if not groups:
        for k, key in enumerate(("frozen", "finetune", "inference")):
            S.missing_box(fig, (0.08, 0.62 - 0.22 * k, 0.84, 0.19), f"results/hw1/{key}.json", CMD[key])
        return
    ax = S.axes_in(fig, (LEFT, BOTTOM, 0.6, TOP - BOTTOM), left=0.9, bottom=0.95, top=0.55, right=0.1)
    xs = np.arange(len(groups))
    for k, (lab, col) in enumerate((("macro F1", S.DARK), ("micro F1", S.MID))):
        vals = [g[1 + k] for g in groups]
        ax.bar(xs + (k - 0.5) * 0.36, [v or 0 for v in vals], 0.34, color=col, label=lab)
        for xx, v in zip(xs + (k - 0.5) * 0.36, vals):
            if v is not None:
                ax.text(xx, v + 0.01, f3(v), ha="center", va="bottom", size=13)
    ax.set_xticks(xs, [g[0] for g in groups], size=13)
    ax.set_ylim(0, 1.1)
    ax.set_yticks(np.arange(0, 1.01, 0.2))
    ax.set_ylabel("F1", size=S.LABEL_PT)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.02), ncol=2, frameon=False)   # above the bars, never on them
    S.style(ax)
    ax.grid(axis="x", visible=False)
    facts = []
    if d_ft is not None:
        facts.append(f"Fine-tuning: validation macro F1 {f3(get(fr, 'val', 'macro_f1'))} -> "
                     f"{f3(get(ft, 'val', 'macro_f1'))} ({d_ft:+.3f}), at {secs(get(fr, 'train_time_s'))} vs "
                     f"{secs(get(ft, 'train_time_s'))} of training.")
    for k, d in r["present"]:
        if get(d, "test"):
            facts.append(f"{k}, test (--eval_test): macro F1 {f3(get(d, 'test', 'macro_f1'))}, micro F1 "
                         f"{f3(get(d, 'test', 'micro_f1'))} on {count(get(d, 'test', 'n'))} clips.")
    if rep:
        facts.append(f"hw1/inference.py ({S.shown(get(inf, 'checkpoint') or r['used'])}): test macro F1 "
                     f"{f3(get(rep, 'macro avg', 'f1-score'))}, micro F1 {f3(get(rep, 'micro avg', 'f1-score'))} on "
                     f"{count(get(inf, 'n'))} clips; thresholds from validation.")
        facts.append("Macro F1 averages the classes equally, micro F1 pools all decisions: the gap shows how much the "
                     "frequent classes carry the pooled score.")
    S.bullets_box(fig, (0.66, BOTTOM + 0.02, RIGHT - 0.66, TOP - BOTTOM - 0.04), facts, size=16, min_size=12)

# 4 ---------------------------------------------------------------------------


def report(r):
    inf, rep, names, cls = r["inf"], r["rep"], r["names"] or [], r["cls"]
    keys = [c for c in names if isinstance(rep.get(c), dict)] + \
        [k for k in rep if k not in names and isinstance(rep.get(k), dict)]
    if not keys:
        fig = slide("Test classification report", [])
        S.missing_box(fig, (0.1, 0.3, 0.8, 0.4), "results/hw1/inference.json (report)", CMD["inference"])
        return
    fig = slide(f"Test classification report ({count(get(inf, 'n'))} {R.split_name(inf, 'test')} clips)",
                ["inference.json"])
    rows = [[k, f3(get(rep, k, "precision")), f3(get(rep, k, "recall")), f3(get(rep, k, "f1-score")),
             count(get(rep, k, "support"))] for k in keys]
    n_cls = len([k for k in keys if k in names])
    S.table(fig, (LEFT, BOTTOM, 0.5, TOP - BOTTOM - 0.01), ["class", "precision", "recall", "F1", "support"], rows,
            size=17, min_size=12, align=["l", "r", "r", "r", "r"], bold_rows=range(n_cls, len(rows)))
    if cls:
        srt = sorted(cls, key=lambda t: -t[1])
        lab_w = max(S.text_w(c, 14) for c, _, _ in srt) + 0.2
        ax = S.axes_in(fig, (0.56, BOTTOM, RIGHT - 0.56, TOP - BOTTOM), left=lab_w, bottom=0.6, top=0.45, right=0.6)
        ax.barh(range(len(srt)), [v for _, v, _ in srt], color=S.DARK)
        for i, (c, v, s) in enumerate(srt):
            ax.text(v + 0.01, i, f3(v), va="center", size=13)
        ax.set_yticks(range(len(srt)), [c for c, _, _ in srt], size=14)
        ax.invert_yaxis()
        ax.set_xlim(0, 1.1)
        ax.set_xlabel("test F1 (best first)", size=14)
        ax.set_title("Per-class F1", size=16, loc="left")
        S.style(ax)

# 5 ---------------------------------------------------------------------------


def probe(r):
    present, names = r["present"], r["names"] or []
    fig = slide("What the probe learned: layer weights and per-class thresholds", r["run_files"])
    if not present:
        S.missing_box(fig, (0.1, 0.3, 0.8, 0.4), "results/hw1/frozen.json (layer weights, thresholds)", CMD["frozen"])
        return
    ax = S.axes_in(fig, (LEFT, BOTTOM, 0.4, TOP - BOTTOM), left=0.9, bottom=0.7, top=0.95, right=0.1)
    width = 0.8 / len(present)
    for j, (k, d) in enumerate(present):
        w_ = get(d, "layer_weights") or []
        ax.bar(np.arange(len(w_)) + (j - (len(present) - 1) / 2) * width, w_, width, color=COLOURS[k], label=k)
    ax.set_xlabel("hidden state (0 = input embedding)", size=14)
    ax.set_ylabel("softmax weight", size=14)
    ax.set_title("Learned layer mix", size=16, loc="left", pad=36)
    ax.legend(frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2)   # between title and bars
    S.style(ax)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    hdr = ["class"] + [f"threshold {k}" for k, _ in present] + [f"val F1 {k}" for k, _ in present]
    rows = []
    for i, c in enumerate(names):
        row = [c]
        for key in ("thresholds", "per_class_f1"):
            for k, d in present:
                v = (get(d, "thresholds") if key == "thresholds" else get(d, "val", "per_class_f1")) or []
                row.append((f2 if key == "thresholds" else f3)(v[i]) if i < len(v) else "n/a")
        rows.append(row)
    rest, _ = S.table(fig, (0.46, BOTTOM, RIGHT - 0.46, TOP - BOTTOM - 0.01), hdr, rows, size=17,
                      align=["l"] + ["r"] * (len(hdr) - 1))
    while rest:   # a table is continued, never cut
        fig = slide("Per-class thresholds (continued)", r["run_files"])
        rest, _ = S.table(fig, (LEFT, BOTTOM, RIGHT - LEFT, TOP - BOTTOM), hdr, rest,
                          align=["l"] + ["r"] * (len(hdr) - 1))

# 6 ---------------------------------------------------------------------------


def curves(r):
    fig = slide("Training curves: loss and validation F1 per epoch", r["run_files"])
    hs = [(k, get(d, "history") or [], d) for k, d in r["present"]]
    if not any(h for _, h, _ in hs):
        S.missing_box(fig, (0.1, 0.3, 0.8, 0.4), "results/hw1/frozen.json (history)", CMD["frozen"])
        return
    axl = S.axes_in(fig, (LEFT, BOTTOM, 0.46, TOP - BOTTOM), left=0.95, bottom=0.6, top=0.95, right=0.1)
    axf = S.axes_in(fig, (0.51, BOTTOM, RIGHT - 0.51, TOP - BOTTOM), left=0.95, bottom=0.6, top=0.95, right=0.1)
    for k, h, d in hs:
        col = COLOURS[k]
        ep = [e.get("epoch", i + 1) for i, e in enumerate(h)]
        axl.plot(ep, [e.get("train_loss") for e in h], "--", marker="o", color=col)
        axl.plot(ep, [e.get("val_loss") for e in h], "-", marker="o", color=col)
        axf.plot(ep, [e.get("val_macro_f1") for e in h], "-", marker="o", color=col)
        if any(e.get("val_micro_f1") is not None for e in h):
            axf.plot(ep, [e.get("val_micro_f1") for e in h], ":", marker="s", color=col)
        if get(d, "best_epoch"):
            axf.axvline(get(d, "best_epoch"), color=col, ls="--", lw=1)
    axl.set_title("binary cross-entropy", size=16, loc="left")
    axf.set_title(f"{R.split_name(r['main'], 'validation')} F1 (dashed: kept epoch)", size=16, loc="left")
    for a in (axl, axf):
        a.set_xlabel("epoch", size=S.LABEL_PT)
        a.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        S.style(a)
    keys = [plt.Line2D([], [], color=COLOURS[k], lw=3, label=k) for k, _, _ in hs]
    keys += [plt.Line2D([], [], color="black", ls="--", label="train loss"),
             plt.Line2D([], [], color="black", ls="-", label="validation loss / macro F1"),
             plt.Line2D([], [], color="black", ls=":", marker="s", label="micro F1")]
    fig.legend(handles=keys, loc="upper left", bbox_to_anchor=(LEFT, TOP), ncol=5, frameon=False, fontsize=14,
               handlelength=2.2, columnspacing=1.2)

# 7 ---------------------------------------------------------------------------


def activity(fig, rect, gt, pred, names, title):
    """A whole track's ground truth vs prediction, one cell per (class, 5 s window), coloured by agreement."""
    gt, pred = np.asarray(gt).astype(bool), np.asarray(pred).astype(bool)
    codes = np.select([gt & pred, pred & ~gt, gt & ~pred], [1, 2, 3], 0)
    n, L = codes.shape
    name_w = max(S.text_w(s, S.TICK_PT) for s in names)
    cap, cap_pt = S.fit_lines(title, (0, 0, rect[2], 0.12), 16, 13)
    cap_h = len(cap) * 1.3 * cap_pt / 72 + 0.1
    S.draw_lines(fig, rect[0], rect[1] + rect[3], cap, cap_pt)
    ax = S.axes_in(fig, rect, left=name_w + 0.25, bottom=1.55, top=cap_h + 0.05, right=0.15)
    ax.imshow(codes, aspect="auto", interpolation="nearest", cmap=ListedColormap([c for _, c in AGREEMENT]),
              vmin=-0.5, vmax=3.5, extent=[0, L * CLIP_S, n - 0.5, -0.5])
    ax.set_xticks(np.arange(L + 1) * CLIP_S, minor=True)
    ax.set_yticks(np.arange(n + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="#bbbbbb", lw=0.6)
    ax.tick_params(which="minor", length=0)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(12, integer=True))
    ax.set_yticks(range(n), names, size=S.TICK_PT)
    ax.set_xlabel(f"time (s); one cell = one {CLIP_S} s window", size=S.LABEL_PT)
    cnt = {k: int((codes == c).sum()) for k, c in (("TP", 1), ("FP", 2), ("FN", 3))}
    handles = [Patch(facecolor=c, edgecolor="#888888", label=lab + (f" ({cnt[lab[:2]]})" if lab[:2] in cnt else ""))
               for lab, c in AGREEMENT]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, -0.55 / (ax.get_position().height * H) - 0.02),
              ncol=2, frameon=False, fontsize=14)
    return cnt


def tracks(r):
    tr = r["tracks"]
    tl = [t for t in (get(tr, "tracks") or []) if isinstance(t, dict)]
    if not tl:
        fig = slide("Whole-track activity: prediction vs MIDI", [])
        S.missing_box(fig, (0.1, 0.3, 0.8, 0.4), "results/hw1/tracks.json", CMD["tracks"])
        return
    srt = sorted(tl, key=lambda t: -(t.get("micro_f1") or 0))
    for t in (srt if len(srt) <= 3 else [srt[0], srt[len(srt) // 2], srt[-1]]):   # best, median, worst
        name = str(t.get("name", "?"))
        fig = slide(f"Whole-track activity: {name}, prediction vs MIDI", ["tracks.json"])
        cap = (f"{count(t.get('L'))} windows of {CLIP_S} s; micro F1 {f3(t.get('micro_f1'))}, macro F1 "
               f"{f3(t.get('macro_f1'))}" + (f"; {len(tl)} tracks in tracks.json, micro F1 "
                                              f"{f3(srt[-1].get('micro_f1'))} to {f3(srt[0].get('micro_f1'))}"
                                              if len(tl) > 1 else ""))
        names = get(tr, "class_names") or r["names"]
        if t.get("gt") is not None and t.get("pred") is not None and names:
            activity(fig, (LEFT, BOTTOM, RIGHT - LEFT, TOP - BOTTOM), t["gt"], t["pred"], names, cap)
            continue
        png = r["results_dir"] / Path(t.get("figure") or f"track_{name}.png").name   # an older tracks.json
        fig.text(LEFT, TOP - 0.01, S.plain(cap), size=16, va="top")
        if png.is_file():
            S.image(fig, (LEFT, BOTTOM, RIGHT - LEFT, TOP - BOTTOM - 0.08), png)
        else:
            S.missing_box(fig, (0.1, 0.3, 0.8, 0.35), f"results/hw1/{png.name} (and gt/pred in tracks.json)",
                          CMD["tracks"])

# 8 ---------------------------------------------------------------------------


def learned(r):
    cls, rep, fr, ft, d_ft = r["cls"], r["rep"], r["fr"], r["ft"], r["d_ft"]
    fig = slide("What we learned", r["run_files"] + ["inference.json", "tracks.json"])
    out = []
    if cls:
        hi, lo = max(cls, key=lambda t: t[1]), min(cls, key=lambda t: t[1])
        line = (f"Easiest class on test: {hi[0]} (F1 {f3(hi[1])}, support {count(hi[2])}); hardest: {lo[0]} "
                f"(F1 {f3(lo[1])}, support {count(lo[2])}).")
        sup = np.array([float(c[2] or 0) for c in cls])
        f1s = np.array([c[1] for c in cls])
        if len(cls) >= 4 and sup.min() > 0 and sup.std() > 0 and f1s.std() > 0:
            c = float(np.corrcoef(np.log(sup), f1s)[0, 1])
            line += (f" F1 rises with the number of test clips of a class (correlation {c:+.2f} between F1 and log "
                     f"support over {len(cls)} classes): the probe learns frequent instruments best." if c >= 0.3
                     else f" F1 does not follow class frequency (correlation {c:+.2f} between F1 and log support "
                          f"over {len(cls)} classes): some rare instruments are easy, some frequent ones hard.")
        out.append(line)
        ma, mi = get(rep, "macro avg", "f1-score"), get(rep, "micro avg", "f1-score")
        if ma is not None and mi is not None:
            out.append(f"Test macro F1 {f3(ma)} vs micro F1 {f3(mi)}: "
                       + ("the classes score alike whatever their frequency." if abs(mi - ma) <= 0.01 else
                          "the frequent classes score higher, so the pooled (micro) score is the optimistic one."
                          if mi > ma else "the rare classes score higher than the frequent ones."))
    if d_ft is not None:
        t_ft, t_fr = secs(get(ft, "train_time_s")), secs(get(fr, "train_time_s"))
        out.append(f"Fine-tuning the encoder: validation macro F1 "
                   f"{R.trend(get(fr, 'val', 'macro_f1'), get(ft, 'val', 'macro_f1'), f3)}, for "
                   + (f"the same training time ({t_ft})" if t_ft == t_fr else f"{t_ft} instead of {t_fr} of training")
                   + (": adapting the representation to mixtures pays off." if f3(d_ft) != f3(0) and d_ft > 0 else
                      ": the frozen features already hold what the probe needs."))
    d_used = dict(r["runs"]).get(r["used"])
    if d_used and get(d_used, "val", "macro_f1") is not None and rep:
        gap = get(d_used, "val", "macro_f1") - get(rep, "macro avg", "f1-score")
        out.append(f"{r['used']}: validation macro F1 {f3(get(d_used, 'val', 'macro_f1'))} vs test "
                   f"{f3(get(rep, 'macro avg', 'f1-score'))} ({-gap:+.3f})"
                   + ("; thresholds and epoch were tuned on validation, so some optimism there is expected."
                      if gap > 0 else "; the validation choices carry over to the test split."))
    edge = wrong = 0
    for t in (get(r["tracks"], "tracks") or []):
        if not isinstance(t, dict) or t.get("gt") is None or t.get("pred") is None:
            continue
        gt, pred = np.asarray(t["gt"]).astype(bool), np.asarray(t["pred"]).astype(bool)
        # a cell is at an edge when a time neighbour has the other ground-truth state (an entry or exit)
        pad = np.pad(gt, ((0, 0), (1, 1)), mode="edge")
        at_edge = (pad[:, :-2] != gt) | (pad[:, 2:] != gt)
        wrong += int((gt != pred).sum())
        edge += int(((gt != pred) & at_edge).sum())
    if wrong:
        out.append(f"Whole tracks: {edge} of {wrong} wrong windows ({pct(edge / wrong)}) sit where an instrument "
                   f"enters or leaves in the MIDI; there a {CLIP_S} s window holds only part of a note, so its label "
                   f"depends on a fraction of a second of sound.")
    kind = R.data_kind(r["main"] or r["inf"]) if (r["main"] or r["inf"]) else None
    out.append("Limits: one seed per configuration"
               + ("; numbers on rendered stand-ins show that the pipeline works end to end, not how it scores on the "
                  "real Slakh data." if kind == "proxy" else
                  "; the data's origin is not recorded (no provenance starting 'genuine' or 'rendered')."
                  if kind == "unknown" else "."))
    S.bullets_box(fig, (LEFT, BOTTOM + 0.01, RIGHT - LEFT, TOP - BOTTOM - 0.02), out, size=17, min_size=13)
