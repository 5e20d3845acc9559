"""reports/make_report.py: builds 16:9 PDF slides from small results folders written like the scripts write them;
every number comes from the JSONs, and no machine path or internal run name reaches a slide."""
import json
import subprocess
import sys
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

pypdf = pytest.importorskip("pypdf")

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "reports" / "make_report.py"
PROV = "rendered proxy data (SoundFonts) fixture-7731"
HW0_NAMES = ["bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "reed", "string", "synth_lead",
             "vocal"]
HW1_NAMES = ["Piano", "Percussion", "Organ", "Guitar", "Bass", "Strings", "Voice", "Wind Instruments", "Synth"]


def mel_grid_png(path):
    """A figure laid out like hw0/visualize_mel.py's: 3 x 3 spectrogram panels and a colour bar."""
    fig, axes = plt.subplots(3, 3, figsize=(15, 10), sharex=True, sharey=True)
    rng = np.random.default_rng(0)
    for ax in axes.flat:
        img = ax.imshow(rng.uniform(-80, 0, (32, 40)), aspect="auto", origin="lower", cmap="magma", vmin=-80, vmax=0)
        ax.set_title("family, MIDI 36\nfile_name", fontsize=9)
    fig.colorbar(img, ax=axes)
    fig.suptitle("Mel-spectrograms")
    fig.savefig(path, dpi=40)
    plt.close(fig)


def hw0_json(d, name, top1, top3, diag, val_losses):
    cm = (np.eye(11, dtype=int) * (diag - 1) + 1).tolist()   # diag on the diagonal, 1 elsewhere
    data = {"train_dir": str(d / "data" / "train"), "valid_dir": str(d / "data" / "valid"),
            "test_dir": str(d / "data" / "test"), "provenance": PROV, "n_train": 23753, "n_valid": 2561}
    hist = [{"epoch": e + 1, "train_loss": 2.0 / (e + 1), "train_acc": 0.3 + 0.15 * e, "val_loss": vl,
             "val_top1": top1 - 0.05 + 0.02 * e, "val_top3": top3} for e, vl in enumerate(val_losses)]
    return {"name": name, "task": "task3", "model": "NoteCNN (5 conv blocks)",
            "command": f"python hw0/train_cnn.py --train_dir {data['train_dir']} --valid_dir {data['valid_dir']} "
                       f"--test_dir {data['test_dir']} --epochs {len(hist)} --name cand_plain --checkpoint_dir "
                       f".cache/cand --results_dir .cache/cand",
            "note": 'trained as run "cand_plain" into .cache/cand', "data": data, "seed": 0,
            "class_names": HW0_NAMES, "train_time_s": 123.4, "val": {"top1": hist[-1]["val_top1"], "top3": top3,
                                                                     "n": 2561},
            "test": {"top1": top1, "top3": top3, "n": 2529, "confusion_matrix": cm},
            "figures": {"confusion": f"{name}_confusion.png", "curves": f"{name}_curves.png"}, "history": hist,
            "log_input": name == "cnn_log", "best_epoch": len(hist), "mel": {"n_mels": 64, "hop_length": 512},
            "recipe": {"epochs": len(hist), "augment": ["gain", "eq"], "mixup": 0.2}}


def write_hw0(d):
    d.mkdir(parents=True)
    ml = hw0_json(d, "ml", 0.6291, 0.8881, 98, [1.0])
    ml.update(task="task2", model="boosted_trees", features="176 pooled features, StandardScaler fitted on train",
              history=None, command=f"python hw0/train_ml.py --train_dir {d / 'data' / 'train'}",
              candidates={"svm": {"val_top1": 0.6349, "val_top3": 0.89},
                          "boosted_trees": {"val_top1": 0.6583, "val_top3": 0.89}})
    (d / "ml.json").write_text(json.dumps(ml))
    # validation loss lowest at epoch 2 (1.20), then rising to 1.90 by epoch 4
    (d / "cnn_log.json").write_text(json.dumps(hw0_json(d, "cnn_log", 0.6734, 0.9197, 97, [2.1, 1.2, 1.5, 1.9])))
    (d / "cnn_nolog.json").write_text(json.dumps(hw0_json(d, "cnn_nolog", 0.5702, 0.8557, 96, [2.3, 1.6])))
    (d / "ablation.json").write_text(json.dumps({"data": {"provenance": PROV, "max_train": 5000}, "epochs": 5,
                                                 "command": f"python bench/hw0_ablation.py --train_dir {d}", "rows": [
        {"name": "full recipe", "val_top1": 0.7719, "val_top3": 0.93, "delta_top1": 0.0},
        {"name": "no mixup", "val_top1": 0.7402, "val_top3": 0.92, "delta_top1": -0.0317},
        {"name": "linear mel input (--no_log)", "args": "--no_log", "val_top1": 0.5011, "val_top3": 0.7,
         "delta_top1": -0.2708}]}))
    (d / "inference_cnn_log.json").write_text(json.dumps({
        "model": "cnn", "checkpoint": str(REPO / "checkpoints" / "hw0" / "cnn_log.pt"), "test_dir": str(d / "x"),
        "provenance": PROV, "command": "python hw0/inference.py", "top1": 0.5555, "top3": 0.8, "n": 99,
        "confusion_matrix": (np.eye(11, dtype=int) * 9).tolist(), "figures": {"confusion": None}}))
    (d / "mel_grid.txt").write_text("Provenance: " + PROV + "\nBass notes show energy in the lowest bands.")
    (d / "mel_grid.json").write_text(json.dumps({
        "data_dir": str(d / "data" / "test"), "provenance": PROV, "families": ["guitar", "brass", "string"],
        "pitches": {f: [36, 60, 84] for f in ["guitar", "brass", "string"]}, "figure": "mel_grid.png"}))
    mel_grid_png(d / "mel_grid.png")


