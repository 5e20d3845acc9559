"""
HW0 report content (NSynth instrument family): ten or eleven slides, one function each, every number read from results/hw0.

    1 cover                     ml.json, cnn_log.json, cnn_nolog.json (data counts)
    2 approach                  the same + genuine/inference_*.json (how many genuine notes)
    3 results at a glance       ml.json, cnn_log.json, cnn_nolog.json, inference_*.json, genuine/inference_*.json
    4 Task 1 grid               mel_grid.json + mel_grid.png
    5 Task 1 description        mel_grid.txt
    6 Task 2                    ml.json (+ inference_ml.json)
    7 Task 3 log vs linear      cnn_log.json, cnn_nolog.json
    8 training curves           cnn_log.json, cnn_nolog.json (history)
    9 genuine NSynth notes      genuine/inference_*.json whose provenance starts with "genuine"
   10 real recordings           leave_one_library_out.json (bench/hw0_select.py --lolo; only when it is there)
   11 what we learned           all of the above

A missing results file gives a box naming the command that writes it.
"""
import re

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np

import results as R
import slides as S
from results import count, f2, get, pct, pct_ci, points, trend
from slides import BOTTOM, LEFT, RIGHT, TOP, H, W

SPLITS = "--train_dir data/nsynth-subtrain --valid_dir data/nsynth-valid --test_dir data/nsynth-test"
CMD = {"mel": "python hw0/visualize_mel.py --data_dir data/nsynth-test --out_dir results/hw0 (writes mel_grid.png, "
              "mel_grid.txt and mel_grid.json)",
       "ml": f"python hw0/train_ml.py {SPLITS} --overwrite (writes results/hw0/ml.json)",
       "log": f"python hw0/train_cnn.py {SPLITS} --name cnn_log --overwrite (writes results/hw0/cnn_log.json)",
       "nolog": f"python hw0/train_cnn.py {SPLITS} --name cnn_nolog --no_log --peak_norm --overwrite (writes "
                f"results/hw0/cnn_nolog.json)",
       "genuine": "python hw0/inference.py --test_dir DATA/genuine-notes --checkpoint checkpoints/hw0/cnn_log.pt "
                  "--out_dir results/hw0/genuine --provenance \"genuine NSynth notes: ...\" (the same for "
                  "cnn_nolog.pt and ml.joblib); the provenance must start with 'genuine'"}
MODELS = [  # key, results file, shipped checkpoint, inference stem, label
    ("ml", "ml.json", "ml.joblib", "ml", "Task 2: features + classifier"),
    ("log", "cnn_log.json", "cnn_log.pt", "cnn_log", "Task 3: CNN, log-mel"),
    ("nolog", "cnn_nolog.json", "cnn_nolog.pt", "cnn_nolog", "Task 3: CNN, linear mel")]
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
FLAG_WHY = {  # what a recipe flag does, said where the two Task 3 models differ in it
    "--peak_norm": "each note is scaled to its own peak, so the input does not depend on the recording level, "
                   "which on a linear scale spans orders of magnitude; without it the linear-input CNN hardly learns",
    "--epochs": "a different training budget",
    "--pitch_channel": "a second input channel aligned on each note's pitch",
    "--mixup": "mixup of training notes",
    "--augment": "other training-time augmentation",
}
MEL_DB = (-80, 0)   # the fixed colour range hw0/visualize_mel.py draws the grid with (dB re. each note's maximum)
NSYNTH_SR = 16000   # NSynth audio: 16 kHz, so the mel axis runs to 8 kHz
NOTE_S = 4.0        # NSynth notes last 4 s


def slide(title, names, extra=()):
    """A slide whose numbers come from these results files (relative to results/hw0; only those read are named);
    extra: figures or text files that exist. Its footer and red checkpoint line follow from the files."""
    labels = [R.label(n) for n in names if R.label(n) in R.seen]
    return S.new_slide(title, labels + [R.label(n) for n in extra], R.data_of(labels), R.marks_of(labels))

# -----------------------------------------------------------------------------


def build(results_dir, author):
    r = {"author": author}
    r.update({key: R.load(fname, ckpt) for key, fname, ckpt, _, _ in MODELS})
    r["mel"] = R.load("mel_grid.json")
    # hw0/inference.py writes inference_<checkpoint name>.json; only the shipped checkpoints' files are reported
    r["inf"] = {stem: d for _, _, ckpt, stem, _ in MODELS if (d := R.load(f"inference_{stem}.json", ckpt))}
    gen = [(f"genuine/inference_{stem}.json", key, d) for key, _, ckpt, stem, _ in MODELS
           if (d := R.load(f"genuine/inference_{stem}.json", ckpt))]
    r["genuine"] = [g for g in gen if R.data_kind(g[2]) == "genuine"]
    r["not_genuine"] = [g for g in gen if R.data_kind(g[2]) != "genuine"]
    r["present"] = [m for m in MODELS if r[m[0]] is not None]
    r["main"] = r["log"] or r["nolog"] or r["ml"]
    r["names"] = next((get(r[m[0]], "class_names") for m in r["present"] if get(r[m[0]], "class_names")), None)
    r["clf"] = str(get(r["ml"], "model") or "classical classifier").replace("_", " ")
    txt = results_dir / "mel_grid.txt"
    r["mel_txt"] = txt.read_text(errors="replace").strip() if txt.is_file() else None
    r["mel_png"] = results_dir / "mel_grid.png" if (results_dir / "mel_grid.png").is_file() else None
    r["model_files"] = [f for _, f, _, _, _ in r["present"]]
    r["lolo"] = R.load("leave_one_library_out.json")
    r["paired"] = {key: d for key, _, _, stem, _ in MODELS if (d := R.load(f"genuine/paired_{stem}.json"))}
    for make in (cover, approach, at_a_glance, mel_grid, mel_reading, task2, task3, curves, genuine,
                 real_libraries, learned):
        make(r)


