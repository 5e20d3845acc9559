"""reports/make_report.py: builds 16:9 PDFs from a tiny fake results folder; every number comes from the JSONs."""
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


def png(path, kind="matrix"):
    fig, ax = plt.subplots(figsize=(3, 2))
    if kind == "matrix":
        ax.imshow(np.random.default_rng(0).random((11, 11)))
    else:
        ax.plot([1, 2, 3], [3, 1, 2])
    fig.savefig(path, dpi=40)
    plt.close(fig)


def hw0_json(name, top1, top3, cm_scale):
    cm = (np.eye(11, dtype=int) * cm_scale + 1).tolist()
    d = {"name": name, "task": "task3", "model": f"short-chunk CNN ({name})",
         "command": f"python hw0/train_cnn.py {name}",
         "data": {"train_dir": "t", "valid_dir": "v", "test_dir": "x", "provenance": PROV}, "seed": 0,
         "class_names": HW0_NAMES, "train_time_s": 123.4,
         "val": {"top1": top1 + 0.01, "top3": top3, "n": 220},
         "test": {"top1": top1, "top3": top3, "n": 4096, "confusion_matrix": cm},
         "figures": {"confusion": f"{name}_confusion.png", "curves": f"{name}_curves.png"},
         "history": [{"epoch": 1, "train_loss": 2.0, "train_acc": 0.3, "val_loss": 2.1, "val_top1": 0.3,
                      "val_top3": 0.5},
                     {"epoch": 2, "train_loss": 1.0, "train_acc": 0.6, "val_loss": 1.2, "val_top1": top1 + 0.01,
                      "val_top3": top3}],
         "log_input": name == "cnn_log", "best_epoch": 2, "mel": {"n_mels": 64, "hop_length": 512},
         "recipe": {"epochs": 2, "augment": ["gain", "eq"], "mixup": 0.2}}
    return d


def write_hw0(d):
    d.mkdir(parents=True)
    ml = hw0_json("ml", 0.8123, 0.9561, 5)
    ml.update(task="task2", model="SVM (RBF)", features="MFCC mean/std + spectral centroid",
              standardisation="StandardScaler fitted on the training split", history=None,
              candidates={"svm": {"val_top1": 0.8211, "val_top3": 0.95}, "random_forest": {"val_top1": 0.7033,
                                                                                          "val_top3": 0.9}})
    ml["figures"] = {"confusion": "ml_confusion.png"}
    (d / "ml.json").write_text(json.dumps(ml))
    (d / "cnn_log.json").write_text(json.dumps(hw0_json("cnn_log", 0.9372, 0.9911, 9)))
    (d / "cnn_nolog.json").write_text(json.dumps(hw0_json("cnn_nolog", 0.6481, 0.8442, 3)))
    (d / "ablation.json").write_text(json.dumps({"data": {"provenance": PROV, "max_train": 6000}, "epochs": 8,
                                                 "command": "python bench/hw0_ablation.py", "rows": [
        {"name": "full recipe", "val_top1": 0.7719, "val_top3": 0.93, "note": "log-mel", "delta_top1": 0.0},
        {"name": "no mixup", "val_top1": 0.7402, "val_top3": 0.92, "note": "a long note " * 12,
         "delta_top1": -0.0317}]}))
    (d / "inference_cnn_log.json").write_text(json.dumps({
        "model": "cnn", "checkpoint": "checkpoints/hw0/cnn_log.pt", "test_dir": "x", "provenance": PROV,
        "command": "python hw0/inference.py", "top1": 0.5555, "top3": 0.8, "n": 99,
        "confusion_matrix": (np.eye(11, dtype=int) * 9).tolist(), "figures": {"confusion": None}}))
    (d / "mel_grid.txt").write_text("Provenance: " + PROV + "\nBass notes show energy in the lowest bands.")
    png(d / "mel_grid.png")
    png(d / "ml_confusion.png")
    png(d / "cnn_log_confusion.png")
    png(d / "cnn_log_curves.png", "curve")
    # cnn_nolog figures deliberately missing: the report must draw them from the JSON numbers


