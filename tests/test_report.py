"""reports/make_report.py: builds 16:9 PDF slides from small results folders written like the scripts write them;
every number comes from the JSONs, results that do not match the shipped checkpoint are marked (or refused with
--strict), the data is called genuine only when its provenance says so, and no machine path or internal run name
reaches a slide."""
import hashlib
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
GENUINE = "genuine NSynth notes (fixture-99)"
HW0_NAMES = ["bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "reed", "string", "synth_lead",
             "vocal"]
HW1_NAMES = ["Piano", "Percussion", "Organ", "Guitar", "Bass", "Strings", "Voice", "Wind Instruments", "Synth"]
STALE = "different checkpoint than"
UNRECORDED = "Checkpoint not recorded in"


def checkpoints(d, names):
    """Stand-in checkpoint files (their bytes are all the report looks at): {name: sha256}."""
    d.mkdir(parents=True)
    out = {}
    for n in names:
        (d / n).write_bytes(f"weights of {n}".encode())
        out[n] = hashlib.sha256((d / n).read_bytes()).hexdigest()
    return out


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


def cm_with(diag):
    return (np.eye(11, dtype=int) * (diag - 1) + 1).tolist()   # diag on the diagonal, 1 elsewhere


def hw0_json(d, name, top1, top3, diag, val_losses, sha):
    data = {"train_dir": str(d / "data" / "train"), "valid_dir": str(d / "data" / "valid"),
            "test_dir": str(d / "data" / "test"), "provenance": PROV, "n_train": 23753, "n_valid": 2561}
    hist = [{"epoch": e + 1, "train_loss": 2.0 / (e + 1), "train_acc": 0.3 + 0.15 * e, "val_loss": vl,
             "val_top1": top1 - 0.05 + 0.02 * e, "val_top3": top3} for e, vl in enumerate(val_losses)]
    return {"name": name, "task": "task3", "model": "NoteCNN (5 conv blocks)",
            "command": f"python hw0/train_cnn.py --train_dir {data['train_dir']} --valid_dir {data['valid_dir']} "
                       f"--test_dir {data['test_dir']} --epochs {len(hist)} --name cand_plain --checkpoint_dir "
                       f".cache/cand --results_dir .cache/cand --cache_dir {d}/cache",
            "note": 'trained as run "cand_plain" into .cache/cand', "data": data, "seed": 0,
            "checkpoint": f"checkpoints/hw0/{name}.pt", "checkpoint_sha256": sha,
            "class_names": HW0_NAMES, "train_time_s": 123.4, "val": {"top1": hist[-1]["val_top1"], "top3": top3,
                                                                     "n": 2561},
            "test": {"top1": top1, "top3": top3, "n": 2529, "confusion_matrix": cm_with(diag)},
            "figures": {"confusion": f"{name}_confusion.png", "curves": f"{name}_curves.png"}, "history": hist,
            "log_input": name == "cnn_log", "best_epoch": len(hist), "mel": {"n_mels": 64, "hop_length": 512},
            "recipe": {"epochs": len(hist), "augment": ["gain", "eq"], "mixup": 0.2}}


def inference_json(stem, sha, prov, top1, n=99):
    return {"model": "ml" if stem == "ml" else "cnn", "provenance": prov, "top1": top1, "top3": 0.8, "n": n,
            "checkpoint": f"checkpoints/hw0/{'ml.joblib' if stem == 'ml' else stem + '.pt'}",
            "checkpoint_sha256": sha, "test_dir": "/somewhere/private/notes",
            "command": "python hw0/inference.py --test_dir /somewhere/private/notes",
            "confusion_matrix": (np.eye(11, dtype=int) * 9).tolist()}