def label(r, key):
    return {"ml": f"Task 2: features + {r['clf']}", "log": "Task 3: CNN, log-mel input",
            "nolog": "Task 3: CNN, linear-mel input"}[key]


def short(r, key):
    return {"ml": f"Task 2 {r['clf']}", "log": "log-mel CNN", "nolog": "linear-mel CNN"}[key]


def reproduced(d, twin):
    """How a hw0/inference.py result compares with the training run's own test numbers."""
    if twin is None or get(d, "n") != get(twin, "test", "n"):
        return "."
    if pct(get(d, "top1")) == pct(get(twin, "test", "top1")):
        return ", as the training run reports."
    return f" (the training run measured {pct(get(twin, 'test', 'top1'))})."


def test_top1(r, key):
    return get(r[key], "test", "top1")

# 1 ---------------------------------------------------------------------------


def cover(r):
    fig = slide("HW0: Which instrument family plays this note?", r["model_files"])
    S.text_box(fig, (0.06, 0.66, 0.88, 0.17), "Eleven NSynth instrument families from 4 s notes: mel spectrograms "
               "(Task 1), hand-made features with a classical classifier (Task 2), and a CNN on mel spectrograms "
               "(Task 3).", size=22, min_size=16, color=S.ACCENT)
    a = r["author"]
    S.text_box(fig, (0.06, 0.44, 0.88, 0.2), f"Name: {a['name']}\nStudent ID: {a['student_id']}\n"
                                             f"Code: {a['code_link']}", size=20, min_size=14)
    main, lines = r["main"], []
    if main:
        lines.append(f"Models trained and tested on {R.data_short(main)}: {count(get(main, 'data', 'n_train'))} "
                     f"training, {count(get(main, 'data', 'n_valid'))} validation and {count(get(main, 'test', 'n'))} "
                     f"test notes.")
    else:
        lines.append("No results files were found: each result slide names the command that produces it.")
    if r["genuine"]:
        lines.append(f"Evaluated as well on {count(get(r['genuine'][0][2], 'n'))} genuine NSynth notes (slide 9).")
    else:
        lines.append("No results on genuine NSynth notes are in the results files, so no number in this report "
                     "measures the real dataset.")
    S.bullets_box(fig, (0.06, BOTTOM + 0.01, 0.88, 0.28), lines, size=17, min_size=13, color=S.WARN)

# 2 ---------------------------------------------------------------------------


def approach(r):
    ml, main = r["ml"], r["main"]
    fig = slide("Approach: data, features, models, evaluation", r["model_files"] + [g[0] for g in r["genuine"]])
    steps = []
    if main:
        steps.append(f"Data: {R.data_short(main)}; {count(get(main, 'data', 'n_train'))} training, "
                     f"{count(get(main, 'data', 'n_valid'))} validation and {count(get(main, 'test', 'n'))} test "
                     f"notes of 11 families, 4 s at 16 kHz"
                     + (f"; plus {count(get(r['genuine'][0][2], 'n'))} genuine NSynth notes, used only to evaluate."
                        if r["genuine"] else "."))
    if ml:
        cand = list(get(ml, "candidates") or {})
        std = re.search(r"standard|scaler", str(get(ml, "features")), re.I)
        steps.append(f"Task 2: {str(get(ml, 'features') or 'features not recorded').split(':')[0]} per note (listed "
                     f"on slide 6){', standardised with training statistics' if std else ''}; classifier: {r['clf']}"
                     + (f", chosen on validation among {', '.join(c.replace('_', ' ') for c in cand)}." if len(cand) > 1
                        else "."))
    else:
        steps.append(f"Task 2: no results yet (run: {CMD['ml'].split(' (')[0]}).")
    cnn = r["log"] or r["nolog"]
    if cnn:
        mel = get(cnn, "mel") if isinstance(get(cnn, "mel"), dict) else {}
        aug = get(cnn, "recipe", "augment")
        steps.append(f"Task 3: {get(cnn, 'model') or 'CNN'} on the whole note's mel spectrogram"
                     + (f" ({get(mel, 'n_mels')} mel bands, n_fft {get(mel, 'n_fft')}, hop {get(mel, 'hop_length')})"
                        if mel else "")
                     + f"; cross-entropy, {get(cnn, 'recipe', 'epochs') or 'n/a'} epochs"
                     + (" continuing from earlier weights (--init, trained on the rendered notes alone)"
                        if get(cnn, "recipe", "init") else "")
                     + (f", augmentation: {', '.join(map(str, aug))}" if aug else "")
                     + ". Trained once on log-mel and once on linear-mel input.")
    else:
        steps.append(f"Task 3: no results yet (run: {CMD['log'].split(' (')[0]}).")
    steps.append("Evaluation: top-1 and top-3 accuracy. Classifier, epoch and recipe are chosen on the validation "
                 "split; the test split is scored once per model. Intervals are 95 % Wilson intervals.")
    cmds = [f"{lab.split(':')[0]}: {R.clean_command(get(r[k], 'command'))}"
            for k, _, _, _, lab in r["present"] if get(r[k], "command")]
    cut = 0.36 if cmds else BOTTOM
    S.bullets_box(fig, (LEFT, cut, RIGHT - LEFT, TOP - cut - 0.01), steps, size=19, min_size=14)
    if cmds:
        S.reproduce_box(fig, cut, cmds)