def write_hw1(d):
    d.mkdir(parents=True)
    for name, macro, t in [("frozen", 0.6234, 0.35), ("finetune", 0.7142, 0.45)]:
        run = {"name": name, "mode": name, "encoder": "m-a-p/MERT-v1-95M", "revision": "abc123", "command": "c",
               "data": {"root": "r", "provenance": PROV}, "seed": 0, "class_names": HW1_NAMES, "pooling": "mean",
               "layer_weights": (np.arange(13) / np.arange(13).sum()).tolist(), "thresholds": [t] * 9,
               "val": {"macro_f1": macro, "micro_f1": macro + 0.1, "per_class_f1": [macro] * 9},
               "train_time_s": 61.0,
               "history": [{"epoch": 1, "train_loss": 0.5, "val_loss": 0.6, "val_macro_f1": macro}],
               "figures": {"curves": f"{name}_curves.png", "layer_weights": f"{name}_layer_weights.png"}}
        if name == "frozen":  # finetune_mert.py --eval_test adds a test block
            run["test"] = {"macro_f1": 0.6011, "micro_f1": 0.7, "n": 50}
        (d / f"{name}.json").write_text(json.dumps(run))
    png(d / "frozen_curves.png", "curve")
    png(d / "frozen_layer_weights.png", "curve")
    report = {c: {"precision": 0.5, "recall": 0.5, "f1-score": 0.5, "support": 10} for c in HW1_NAMES}
    report["Piano"] = {"precision": 0.9, "recall": 0.7444, "f1-score": 0.8123, "support": 77}
    for avg in ["micro avg", "macro avg", "weighted avg", "samples avg"]:
        report[avg] = {"precision": 0.6, "recall": 0.6, "f1-score": 0.5876, "support": 167}
    (d / "inference.json").write_text(json.dumps({"checkpoint": "checkpoints/hw1/frozen.pt", "mode": "frozen",
                                                  "test_dir": "x",
                                                  "provenance": PROV, "n": 321, "report": report, "report_text": "",
                                                  "figures": {"per_class_f1": "per_class_f1.png"}}))
    png(d / "per_class_f1.png", "curve")
    tracks = [{"name": f"Track0000{i}", "L": 40, "micro_f1": 0.4567, "macro_f1": 0.3456,
               "figure": f"track_Track0000{i}.png"} for i in (1, 2, 3)]
    (d / "tracks.json").write_text(json.dumps({"provenance": PROV, "tracks": tracks}))
    for i in (1, 2):
        png(d / f"track_Track0000{i}.png", "curve")


def build(hw, results, out, *extra):
    r = subprocess.run([sys.executable, str(SCRIPT), "--hw", str(hw), "--results_dir", str(results),
                        "--out", str(out), "--name", "Test Student", "--student_id", "S-424242", *extra],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    reader = pypdf.PdfReader(str(out))
    for page in reader.pages:
        w, h = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(w / h - 16 / 9) < 0.01, (w, h)
    text = "\n".join(p.extract_text() for p in reader.pages)
    return reader, " ".join(text.split())


def test_hw0_report_numbers_from_json(tmp_path):
    write_hw0(tmp_path / "res")
    reader, text = build(0, tmp_path / "res", tmp_path / "hw0.pdf")
    assert 9 <= len(reader.pages) <= 16
    for s in ["81.2 %", "95.6 %", "93.7 %", "64.8 %", "82.1 %", "77.2 %", "74.0 %",  # test/val/candidate/ablation
              "+28.9 points",  # log minus no-log test top-1, computed from the two JSONs
              "-3.2 points",  # ablation delta
              "55.5 %",  # hw0 inference JSON
              "n mels 64", "gain+eq",  # CNN front end and recipe from the JSON
              PROV, "Test Student", "S-424242", "StandardScaler", "Bass notes show energy"]:
        assert s in text, s
    assert "Missing" not in text  # every figure was either present or drawn from JSON


def test_hw1_report_numbers_from_json(tmp_path):
    write_hw1(tmp_path / "res")
    reader, text = build(1, tmp_path / "res", tmp_path / "hw1.pdf")
    assert 9 <= len(reader.pages) <= 18
    for s in ["0.623", "0.714", "0.812", "0.744", "0.588", "0.35", "0.45", "0.457", "0.346", "Track00003",
              "Wind Instruments", "samples avg", "m-a-p/MERT-v1-95M", PROV, "+0.091", "0.601"]:
        assert s in text, s
    assert "results/hw1/track_Track00003.png" in text  # its PNG is missing: named on the slide, not invented


def test_empty_results_name_the_commands(tmp_path):
    (tmp_path / "empty").mkdir()
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"name": "<YOUR NAME>", "student_id": "<YOUR STUDENT ID>", "code_link": "<LINK>"}))
    reader, text = build(0, tmp_path / "empty", tmp_path / "e0.pdf", "--config", str(cfg))
    assert len(reader.pages) >= 8
    for s in ["python hw0/train_cnn.py --train_dir", "--no_log", "python hw0/train_ml.py",
              "python hw0/visualize_mel.py",
              "python bench/hw0_ablation.py"]:
        assert s in text, s
    assert "%" not in text.replace("run:", "")  # no accuracy was invented
    reader, text = build(1, tmp_path / "empty", tmp_path / "e1.pdf", "--config", str(cfg))
    assert len(reader.pages) >= 8
    for s in ["python hw1/finetune_mert.py --data_root", "--finetune", "python hw1/inference.py --test_track_dir"]:
        assert s in text, s


def test_bad_json_is_one_line_error(tmp_path):
    (tmp_path / "res").mkdir()
    (tmp_path / "res" / "ml.json").write_text("{not json")
    r = subprocess.run([sys.executable, str(SCRIPT), "--hw", "0", "--results_dir", str(tmp_path / "res"),
                        "--out", str(tmp_path / "x.pdf")], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "ml.json" in r.stderr and "Traceback" not in r.stderr