def write_hw1(d):
    d.mkdir(parents=True)
    for name, macro, t in [("frozen", 0.6234, 0.35), ("finetune", 0.7142, 0.45)]:
        run = {"name": name, "mode": name, "encoder": "m-a-p/MERT-v1-95M", "revision": "abc123",
               "command": f"python hw1/finetune_mert.py --data_root {d / 'slakh'} --name cand_{name}",
               "data": {"root": str(d / "slakh"), "provenance": PROV, "counts": {"train": 120, "validation": 30}},
               "seed": 0, "class_names": HW1_NAMES, "pooling": "mean",
               "layer_weights": (np.arange(13) / np.arange(13).sum()).tolist(), "thresholds": [t] * 9,
               "val": {"macro_f1": macro, "micro_f1": macro + 0.1, "per_class_f1": [macro] * 9},
               "train_time_s": 61.0, "best_epoch": 2, "checkpoint": str(REPO / "checkpoints" / "hw1" / f"{name}.pt"),
               "history": [{"epoch": e, "train_loss": 0.5 / e, "val_loss": 0.6, "val_macro_f1": macro,
                            "val_micro_f1": macro + 0.1} for e in (1, 2, 3)],
               "figures": {"curves": f"{name}_curves.png", "layer_weights": f"{name}_layer_weights.png"},
               "test": None}
        if name == "frozen":  # finetune_mert.py --eval_test adds a test block
            run["test"] = {"macro_f1": 0.6011, "micro_f1": 0.7, "n": 50}
        (d / f"{name}.json").write_text(json.dumps(run))
    report = {c: {"precision": 0.5, "recall": 0.5, "f1-score": 0.5, "support": 10} for c in HW1_NAMES}
    report["Piano"] = {"precision": 0.9, "recall": 0.7444, "f1-score": 0.8123, "support": 77}
    for avg in ["micro avg", "macro avg", "weighted avg", "samples avg"]:
        report[avg] = {"precision": 0.6, "recall": 0.6, "f1-score": 0.5876, "support": 167}
    (d / "inference.json").write_text(json.dumps({
        "checkpoint": str(REPO / "checkpoints" / "hw1" / "frozen.pt"), "mode": "frozen", "test_dir": str(d / "t"),
        "provenance": PROV, "n": 321, "class_names": HW1_NAMES, "report": report, "report_text": "",
        "figures": {"per_class_f1": "per_class_f1.png"}}))
    rng = np.random.default_rng(0)
    tracks = []
    for i, L in ((1, 40), (2, 25)):
        gt = (rng.random((9, L)) < 0.4).astype(int)
        pred = gt.copy()
        pred[0, :5] = 1 - pred[0, :5]      # five disagreements in the first class
        tracks.append({"name": f"Track0000{i}", "L": L, "micro_f1": 0.4567 if i == 1 else 0.3012,
                       "macro_f1": 0.3456, "figure": f"track_Track0000{i}.png", "gt": gt.tolist(),
                       "pred": pred.tolist(), "audio": str(d / f"Track0000{i}.flac")})
    tracks.append({"name": "Track00003", "L": 10, "micro_f1": 0.2, "macro_f1": 0.1,
                   "figure": "track_Track00003.png"})   # neither gt/pred nor its PNG: named on the slide
    (d / "tracks.json").write_text(json.dumps({"checkpoint": str(REPO / "checkpoints" / "hw1" / "frozen.pt"),
                                               "provenance": PROV, "class_names": HW1_NAMES, "tracks": tracks}))
    return tracks