# 3 ---------------------------------------------------------------------------


def at_a_glance(r):
    present = [m for m in r["present"] if test_top1(r, m[0]) is not None]
    files = r["model_files"] + [f"inference_{s}.json" for s in r["inf"]] + [g[0] for g in r["genuine"]]
    if not present:
        fig = slide("Results: accuracy of each model", files)
        for k, (key, fname, _, _, _) in enumerate(MODELS):
            if r[key] is None:
                S.missing_box(fig, (0.08, 0.62 - 0.22 * k, 0.84, 0.19), f"results/hw0/{fname}", CMD[key])
        return
    best = max(present, key=lambda m: test_top1(r, m[0]))
    main = r[best[0]]
    fig = slide(f"Results: {short(r, best[0])} best on the {R.split_name(main, 'test')} split",
                files)
    gen = {key: d for _, key, d in r["genuine"]}
    fig.text(LEFT, TOP - 0.005, S.plain(f"Validation and test splits: {R.data_short(main)}"
                                        + (f"; genuine: {count(get(r['genuine'][0][2], 'n'))} genuine NSynth notes"
                                           if gen else "")), size=15, va="top", color=S.GREY)
    head = ["model", "validation top-1", f"test top-1 (95{R.NBSP}% interval)", "test top-3", "test notes"]
    if gen:
        head.append(f"genuine top-1 (95{R.NBSP}% interval)")
    rows = []
    for key, _, _, _, _ in present:
        d = r[key]
        cell = pct_ci(get(d, "test", "top1"), get(d, "test", "n"))
        if R.data_kind(d) != R.data_kind(main):
            cell += f" ({R.KIND_WORD[R.data_kind(d)]})"
        row = [label(r, key), pct(get(d, "val", "top1")), cell, pct(get(d, "test", "top3")), count(get(d, "test", "n"))]
        if gen:
            row.append(pct_ci(get(gen[key], "top1"), get(gen[key], "n")) if key in gen else "not run")
        rows.append(row)
    _, used = S.table(fig, (LEFT, 0.4, RIGHT - LEFT, TOP - 0.06 - 0.4), head, rows, size=17, min_size=13,
                      align=["l"] + ["r"] * (len(head) - 1))
    facts = []
    for m in present:
        if m is best:
            continue
        a, b = get(main, "test"), get(r[m[0]], "test")
        ca, cb = R.wilson(a["top1"], a.get("n")), R.wilson(b["top1"], b.get("n"))
        overlap = ca and cb and ca[0] <= cb[1] and cb[0] <= ca[1]
        facts.append(f"{short(r, best[0])} vs {short(r, m[0])}: "
                     f"{points(a['top1'] - b['top1'])} test top-1"
                     + ("; the 95 % intervals overlap, so this gap is not clear at this test size." if overlap else
                        "; the 95 % intervals do not overlap."))
    for key, _, ckpt, stem, _ in MODELS:
        d, twin = r["inf"].get(stem), r[key]
        if d is None:
            continue
        facts.append(f"python hw0/inference.py with checkpoints/hw0/{ckpt}: top-1 {pct(get(d, 'top1'))} on "
                     f"{count(get(d, 'n'))} {R.split_name(d, 'test')} notes" + reproduced(d, twin))
    facts += [f"{label(r, key)}: not run yet (run: {CMD[key].split(' (')[0]})." for key, *_ in MODELS
              if r[key] is None]
    top = TOP - 0.06 - used - 0.04
    S.bullets_box(fig, (LEFT, BOTTOM + 0.01, RIGHT - LEFT, top - BOTTOM - 0.01), facts, size=17, min_size=13)

# 4 ---------------------------------------------------------------------------


def runs(mask, min_len):
    """(start, stop) of the True runs of a 1-D mask that are at least min_len long."""
    edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(int), 0]))
    return [(a, b) for a, b in zip(edges[::2], edges[1::2]) if b - a >= min_len]


def mel_panels(png):
    """The nine spectrogram panels of hw0/visualize_mel.py's 3 x 3 grid, cut out of its PNG (axes frame removed), or
    None when the image does not show such a grid."""
    img = mpimg.imread(str(png))
    if img.ndim != 3:
        return None
    img = img[..., :3]
    ink = (img < 0.97).any(-1)
    h_px, w_px = ink.shape
    cols = runs(ink.mean(0) > 0.4, 0.1 * w_px)   # the three panel columns (the colour bar is narrower)
    if len(cols) != 3:
        return None
    grid = [[None] * 3 for _ in range(3)]
    for j, (a, b) in enumerate(cols):
        rows = runs(ink[:, a:b].mean(1) > 0.5, 0.1 * h_px)
        if len(rows) != 3:
            return None
        for i, (r0, r1) in enumerate(rows):
            grid[i][j] = img[r0 + 2:r1 - 2, a + 2:b - 2]
    return grid