def write_hw0(d):
    """A full results/hw0 folder (as the scripts write it) and its checkpoints/hw0; returns (results, checkpoints)."""
    res, ck = d / "res", d / "ckpt"
    sha = checkpoints(ck, ["ml.joblib", "cnn_log.pt", "cnn_nolog.pt"])
    res.mkdir(parents=True)
    ml = hw0_json(res, "ml", 0.6291, 0.8881, 98, [1.0], sha["ml.joblib"])
    ml.update(task="task2", model="boosted_trees", features="176 pooled features, StandardScaler fitted on train",
              history=None, checkpoint="checkpoints/hw0/ml.joblib",
              command=f"python hw0/train_ml.py --train_dir {res / 'data' / 'train'} --name hgb_harm_rr_mix2",
              candidates={"svm": {"val_top1": 0.6349, "val_top3": 0.89},
                          "boosted_trees": {"val_top1": 0.6583, "val_top3": 0.89}})
    (res / "ml.json").write_text(json.dumps(ml))
    # log-mel: validation loss lowest at epoch 3 (1.6940) and 1.6947 at epoch 4: equal at the shown precision
    (res / "cnn_log.json").write_text(json.dumps(hw0_json(res, "cnn_log", 0.6734, 0.9197, 97,
                                                          [2.1, 1.8, 1.6940, 1.6947], sha["cnn_log.pt"])))
    # linear mel: lowest at epoch 2 (1.20), then 1.90 by epoch 4; trained with --peak_norm
    nolog = hw0_json(res, "cnn_nolog", 0.5702, 0.8557, 96, [2.3, 1.2, 1.5, 1.9], sha["cnn_nolog.pt"])
    nolog["recipe"]["peak_norm"] = True
    nolog["command"] = nolog["command"].replace("--epochs", "--no_log --peak_norm --epochs")
    (res / "cnn_nolog.json").write_text(json.dumps(nolog))
    (res / "inference_cnn_log.json").write_text(json.dumps(inference_json("cnn_log", sha["cnn_log.pt"], PROV,
                                                                          0.6734, n=2529)))
    (res / "genuine").mkdir()
    for stem, ckpt, top1 in [("cnn_log", "cnn_log.pt", 0.4141), ("ml", "ml.joblib", 0.4444)]:
        (res / "genuine" / f"inference_{stem}.json").write_text(json.dumps(inference_json(stem, sha[ckpt], GENUINE,
                                                                                          top1)))
    (res / "mel_grid.txt").write_text("Provenance: " + PROV + "\nBass notes show energy in the lowest bands.")
    (res / "mel_grid.json").write_text(json.dumps({
        "data_dir": str(res / "data" / "test"), "provenance": PROV, "families": ["guitar", "brass", "string"],
        "pitches": {f: [36, 60, 84] for f in ["guitar", "brass", "string"]}, "figure": "mel_grid.png"}))
    mel_grid_png(res / "mel_grid.png")
    # the development record: never on a hand-in slide
    (res / "selection.json").write_text(json.dumps({"cnn": {"dr_mix2": {"model": "cnn", "recipe": "dr_mix2",
                                                                        "genuine": {"top1": 0.4747, "n": 99}}}}))
    (res / "ablation.json").write_text(json.dumps({"rows": [{"name": "no mixup", "val_top1": 0.7402}]}))
    return res, ck


def edit(path, **changes):
    d = json.loads(path.read_text())
    d.update(changes)
    path.write_text(json.dumps(d))


def run(hw, results, out, *extra):
    return subprocess.run([sys.executable, str(SCRIPT), "--hw", str(hw), "--results_dir", str(results),
                           "--out", str(out), "--name", "Test Student", "--student_id", "S-424242", *map(str, extra)],
                          capture_output=True, text=True, timeout=300)


def build(hw, results, out, *extra):
    r = run(hw, results, out, *extra)
    assert r.returncode == 0, r.stderr
    reader = pypdf.PdfReader(str(out))
    for page in reader.pages:
        w, h = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(w / h - 16 / 9) < 0.01, (w, h)
    pages = [" ".join((p.extract_text() or "").split()) for p in reader.pages]
    return pages, " ".join(pages), r.stderr


def page(pages, title):
    found = [p for p in pages if title in p]   # the slide with this title (text order on a page is not layout order)
    assert len(found) == 1, (title, [p[:60] for p in pages])
    return found[0]


def assert_nothing_internal(text, tmp_path):
    for s in [str(tmp_path), str(REPO) + "/", "/somewhere/private", "cand_", "hgb_harm", ".cache", "dr_mix2",
              "no mixup", "assumed real"]:
        assert s not in text, s