def build(hw, results, out, *extra):
    r = subprocess.run([sys.executable, str(SCRIPT), "--hw", str(hw), "--results_dir", str(results),
                        "--out", str(out), "--name", "Test Student", "--student_id", "S-424242", *extra],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    reader = pypdf.PdfReader(str(out))
    for page in reader.pages:
        w, h = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(w / h - 16 / 9) < 0.01, (w, h)
    pages = [" ".join((p.extract_text() or "").split()) for p in reader.pages]
    return pages, " ".join(pages)


def assert_no_machine_paths(text, tmp_path):
    for s in [str(tmp_path), str(REPO) + "/", "cand_", ".cache"]:
        assert s not in text, s


def test_hw0_report_numbers_from_json(tmp_path):
    write_hw0(tmp_path / "res")
    pages, text = build(0, tmp_path / "res", tmp_path / "hw0.pdf")
    assert len(pages) == 10
    assert_no_machine_paths(text, tmp_path)
    for s in ["62.9 %", "67.3 %", "57.0 %", "88.8 %", "92.0 %",  # test top-1 / top-3 of the three models
              "63.5 %", "65.8 %",  # Task 2 candidates (validation)
              "+4.4 points",  # log-mel CNN minus Task 2, computed from the two JSONs
              "+10.3 points",  # log minus linear test top-1
              "77.2 %", "74.0 %", "-3.2 points",  # ablation rows and delta
              "55.5 %", "checkpoints/hw0/cnn_log.pt",  # inference JSON, its checkpoint repository-relative
              "lowest at epoch 2 (1.20) and rises to 1.90 by epoch 4",  # validation loss from the history
              "23,753", "2,529", PROV, "Test Student", "S-424242", "StandardScaler", "Bass notes show energy",
              "MIDI 36", "guitar", "No results on genuine NSynth notes"]:
        assert s in text, s
    assert "Missing" not in text
    task2 = next(p for p in pages if "Task 2: hand-made features" in p)
    assert task2.split().count("98") >= 11   # every diagonal count of the confusion matrix is written in
    assert "Numbers from results/hw0/ml.json" in task2   # the footer names the slide's source


def test_hw0_genuine_numbers_get_their_slide(tmp_path):
    write_hw0(tmp_path / "res")
    (tmp_path / "res" / "mel_grid.json").unlink()   # the grid PNG is then shown whole
    (tmp_path / "res" / "genuine").mkdir()
    (tmp_path / "res" / "genuine" / "inference_cnn_log.json").write_text(json.dumps({
        "model": "cnn", "checkpoint": "checkpoints/hw0/cnn_log.pt", "provenance": "unknown (assumed real NSynth)",
        "test_dir": str(tmp_path / "shared" / "realdata" / "nsynth-real-valid"), "top1": 0.4141, "top3": 0.7071,
        "n": 99, "confusion_matrix": (np.eye(11, dtype=int) * 9).tolist()}))
    # a recipe trial of bench/hw0_select.py with its leave-one-source-out screen
    # with more trials than one slide holds: they continue on the next slide, none is cut or squeezed
    trials = {"dr_mix2": {"model": "cnn", "recipe": "dr_mix2", "genuine": {"top1": 0.4747, "top3": 0.7273, "n": 99},
                          "loso_mean_top1": 0.2862}}
    trials.update({f"t{k}_mix2": {"model": "cnn", "recipe": f"t{k}_mix2", "genuine": {"top1": 0.3 + k / 100,
                                                                                      "top3": 0.7, "n": 99}}
                   for k in range(20)})
    # a screen of one held-out lineage is named as such, not shown as if it were a mean over lineages
    trials["t0_mix2"].update(loso={"zyn": {"top1": 0.22, "top3": 0.54, "n": 2836}}, loso_mean_top1=0.22)
    (tmp_path / "res" / "selection.json").write_text(json.dumps({"cnn": trials}))
    # a stand-in merged by tools/merge_nsynth.py: its renders' provenance strings joined, each repeating the first
    ml = json.loads((tmp_path / "res" / "ml.json").read_text())
    ml["data"]["provenance"] = f"{PROV}; {PROV}, stk (tools/source_stk.py); {PROV}, zyn (tools/source_zyn.py)"
    (tmp_path / "res" / "ml.json").write_text(json.dumps(ml))
    # bench/hw0_domain_gap.py's medians and figure: a slide of their own
    (tmp_path / "res" / "domain_gap.json").write_text(json.dumps({
        "real": str(tmp_path / "shared" / "realdata" / "nsynth-real-valid"), "data": str(tmp_path / "mix2" / "train"),
        "pitch_window": 2, "min_velocity": 100, "families": {f: {"genuine": {"n": 9}, "standin": {"n": 140}}
                                                             for f in HW0_NAMES}}))
    mel_grid_png(tmp_path / "res" / "domain_gap.png")
    pages, text = build(0, tmp_path / "res", tmp_path / "hw0.pdf")
    assert len(pages) == 14           # the 11 slides + two of trials + the domain gap
    gap = next(p for p in pages if "Stand-in vs genuine notes: where they differ" in p)
    assert "results/hw0/domain_gap.json" in gap and "99 genuine NSynth notes (shared/realdata)" in gap
    assert "(mix2/train) within 2 semitones" in gap
    assert_no_machine_paths(text, tmp_path)
    genuine = next(p for p in pages if "On genuine NSynth notes Numbers from" in p)
    for s in ["41.4 %", "70.7 %", "99", "results/hw0/genuine/inference_cnn_log.json", "1.0 points",
              "21 recipe trials on the same notes: next slide"]:
        assert s in genuine, s
    trial_pages = [p for p in pages if "Genuine NSynth notes: recipe trials" in p]
    assert len(trial_pages) == 2 and "recipe trials (continued)" in trial_pages[1]
    assert "LOSO" in trial_pages[0] and "CNN dr_mix2 47.5 % 72.7 % 99 28.6 % CNN" in trial_pages[0]
    assert "CNN t0_mix2 30.0 % 70.0 % 99 22.0 % (zyn only)" in trial_pages[0]
    for k in range(20):
        assert sum(f"CNN t{k}_mix2 {30 + k:.1f} % 70.0 % 99" in p for p in trial_pages) == 1, k
    assert "did not fit" not in text
    task2 = next(p for p in pages if "Task 2: hand-made features" in p)
    assert f"{PROV}, stk (tools/source_stk.py), zyn (tools/source_zyn.py)" in task2 and f"{PROV}; {PROV}" not in text
    assert "No results on genuine NSynth notes" not in text
    assert "MIDI 36" not in text


def test_hw1_report_numbers_from_json(tmp_path):
    tracks = write_hw1(tmp_path / "res")
    pages, text = build(1, tmp_path / "res", tmp_path / "hw1.pdf")
    assert len(pages) == 10
    assert_no_machine_paths(text, tmp_path)
    for s in ["0.623", "0.714", "0.812", "0.744", "0.588", "0.35", "0.45", "0.457", "0.301", "Track00003",
              "Wind Instruments", "samples avg", "m-a-p/MERT-v1-95M", PROV, "+0.091", "0.601",
              "checkpoints/hw1/frozen.pt"]:
        assert s in text, s
    report = next(p for p in pages if "Test classification report" in p)
    assert "321" in report and "Wind Instruments" in report
    gt, pred = np.array(tracks[0]["gt"], dtype=bool), np.array(tracks[0]["pred"], dtype=bool)
    track1 = next(p for p in pages if "Whole-track activity: Track00001" in p)
    for label, n in [("TP: both active", (gt & pred).sum()), ("FP: predicted, not in MIDI", (pred & ~gt).sum()),
                     ("FN: in MIDI, missed", (gt & ~pred).sum())]:
        assert f"{label} ({n})" in track1, (label, n)
    assert "results/hw1/track_Track00003.png" in text  # no matrices, no PNG: named on the slide, not invented


def test_empty_results_name_the_commands(tmp_path):
    (tmp_path / "empty").mkdir()
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"name": "<YOUR NAME>", "student_id": "<YOUR STUDENT ID>", "code_link": "<LINK>"}))
    pages, text = build(0, tmp_path / "empty", tmp_path / "e0.pdf", "--config", str(cfg))
    assert len(pages) >= 8
    for s in ["python hw0/train_cnn.py --train_dir", "--no_log", "python hw0/train_ml.py",
              "python hw0/visualize_mel.py", "python bench/hw0_ablation.py"]:
        assert s in text, s
    assert "%" not in text.replace("run:", "")  # no accuracy was invented
    pages, text = build(1, tmp_path / "empty", tmp_path / "e1.pdf", "--config", str(cfg))
    assert len(pages) >= 8
    for s in ["python hw1/finetune_mert.py --data_root", "--finetune", "python hw1/inference.py --test_track_dir"]:
        assert s in text, s


def test_bad_json_is_one_line_error(tmp_path):
    (tmp_path / "res").mkdir()
    (tmp_path / "res" / "ml.json").write_text("{not json")
    r = subprocess.run([sys.executable, str(SCRIPT), "--hw", "0", "--results_dir", str(tmp_path / "res"),
                        "--out", str(tmp_path / "x.pdf")], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "ml.json" in r.stderr and "Traceback" not in r.stderr