def midi_name(p):
    return f"{['C', 'C#', 'D', 'D#', 'E', 'F', 'F#', 'G', 'G#', 'A', 'A#', 'B'][p % 12]}{p // 12 - 1}"


def mel_grid(r):
    """Task 1's grid filling a slide: panels cut from mel_grid.png, rows and columns labelled from mel_grid.json."""
    mel, png = r["mel"], r["mel_png"]
    fams = get(mel, "families") or []
    title = ("Task 1: mel spectrograms of " + ", ".join(fams[:-1]) + f" and {fams[-1]}" if len(fams) >= 2
             else "Task 1: mel spectrograms of the instrument families")
    fig = slide(title, ["mel_grid.json"], ["mel_grid.png"] if png else [])
    if png is None:
        S.missing_box(fig, (0.1, 0.3, 0.8, 0.4), "results/hw0/mel_grid.png", CMD["mel"])
        return
    pitches = get(mel, "pitches")
    if isinstance(pitches, list):
        pitches = {f: pitches for f in fams}
    panels = mel_panels(png) if len(fams) == 3 and isinstance(pitches, dict) else None
    if panels is None:   # not the expected grid: the whole figure, as large as the slide allows
        S.image(fig, (LEFT, BOTTOM, RIGHT - LEFT, TOP - BOTTOM), png)
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
                         size=17, ha="center", va="bottom", weight="bold", color=S.ACCENT)
        fig.text(0.2 / W, (y1 - i * (ph + gap_y) - ph / 2) / H, fam, size=19, ha="left", va="center",
                 weight="bold", color=S.ACCENT, rotation=90)
    fig.text(0.82 / W, (y0 + y1) / 2 / H, "frequency (Hz, mel scale)", size=13, rotation=90, ha="center",
             va="center", color=S.GREY)
    cax = fig.add_axes(((x1 + 0.3) / W, y0 / H, 0.22 / W, (y1 - y0) / H))
    cb = fig.colorbar(plt.cm.ScalarMappable(cmap="magma", norm=plt.Normalize(*MEL_DB)), cax=cax)
    cb.ax.tick_params(labelsize=13)
    cb.set_label("dB re. each note's maximum", size=14)

# 5 ---------------------------------------------------------------------------


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


def mel_reading(r):
    desc = r["mel_txt"]
    fig = slide("Task 1: what the spectrograms show", ["mel_grid.json"], ["mel_grid.txt"] if desc else [])
    if not desc:
        S.missing_box(fig, (0.1, 0.3, 0.8, 0.4), "results/hw0/mel_grid.txt (the description)", CMD["mel"])
        return
    reading, rows = parse_mel_text(desc)
    if not rows:
        S.text_box(fig, (LEFT, BOTTOM, RIGHT - LEFT, TOP - BOTTOM - 0.02), desc, size=17, min_size=12)
        return
    S.bullets_box(fig, (LEFT, BOTTOM, 0.54, TOP - BOTTOM - 0.02), reading, size=17, min_size=13)
    fig.text(0.6, TOP - 0.01, "Measured on the nine notes of the grid", size=16, weight="bold", color=S.ACCENT,
             va="top")
    S.table(fig, (0.6, BOTTOM, RIGHT - 0.6, TOP - BOTTOM - 0.08),
            ["family", "MIDI", "centroid (Hz)", "attack (ms)", "decay (dB/s)"], rows, size=16,
            align=["l", "r", "r", "r", "r"])

# 6 ---------------------------------------------------------------------------


def task2(r):
    ml, inf = r["ml"], r["inf"].get("ml")
    if ml is None:
        fig = slide("Task 2: hand-made features + a classical classifier", [])
        S.missing_box(fig, (0.1, 0.3, 0.8, 0.4), "results/hw0/ml.json", CMD["ml"])
        return
    fig = slide(f"Task 2: hand-made features + {r['clf']}", ["ml.json"] + (["inference_ml.json"] if inf else []))
    feats = str(get(ml, "features") or "not recorded in ml.json")
    info = [feats if re.match(r"\d+ features", feats) else f"Features: {feats}"]
    cand = get(ml, "candidates") or {}
    if len(cand) > 1:
        info.append("Validation top-1 of the candidates: " + ", ".join(
            f"{k.replace('_', ' ')} {pct(get(v, 'val_top1'))}" for k, v in cand.items()) + f"; kept: {r['clf']}.")
    else:
        info.append(f"Classifier: {r['clf']}, {R.split_name(ml, 'validation')} top-1 {pct(get(ml, 'val', 'top1'))}.")
    if get(ml, "test", "top1") is not None:
        info.append(f"{R.split_name(ml, 'test').capitalize()}: top-1 "
                    f"{pct_ci(get(ml, 'test', 'top1'), get(ml, 'test', 'n'))}, top-3 {pct(get(ml, 'test', 'top3'))} "
                    f"on {count(get(ml, 'test', 'n'))} notes.")
    if inf:
        info.append(f"python hw0/inference.py --model ml: top-1 {pct(get(inf, 'top1'))} on {count(get(inf, 'n'))} "
                    f"{R.split_name(inf, 'test')} notes" + reproduced(inf, ml))
    S.bullets_box(fig, (LEFT, BOTTOM + 0.01, 0.40, TOP - BOTTOM - 0.02), info, size=17, min_size=13)
    cm, src = get(ml, "test", "confusion_matrix"), ml
    if not cm and inf:
        cm, src = get(inf, "confusion_matrix"), inf
    if cm:
        top1 = get(src, "test", "top1") if src is ml else get(src, "top1")
        n = get(src, "test", "n") if src is ml else get(src, "n")
        S.confusion(fig, (0.45, BOTTOM, RIGHT - 0.45, TOP - BOTTOM), cm, r["names"],
                    f"{R.split_name(src, 'test')}: top-1 {pct(top1)}, {count(n)} notes")
    else:
        S.text_box(fig, (0.5, 0.4, 0.45, 0.2), "No test confusion matrix in ml.json (test split not scored).")