def test_hw0_report_numbers_from_json(tmp_path):
    res, ck = write_hw0(tmp_path)
    pages, text, err = build(0, res, tmp_path / "hw0.pdf", "--checkpoint_dir", ck)
    assert 9 <= len(pages) <= 11
    assert_nothing_internal(text, tmp_path)
    assert STALE not in text and UNRECORDED not in text and "warning" not in err
    for s in ["62.9 %", "67.3 %", "57.0 %", "88.8 %", "92.0 %",  # test top-1 / top-3 of the three models
              "63.5 %", "65.8 %",  # Task 2 candidates (validation)
              "+4.4 points",  # log-mel CNN minus Task 2, computed from the two JSONs
              "+10.3 points",  # log minus linear test top-1
              "23,753", "2,529", PROV, "Test Student", "S-424242", "StandardScaler", "Bass notes show energy",
              "MIDI 36", "guitar"]:
        assert s in text, s
    assert "Missing" not in text
    task2 = page(pages, "Task 2: hand-made features")
    assert task2.split().count("98") >= 11   # every diagonal count of the confusion matrix is written in
    assert "Numbers from results/hw0/ml.json" in task2   # the footer names the slide's source
    glance = page(pages, "Results:")
    assert "67.3 % (65.5–69.1)" in glance       # test top-1 with its 95 % Wilson interval on 2,529 notes
    assert "python hw0/inference.py with checkpoints/hw0/cnn_log.pt: top-1 67.3 % on 2,529 proxy test notes, as " \
           "the training run reports" in glance
    gen = page(pages, "Evaluation on genuine NSynth notes")
    for s in ["41.4 % (32.2–51.3)", "44.4 %", "99", "One note is 1.0 points", GENUINE,
              "results/hw0/genuine/inference_cnn_log.json"]:
        assert s in gen, s


def test_hw0_curves_say_only_what_the_numbers_show(tmp_path):
    res, ck = write_hw0(tmp_path)
    pages, text, _ = build(0, res, tmp_path / "hw0.pdf", "--checkpoint_dir", ck)
    curves = page(pages, "Task 3: training curves")
    # 1.6940 -> 1.6947 is 1.69 -> 1.69 at the shown precision: unchanged, not "rises"
    assert "Log-mel: training loss falls from 2.00 to 0.50 over 4 epochs; validation loss is lowest at epoch 3 " \
           "(1.69) and is unchanged at 1.69 at epoch 4." in curves
    assert "rises to 1.69" not in text and "why validation loss rises" not in text.lower()
    assert "validation loss is lowest at epoch 2 (1.20) and rises to 1.90 by epoch 4, while validation top-1 rises " \
           "from 54.0 % to 58.0 %" in curves
    assert "Log-mel is ahead of linear mel on validation top-1 at 4 of 4 epochs" in curves


def test_hw0_task3_names_the_recipe_difference(tmp_path):
    res, ck = write_hw0(tmp_path)
    pages, _, _ = build(0, res, tmp_path / "a.pdf", "--checkpoint_dir", ck)
    task3 = page(pages, "Task 3: log-mel vs linear-mel input")
    assert "Recipe difference: the linear-mel model adds --peak_norm: each note is scaled to its own peak" in task3
    assert "Same recipe" not in task3
    # the same recipe in both arms (the command differs only in --no_log): said so, and nothing else claimed
    nolog = json.loads((res / "cnn_nolog.json").read_text())
    nolog["recipe"].pop("peak_norm")
    nolog["command"] = nolog["command"].replace(" --peak_norm", "")
    (res / "cnn_nolog.json").write_text(json.dumps(nolog))
    pages, _, _ = build(0, res, tmp_path / "b.pdf", "--checkpoint_dir", ck)
    task3 = page(pages, "Task 3: log-mel vs linear-mel input")
    assert "Same recipe for both models" in task3 and "--peak_norm" not in task3