# 7 ---------------------------------------------------------------------------


def off(v):
    return v is None or v is False or v == 0 or v == "" or v == []


def show_val(v):
    if isinstance(v, (list, tuple)):
        return "+".join(map(str, v)) if v else "none"
    return "on" if v is True else "off" if off(v) else str(v)


def recipe_differences(a, b):
    """{flag: (value in a, value in b)} where the two runs' recipes differ: the recipe and mel settings of the
    results JSON first, then any other flag of the recorded commands (apart from --no_log, the compared switch, and
    --init: each model continues from its own earlier weights)."""
    diffs, covered = {}, {"--init"}
    for block in ("recipe", "mel"):
        ra = get(a, block) if isinstance(get(a, block), dict) else {}
        rb = get(b, block) if isinstance(get(b, block), dict) else {}
        for k in dict.fromkeys(list(ra) + list(rb)):
            covered.add(f"--{k}")
            va, vb = ra.get(k), rb.get(k)
            if not (off(va) and off(vb)) and va != vb and f"--{k}" != "--init":
                diffs[f"--{k}"] = (va, vb)
    fa, fb = R.command_flags(get(a, "command")), R.command_flags(get(b, "command"))
    for flag in dict.fromkeys(list(fa) + list(fb)):
        if flag not in covered and flag != "--no_log" and fa.get(flag) != fb.get(flag):
            diffs[flag] = (fa.get(flag), fb.get(flag))
    return diffs


def recipe_sentence(log, nolog):
    if not (get(log, "recipe") or get(log, "command")) or not (get(nolog, "recipe") or get(nolog, "command")):
        return "Recipe: not recorded in both results files, so the two arms cannot be compared."
    diffs = recipe_differences(log, nolog)
    if not diffs:
        return "Same recipe for both models (recipe, mel settings and command agree apart from --no_log)."
    parts = []
    for flag, (va, vb) in diffs.items():
        if off(va) and not off(vb):
            what = f"the linear-mel model adds {flag}" + ("" if vb is True else f" {show_val(vb)}")
        elif off(vb) and not off(va):
            what = f"the log-mel model adds {flag}" + ("" if va is True else f" {show_val(va)}")
        else:
            what = f"{flag} {show_val(va)} (log-mel) vs {show_val(vb)} (linear mel)"
        parts.append(what + (f": {FLAG_WHY[flag]}" if flag in FLAG_WHY else ""))
    return "Recipe difference: " + "; ".join(parts) + ". So log vs linear is not the only difference."


def task3(r):
    log, nolog, names = r["log"], r["nolog"], r["names"]
    fig = slide("Task 3: log-mel vs linear-mel input", ["cnn_log.json", "cnn_nolog.json"])
    words = []
    arms = [(key, r[key]) for key in ("log", "nolog") if get(r[key], "test", "top1") is not None]
    if arms:
        words.append(f"{R.split_name(arms[0][1], 'test').capitalize()} top-1: " + ", ".join(
            f"{'log-mel' if k == 'log' else 'linear mel'} {pct_ci(get(d, 'test', 'top1'), get(d, 'test', 'n'))}"
            for k, d in arms)
            + (f": {points(test_top1(r, 'log') - test_top1(r, 'nolog'))} for log-mel." if len(arms) == 2 else "."))
    cms = [np.asarray(get(d, "test", "confusion_matrix"), dtype=float) if get(d, "test", "confusion_matrix") else None
           for d in (log, nolog)]
    if all(c is not None and len(c) == len(names or []) for c in cms):
        rec = [np.diag(c) / np.maximum(c.sum(axis=1), 1) for c in cms]
        i, j = int(np.argmax(rec[0] - rec[1])), int(np.argmin(rec[0] - rec[1]))
        line = f"Recall, linear -> log: largest gain {names[i]} ({pct(rec[1][i])} -> {pct(rec[0][i])})"
        if pct(rec[0][j]) != pct(rec[1][j]) and rec[0][j] < rec[1][j]:
            line += f", largest loss {names[j]} ({pct(rec[1][j])} -> {pct(rec[0][j])})"
        words.append(line + ".")
    if log and nolog:
        words.append(recipe_sentence(log, nolog))
    S.bullets_box(fig, (LEFT, BOTTOM + 0.01, 0.28, TOP - BOTTOM - 0.02), words, size=16, min_size=12)
    rects = ((0.32, BOTTOM, 0.38, TOP - BOTTOM), (0.70, BOTTOM, RIGHT - 0.70, TOP - BOTTOM))
    side = min(S.confusion_side(rects[0], names or ["?"], True), S.confusion_side(rects[1], names or ["?"], False))
    for (key, d, cm), rect, first in zip((("log", log, cms[0]), ("nolog", nolog, cms[1])), rects, (True, False)):
        if cm is None:
            S.missing_box(fig, (rect[0] + 0.01, 0.35, rect[2] - 0.02, 0.3),
                          f"results/hw0/{'cnn_log' if key == 'log' else 'cnn_nolog'}.json (test confusion matrix)",
                          CMD[key])
            continue
        S.confusion(fig, rect, cm, names, f"{'log-mel' if key == 'log' else 'linear mel'}: top-1 "
                                          f"{pct(get(d, 'test', 'top1'))}", row_names=first, side=side)