def test_hw0_stale_checkpoint_marked_and_strict_refuses(tmp_path):
    res, ck = write_hw0(tmp_path)
    edit(res / "cnn_log.json", checkpoint_sha256="0" * 64)                  # computed with other weights
    ml = json.loads((res / "ml.json").read_text())
    ml.pop("checkpoint_sha256")                                             # written before hashes were recorded
    (res / "ml.json").write_text(json.dumps(ml))
    pages, text, err = build(0, res, tmp_path / "hw0.pdf", "--checkpoint_dir", ck)
    uses_log = [p for p in pages if "results/hw0/cnn_log.json" in p]
    assert len(uses_log) >= 5       # cover, approach, results, Task 3, curves, what we learned
    for p in uses_log:
        assert "These numbers were computed with a different checkpoint than checkpoints/hw0/cnn_log.pt" in p, p[:80]
    for p in pages:
        if "results/hw0/cnn_log.json" not in p:
            assert STALE not in p, p[:80]
    task2 = page(pages, "Task 2: hand-made features")
    assert "Checkpoint not recorded in results/hw0/ml.json: these numbers may not come from " \
           "checkpoints/hw0/ml.joblib" in task2 and STALE not in task2
    assert STALE not in page(pages, "Task 1: mel spectrograms") and UNRECORDED not in page(pages, "Task 1: what")
    assert "warning: results/hw0/cnn_log.json: computed with a different checkpoint" in err
    assert "warning: results/hw0/ml.json: checkpoint not recorded" in err

    r = run(0, res, tmp_path / "strict.pdf", "--checkpoint_dir", ck, "--strict")
    assert r.returncode != 0 and "Traceback" not in r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("error: results/hw0/ml.json: checkpoint not recorded") and "--strict" in last, last
    assert not (tmp_path / "strict.pdf").exists()

    (ck / "cnn_nolog.pt").unlink()     # a results file whose checkpoint is not shipped
    pages, _, _ = build(0, res, tmp_path / "hw0b.pdf", "--checkpoint_dir", ck)
    assert "checkpoints/hw0/cnn_nolog.pt: not in the repository" in page(pages, "Task 3: log-mel vs linear-mel")


def test_hw0_unknown_provenance_is_never_called_genuine(tmp_path):
    """hw0/inference.py on a folder without dataset_info.json records 'unknown (no dataset_info.json)': such
    numbers are labelled unknown, and stay off the genuine-notes slide."""
    res, ck = write_hw0(tmp_path)
    for f in [res / "genuine" / "inference_cnn_log.json", res / "genuine" / "inference_ml.json",
              res / "inference_cnn_log.json"]:
        edit(f, provenance="unknown (no dataset_info.json)")
    pages, text, _ = build(0, res, tmp_path / "hw0.pdf", "--checkpoint_dir", ck)
    gen = page(pages, "Evaluation on genuine NSynth notes")
    assert "Missing: results/hw0/genuine/inference_*.json measured on genuine NSynth notes" in gen
    assert "results/hw0/genuine/inference_cnn_log.json" in gen and "data is unknown and is not called genuine" in gen
    assert "41.4" not in text and "44.4" not in text          # those numbers reach no slide
    glance = page(pages, "Results:")
    assert "2,529 unknown-data test notes" in glance and "genuine top-1" not in glance
    assert "genuine test" not in text and "assumed real" not in text
    assert "No results on genuine NSynth notes" in page(pages, "HW0")


def test_hw1_report_numbers_from_json(tmp_path):
    tracks = write_hw1(tmp_path)
    res, ck = tmp_path / "res", tmp_path / "ckpt"
    pages, text, err = build(1, res, tmp_path / "hw1.pdf", "--checkpoint_dir", ck)
    assert 8 <= len(pages) <= 11
    assert_nothing_internal(text, tmp_path)
    for s in ["0.623", "0.714", "0.812", "0.744", "0.588", "0.35", "0.45", "0.457", "0.301", "Track00003",
              "Wind Instruments", "samples avg", "m-a-p/MERT-v1-95M", PROV, "+0.091", "0.601",
              "checkpoints/hw1/frozen.pt"]:
        assert s in text, s
    cover = page(pages, "HW1")
    assert "Clips: 120 train, 30 validation." in cover and "Clips: ." not in text
    report = page(pages, "Test classification report")
    assert "321" in report and "Wind Instruments" in report
    gt, pred = np.array(tracks[0]["gt"], dtype=bool), np.array(tracks[0]["pred"], dtype=bool)
    track1 = page(pages, "Whole-track activity: Track00001")
    for label, n in [("TP: both active", (gt & pred).sum()), ("FP: predicted, not in MIDI", (pred & ~gt).sum()),
                     ("FN: in MIDI, missed", (gt & ~pred).sum())]:
        assert f"{label} ({n})" in track1, (label, n)
    # tracks.json came from a folder without dataset_info.json: unknown data, never "assumed real"
    assert "Data: unknown: its data folder does not say whether the data is genuine or rendered" in track1
    assert "results/hw1/track_Track00003.png" in text  # no matrices, no PNG: named on the slide, not invented
    # finetune.json's checkpoint is not the shipped one: every slide using it says so, the others do not
    for p in pages:
        assert ("different checkpoint than checkpoints/hw1/finetune.pt" in p) == ("results/hw1/finetune.json" in p)
    assert "warning: results/hw1/finetune.json" in err