# 8 ---------------------------------------------------------------------------


def curve_words(d, name):
    """What one run's history shows, each change said only as precisely as it is shown."""
    h = [e for e in (get(d, "history") or []) if e.get("val_loss") is not None]
    if not h:
        return None
    first, last = h[0], h[-1]
    low = min(h, key=lambda e: e["val_loss"])
    s = f"{name}: training loss {trend(first.get('train_loss'), last.get('train_loss'), f2)} over " \
        f"{len(h)} epochs" if first.get("train_loss") is not None else f"{name}:"
    if low is last:
        s += f"; validation loss is lowest at the last epoch ({f2(low['val_loss'])})."
    else:
        t = trend(low["val_loss"], last["val_loss"], f2)
        s += (f"; validation loss is lowest at epoch {low['epoch']} ({f2(low['val_loss'])}) and "
              + (f"is {t} at epoch {last['epoch']}" if t.startswith("unchanged") else
                 f"rises to {f2(last['val_loss'])} by epoch {last['epoch']}"))
        if t.startswith("rises") and low.get("val_top1") is not None and last.get("val_top1") is not None:
            acc = trend(low["val_top1"], last["val_top1"], pct)
            s += f", while validation top-1 {'is ' if acc.startswith('unchanged') else ''}{acc}"
            s += (": more notes right, but the wrong ones more confidently wrong." if not acc.startswith("falls") else
                  ": both get worse while the training loss keeps falling, a sign of over-fitting.")
        else:
            s += "."
    best = get(d, "best_epoch")
    kept = next((e for e in h if e.get("epoch") == best), None)
    if kept and kept.get("val_top1") is not None:
        s += f" Kept: epoch {best} (validation top-1 {pct(kept['val_top1'])})."
    return s


def curves(r):
    runs_ = [(key, r[key], get(r[key], "history") or []) for key in ("log", "nolog")]
    fig = slide("Task 3: training curves", ["cnn_log.json", "cnn_nolog.json"])
    if not any(h for _, _, h in runs_):
        S.missing_box(fig, (0.1, 0.3, 0.8, 0.4), "results/hw0/cnn_log.json (training history)", CMD["log"])
        return
    axl = S.axes_in(fig, (LEFT, 0.52, 0.52, TOP - 0.52), left=0.95, bottom=0.15, top=0.45, right=0.1)
    axa = S.axes_in(fig, (LEFT, BOTTOM, 0.52, 0.52 - BOTTOM), left=0.95, bottom=0.62, top=0.1, right=0.1)
    colours = {"log": S.DARK, "nolog": S.ORANGE}
    for key, d, h in runs_:
        if not h:
            continue
        ep = [e.get("epoch", i + 1) for i, e in enumerate(h)]
        axl.plot(ep, [e.get("train_loss") for e in h], "--", color=colours[key], marker="o")
        axl.plot(ep, [e.get("val_loss") for e in h], "-", color=colours[key], marker="o")
        axa.plot(ep, [100 * (e.get("train_acc") or np.nan) for e in h], "--", color=colours[key], marker="o")
        axa.plot(ep, [100 * (e.get("val_top1") or np.nan) for e in h], "-", color=colours[key], marker="o")
        if get(d, "best_epoch"):
            axa.axvline(get(d, "best_epoch"), color=colours[key], ls=":", lw=1.5)
    axl.set_ylabel("cross-entropy loss", size=S.LABEL_PT)
    axa.set_ylabel("accuracy / top-1 (%)", size=S.LABEL_PT)
    axa.set_xlabel("epoch (dotted: kept epoch)", size=14)
    for a in (axl, axa):
        S.style(a)
        a.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    axl.tick_params(labelbottom=False)
    keys = [plt.Line2D([], [], color=colours[k], lw=3, label="log-mel" if k == "log" else "linear mel")
            for k, _, h in runs_ if h]
    keys += [plt.Line2D([], [], color="black", ls="--", label="train"),
             plt.Line2D([], [], color="black", ls="-", label=f"{R.KIND_WORD[R.data_kind(r['main'])]} validation")]
    axl.legend(handles=keys, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=4, frameon=False, fontsize=13,
               handlelength=1.6, columnspacing=1.0)
    words = [curve_words(r[k], "Log-mel" if k == "log" else "Linear mel") for k, _, h in runs_ if h]
    hl, hn = ({e.get("epoch"): e.get("val_top1") for e in (get(r[k], "history") or [])} for k in ("log", "nolog"))
    both = [e for e in hl if e in hn and hl[e] is not None and hn[e] is not None]
    if both:
        ahead = sum(1 for e in both if hl[e] > hn[e] and pct(hl[e]) != pct(hn[e]))   # ahead at shown precision
        words.append(f"Log-mel is ahead of linear mel on validation top-1 at {ahead} of {len(both)} epochs.")
    words.append("The kept epoch is chosen on validation top-1, never on the test split.")
    S.bullets_box(fig, (0.58, BOTTOM + 0.01, RIGHT - 0.58, TOP - BOTTOM - 0.02), [w for w in words if w], size=16,
                  min_size=13)

# 9 ---------------------------------------------------------------------------


def genuine(r):
    gen = r["genuine"]
    other = [g[0] for g in r["not_genuine"]]
    fig = slide("Evaluation on genuine NSynth notes", [g[0] for g in gen])
    if not gen:
        S.missing_box(fig, (0.08, 0.45, 0.84, 0.3), "results/hw0/genuine/inference_*.json measured on genuine "
                      "NSynth notes", CMD["genuine"])
        if other:
            S.text_box(fig, (0.08, BOTTOM + 0.02, 0.84, 0.25),
                       f"Not shown: {', '.join('results/hw0/' + o for o in other)}: their provenance does not start "
                       f"with 'genuine', so their data is unknown and is not called genuine.", size=16, min_size=12)
        return
    rows = [[short(r, key), pct_ci(get(d, "top1"), get(d, "n")), pct_ci(get(d, "top3"), get(d, "n")),
             count(get(d, "n"))] for _, key, d in gen]
    _, used = S.table(fig, (LEFT, 0.45, 0.5, TOP - 0.45), ["model", "top-1 (95 % interval)", "top-3 (95 % interval)",
                                                          "notes"], rows, size=16, min_size=12,
                      align=["l", "r", "r", "r"])
    n = get(gen[0][2], "n")
    words = []
    if n:
        words.append(f"One note is {100 / n:.1f} points of accuracy here ({count(n)} notes): differences of a few "
                     f"points are noise, as the wide intervals show.")
    for _, key, d in gen:
        twin = r[key]
        if key == "log" and get(twin, "test", "top1") is not None:
            words.append(f"The log-mel CNN scores {pct(get(twin, 'test', 'top1'))} on the "
                         f"{R.split_name(twin, 'test')} split and {pct(get(d, 'top1'))} here "
                         f"({points(get(d, 'top1') - get(twin, 'test', 'top1'))}): a measure of how far the training "
                         f"data is from real NSynth recordings.")
    if other:
        words.append(f"Not shown: {', '.join(other)} (provenance not 'genuine': unknown data).")
    S.bullets_box(fig, (LEFT, BOTTOM + 0.01, 0.5, TOP - used - BOTTOM - 0.05), words, size=16, min_size=12)
    shown = next((g for g in gen if g[1] == "log"), gen[0])
    cm = get(shown[2], "confusion_matrix")
    if cm:
        S.confusion(fig, (0.56, BOTTOM, RIGHT - 0.56, TOP - BOTTOM), cm, r["names"],
                    f"{short(r, shown[1])}: top-1 {pct(get(shown[2], 'top1'))}")

# 10 --------------------------------------------------------------------------


def lolo_row(r, key):
    """The leave-one-library-out block of this model's recipe (named after its checkpoint), or None."""
    stem = next(s for k, _, _, s, _ in MODELS if k == key)
    return get(r["lolo"], "ml" if key == "ml" else "cnn", stem, "lolo")


def real_libraries(r):
    """Leave-one-library-out on recorded sample libraries: the retrained recipe vs the previous checkpoint, which
    never heard any of the libraries, on the same notes."""
    rows_of = [(key, lolo_row(r, key)) for key, *_ in MODELS]
    rows_of = [(key, lo) for key, lo in rows_of if get(lo, "vs_baseline")]
    if not rows_of:
        return
    fig = slide("Real recordings: leave-one-library-out", ["leave_one_library_out.json"])
    head = ["model", "previous (95 % interval)", "retrained (95 % interval)", "difference (95 % interval)",
            "McNemar p", "notes"]
    rows = []
    for key, lo in rows_of:
        v = lo["vs_baseline"]
        rows.append([short(r, key), f"{pct(v['b'])} ({100 * v['b_ci'][0]:.1f}\u2013{100 * v['b_ci'][1]:.1f})",
                     f"{pct(v['a'])} ({100 * v['a_ci'][0]:.1f}\u2013{100 * v['a_ci'][1]:.1f})",
                     f"{points(v['diff'])} ({100 * v['diff_ci'][0]:+.1f} to {100 * v['diff_ci'][1]:+.1f})",
                     "<0.001" if v["mcnemar_p"] < 0.001 else f"{v['mcnemar_p']:.3f}", count(v["n"])])
    _, used = S.table(fig, (LEFT, 0.5, RIGHT - LEFT, TOP - 0.5), head, rows, size=15, min_size=12,
                      align=["l"] + ["r"] * (len(head) - 1))
    key, lo = rows_of[0]
    fams = [f for f in (r["names"] or []) if f in get(lo, "per_family")]
    words = [f"Every recorded sample library of the training split ({len(get(lo, 'per_library') or {})} libraries, "
             f"{count(get(lo, 'pooled', 'n'))} notes) is scored by a model trained without it; 'previous' is the "
             f"checkpoint trained before any library was added, on the same notes (paired: McNemar's test, "
             f"bootstrap interval of the difference).",
             f"{short(r, key)} per family, previous \u2192 retrained: " + ", ".join(
                 f"{f} {pct(get(lo, 'per_family', f, 'baseline_top1'))} \u2192 {pct(get(lo, 'per_family', f, 'top1'))}"
                 for f in fams) + "."]
    for k, d in r["paired"].items():
        words.append(f"Genuine NSynth notes, {short(r, k)}: previous {pct(d['b'])} \u2192 retrained {pct(d['a'])} "
                     f"({points(d['diff'])}, McNemar p {d['mcnemar_p']:.2f}, {count(d['n'])} notes).")
    S.bullets_box(fig, (LEFT, BOTTOM + 0.01, RIGHT - LEFT, TOP - used - BOTTOM - 0.05), words, size=15, min_size=11)