def write_hw1(tmp_path):
    d, ck = tmp_path / "res", tmp_path / "ckpt"
    sha = checkpoints(ck, ["frozen.pt", "finetune.pt"])
    d.mkdir(parents=True)
    for name, macro, t in [("frozen", 0.6234, 0.35), ("finetune", 0.7142, 0.45)]:
        run_ = {"name": name, "mode": name, "encoder": "m-a-p/MERT-v1-95M", "revision": "abc123",
                "command": f"python hw1/finetune_mert.py --data_root {d / 'slakh'} --name cand_{name}",
                "data": {"root": str(d / "slakh"), "provenance": PROV,
                         "counts": {"train": {"n": 120, "n_excluded": 0}, "validation": {"n": 30}}},
                "seed": 0, "class_names": HW1_NAMES, "pooling": "mean",
                "layer_weights": (np.arange(13) / np.arange(13).sum()).tolist(), "thresholds": [t] * 9,
                "val": {"macro_f1": macro, "micro_f1": macro + 0.1, "per_class_f1": [macro] * 9},
                "train_time_s": 61.0, "best_epoch": 2, "checkpoint": f"checkpoints/hw1/{name}.pt",
                "checkpoint_sha256": sha[f"{name}.pt"] if name == "frozen" else "f" * 64,
                "history": [{"epoch": e, "train_loss": 0.5 / e, "val_loss": 0.6, "val_macro_f1": macro,
                             "val_micro_f1": macro + 0.1} for e in (1, 2, 3)],
                "figures": {"curves": f"{name}_curves.png", "layer_weights": f"{name}_layer_weights.png"},
                "test": None}
        if name == "frozen":  # finetune_mert.py --eval_test adds a test block
            run_["test"] = {"macro_f1": 0.6011, "micro_f1": 0.7, "n": 50}
        (d / f"{name}.json").write_text(json.dumps(run_))
    report = {c: {"precision": 0.5, "recall": 0.5, "f1-score": 0.5, "support": 10} for c in HW1_NAMES}
    report["Piano"] = {"precision": 0.9, "recall": 0.7444, "f1-score": 0.8123, "support": 77}
    for avg in ["micro avg", "macro avg", "weighted avg", "samples avg"]:
        report[avg] = {"precision": 0.6, "recall": 0.6, "f1-score": 0.5876, "support": 167}
    (d / "inference.json").write_text(json.dumps({
        "checkpoint": "checkpoints/hw1/frozen.pt", "checkpoint_sha256": sha["frozen.pt"], "mode": "frozen",
        "test_dir": str(d / "t"), "provenance": PROV, "n": 321, "class_names": HW1_NAMES, "report": report,
        "report_text": "", "figures": {"per_class_f1": "per_class_f1.png"}}))
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
    (d / "tracks.json").write_text(json.dumps({
        "checkpoint": "checkpoints/hw1/frozen.pt", "checkpoint_sha256": sha["frozen.pt"],
        "provenance": "unknown (no dataset_info.json)", "class_names": HW1_NAMES, "tracks": tracks}))
    return tracks


def test_empty_results_name_the_commands(tmp_path):
    (tmp_path / "empty").mkdir()
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"name": "<YOUR NAME>", "student_id": "<YOUR STUDENT ID>", "code_link": "<LINK>"}))
    pages, text, _ = build(0, tmp_path / "empty", tmp_path / "e0.pdf", "--config", cfg)
    assert 9 <= len(pages) <= 11
    for s in ["python hw0/train_cnn.py --train_dir", "--no_log", "python hw0/train_ml.py",
              "python hw0/visualize_mel.py", "python hw0/inference.py --test_dir"]:
        assert s in text, s
    assert "%" not in text.replace("run:", "").replace("95 % Wilson", "")  # no accuracy was invented
    pages, text, _ = build(1, tmp_path / "empty", tmp_path / "e1.pdf", "--config", cfg)
    assert len(pages) >= 8
    for s in ["python hw1/finetune_mert.py --data_root", "--finetune", "python hw1/inference.py --test_track_dir"]:
        assert s in text, s


def test_bad_json_is_one_line_error(tmp_path):
    (tmp_path / "res").mkdir()
    (tmp_path / "res" / "ml.json").write_text("{not json")
    r = run(0, tmp_path / "res", tmp_path / "x.pdf")
    assert r.returncode != 0
    assert "ml.json" in r.stderr and "Traceback" not in r.stderr