# 11 --------------------------------------------------------------------------


def learned(r):
    files = r["model_files"] + [g[0] for g in r["genuine"]]
    fig = slide("What we learned", files)
    ml, log, nolog, names = r["ml"], r["log"], r["nolog"], r["names"]
    out = []
    if test_top1(r, "ml") is not None and test_top1(r, "log") is not None:
        d = test_top1(r, "log") - test_top1(r, "ml")
        a, b = R.wilson(test_top1(r, "log"), get(log, "test", "n")), R.wilson(test_top1(r, "ml"), get(ml, "test", "n"))
        clear = a and b and (a[0] > b[1] or b[0] > a[1])
        (lead, a_), (behind, b_) = sorted([("log-mel CNN", test_top1(r, "log")),
                                           (f"Task 2 {r['clf']}", test_top1(r, "ml"))], key=lambda t: -t[1])
        out.append(f"Hand-made features vs a learned front end, on the {R.split_name(log, 'test')} split: {lead} "
                   f"{pct(a_)}, {behind} {pct(b_)}, a gap of {points(abs(d))[1:]}"
                   + ("; the 95 % intervals do not overlap." if clear else
                      "; the 95 % intervals overlap, so at this test size neither is clearly better."))
    if test_top1(r, "log") is not None and test_top1(r, "nolog") is not None:
        d = test_top1(r, "log") - test_top1(r, "nolog")
        diffs = recipe_differences(log, nolog)
        why = (" On a linear scale the few loudest partials dominate the input; dB brings up the quiet partials and "
               "noise that tell families apart." if d > 0 else "")
        out.append(f"Log compression: log-mel minus linear-mel input {points(d)} test top-1"
                   + (f" (the linear model also differs in {', '.join(diffs)})." if diffs else
                      ", with the same recipe.") + why)
    cm_src = next((d for d in (log, ml, nolog) if get(d, "test", "confusion_matrix")), None)
    cm = get(cm_src, "test", "confusion_matrix")
    if cm and names and len(cm) == len(names):
        m = np.asarray(cm, dtype=float)
        offd = m.copy()
        np.fill_diagonal(offd, 0)
        pairs = []
        for flat in np.argsort(offd, axis=None, kind="stable")[::-1][:2]:
            i, j = np.unravel_index(int(flat), offd.shape)
            if offd[i, j] > 0:
                why = FAMILY_PAIRS.get(frozenset((names[i], names[j])))
                pairs.append(f"{names[i]} taken for {names[j]} ({int(m[i, j])} of {int(m[i].sum())}"
                             f"{': ' + why if why else ''})")
        who = "log-mel CNN" if cm_src is log else f"Task 2 {r['clf']}" if cm_src is ml else "linear-mel CNN"
        if pairs:
            out.append(f"Most frequent confusions of the {who}: " + "; ".join(pairs) + ".")
    gaps = [(short(r, k), get(r[k], "val", "top1") - test_top1(r, k)) for k, *_ in r["present"]
            if get(r[k], "val", "top1") is not None and test_top1(r, k) is not None]
    if gaps:
        listed = ", ".join(f"{n} {points(-g)}" for n, g in gaps)
        worst = max(abs(g) for _, g in gaps)
        out.append(f"Test minus validation top-1: {listed}. "
                   + ("Validation predicts test to within a few points." if worst <= 0.03 else
                      "The two splits disagree by several points, so one split's accuracy is only a rough "
                      "estimate of another's."))
    g_log = next((d for _, k, d in r["genuine"] if k == "log"), None)
    if g_log and test_top1(r, "log") is not None:
        out.append(f"On genuine NSynth notes the log-mel CNN scores {pct(get(g_log, 'top1'))} "
                   f"({count(get(g_log, 'n'))} notes) against {pct(test_top1(r, 'log'))} on the "
                   f"{R.split_name(log, 'test')} split: accuracy on our training data's test split does not carry "
                   f"over to real recordings one to one.")
    if not r["present"]:
        out.append("No results yet: the slides before this one name the commands that produce them.")
    kind = R.data_kind(r["main"]) if r["main"] else None
    out.append("Limits: one seed per model"
               + (f"; every number {'outside slide 9 ' if r['genuine'] else ''}is on stand-in notes (rendered, or "
                  f"recorded by sample libraries), not NSynth recordings" if kind == "proxy" else "; the training data's origin is not recorded"
                  if kind == "unknown" else "")
               + (f"; {count(get(r['genuine'][0][2], 'n'))} genuine notes are a small sample." if r["genuine"]
                  else "."))
    S.bullets_box(fig, (LEFT, BOTTOM + 0.01, RIGHT - LEFT, TOP - BOTTOM - 0.02), out, size=18, min_size=13)
