"""Every HW0 script end to end through its CLI on tiny NSynth-format folders: Task 1 figure, Task 2 and Task 3
train / save / reload / score, and inference numbers equal to sklearn's on the same predictions."""
import csv
import hashlib
import json
import re

import joblib
import numpy as np
import pytest
import torch
from sklearn.metrics import top_k_accuracy_score

from conftest import FAMILIES, ROOT, make_nsynth, run_script


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def printed(metric, text):
    return float(re.search(rf"^{metric}: ([0-9.]+)$", text, re.M).group(1))


def csv_scores(path):
    """Rebuild [N, 11] scores from the predictions CSV (ranks 3, 2, 1 for its top-3, zeros elsewhere: probabilities
    rounded in the CSV, or exactly 0 after softmax, would tie) and the true labels."""
    rows = list(csv.DictReader(open(path)))
    scores = np.zeros((len(rows), 11))
    for i, r in enumerate(rows):
        assert float(r["prob1"]) >= float(r["prob2"]) >= float(r["prob3"])
        for k in (1, 2, 3):
            scores[i, FAMILIES.index(r[f"pred{k}"])] = 4 - k
    return rows, scores, np.array([FAMILIES.index(r["true"]) for r in rows])


def test_visualize_mel_grid(nsynth_root, tmp_path):
    out = tmp_path / "res"
    proc = run_script("hw0/visualize_mel.py", "--data_dir", nsynth_root / "nsynth-train", "--out_dir", out)
    png = out / "mel_grid.png"
    assert png.stat().st_size > 50_000
    import matplotlib.image
    img = matplotlib.image.imread(png)
    assert img.shape[0] > 800 and img.std() > 0.05            # a real picture, not a blank canvas
    text = (out / "mel_grid.txt").read_text()
    assert text.strip() in proc.stdout
    # default picks: three families and low / middle / high pitch shared by all
    assert "MIDI 36" in text and "MIDI 60" in text and "MIDI 84" in text
    proc = run_script("hw0/visualize_mel.py", "--data_dir", nsynth_root / "nsynth-train", "--out_dir", out,
                      "--families", "organ,vocal,reed", "--pitches", "48,60,72")
    assert "- organ:" in proc.stdout and "- vocal:" in proc.stdout and "MIDI 48" in proc.stdout
    bad = run_script("hw0/visualize_mel.py", "--data_dir", nsynth_root / "nsynth-train", "--out_dir", out,
                     "--families", "organ,kazoo,reed", check=False)
    assert bad.returncode != 0 and bad.stderr.strip().startswith("error:") and "Traceback" not in bad.stderr
    bad = run_script("hw0/visualize_mel.py", "--data_dir", nsynth_root / "nsynth-train", "--out_dir", out,
                     "--pitches", "48,61,72", check=False)
    assert "no note for" in bad.stderr and "Traceback" not in bad.stderr


def test_train_ml_then_inference(nsynth_root, tmp_path):
    ck, res, cache = tmp_path / "ck", tmp_path / "res", tmp_path / "cache"
    args = ["hw0/train_ml.py", "--train_dir", nsynth_root / "nsynth-train", "--valid_dir",
            nsynth_root / "nsynth-valid", "--test_dir", nsynth_root / "nsynth-test", "--checkpoint_dir", ck,
            "--results_dir", res, "--cache_dir", cache]
    first = run_script(*args)
    assert first.stdout.count("features: wrote cache") == 3 and first.stdout.count("harmonics: wrote cache") == 3
    bundle = joblib.load(ck / "ml.joblib")
    assert len(bundle["feature_names"]) == bundle["pipeline"].n_features_in_ == 176 + 59
    assert bundle["harmonic_config"]["n_harmonics"] == 24
    summary = json.loads((res / "ml.json").read_text())
    assert summary["checkpoint"] == str(ck / "ml.joblib") and summary["checkpoint_sha256"] == sha256(ck / "ml.joblib")
    assert set(summary["candidates"]) == {"svm", "random_forest", "knn", "boosted_trees"}
    best = max(summary["candidates"].values(), key=lambda c: c["val_top1"])
    assert summary["val"]["top1"] == best["val_top1"]         # selection by validation
    assert summary["test"]["n"] == 20 and np.array(summary["test"]["confusion_matrix"]).shape == (11, 11)
    assert summary["test"]["top1"] > 0.5                       # the recipes are learnable; chance is 0.1
    assert (res / "ml_confusion.png").stat().st_size > 10_000
    refused = run_script(*args, check=False)                   # the checkpoint is kept unless asked
    assert refused.returncode != 0 and "ml.joblib exists" in refused.stderr and "--overwrite" in refused.stderr
    second = run_script(*args, "--overwrite")                  # features come from the cache the second time
    assert second.stdout.count("features: cache hit") == 3 and second.stdout.count("harmonics: cache hit") == 3
    assert json.loads((res / "ml.json").read_text())["test"] == summary["test"]

    inf = run_script("hw0/inference.py", "--test_dir", nsynth_root / "nsynth-test", "--model", "ml",
                     "--checkpoint", ck / "ml.joblib", "--out_dir", tmp_path / "inf")
    assert json.loads((tmp_path / "inf" / "inference_ml.json").read_text())["checkpoint_sha256"] == sha256(ck / "ml.joblib")
    rows, scores, y = csv_scores(tmp_path / "inf" / "predictions_ml.csv")
    assert len(rows) == 20
    assert printed("top-1", inf.stdout) == pytest.approx(top_k_accuracy_score(y, scores, k=1, labels=range(11)), abs=1e-4)
    assert printed("top-3", inf.stdout) == pytest.approx(top_k_accuracy_score(y, scores, k=3, labels=range(11)), abs=1e-4)
    assert printed("top-1", inf.stdout) == pytest.approx(summary["test"]["top1"], abs=1e-4)

    # the ablation baseline: the 176 pooled features only, from the same cache; inference follows its checkpoint
    base = run_script(*args, "--no_harmonics", "--models", "knn", "--name", "ml_pooled")
    assert "harmonics" not in base.stdout and base.stdout.count("features: cache hit") == 3
    assert joblib.load(ck / "ml_pooled.joblib")["pipeline"].n_features_in_ == 176
    inf = run_script("hw0/inference.py", "--test_dir", nsynth_root / "nsynth-test", "--model", "ml",
                     "--checkpoint", ck / "ml_pooled.joblib", "--out_dir", tmp_path / "inf")
    assert printed("top-1", inf.stdout) == pytest.approx(json.loads((res / "ml_pooled.json").read_text())["test"]["top1"],
                                                         abs=1e-4)


@pytest.mark.parametrize("no_log", [False, True])
def test_train_cnn_then_inference(nsynth_root, tmp_path, no_log):
    ck, res, cache = tmp_path / "ck", tmp_path / "res", tmp_path / "cache"
    name = "cnn_nolog" if no_log else "cnn_log"
    args = ["hw0/train_cnn.py", "--train_dir", nsynth_root / "nsynth-train", "--valid_dir",
            nsynth_root / "nsynth-valid", "--test_dir", nsynth_root / "nsynth-test", "--checkpoint_dir", ck,
            "--results_dir", res, "--cache_dir", cache, "--epochs", "12", "--batch_size", "16", "--width", "8",
            "--n_blocks", "3", "--lr", "3e-3"] + (["--no_log"] if no_log else [])
    run_script(*args)
    ckpt = torch.load(ck / f"{name}.pt", weights_only=True)       # plain tensors and python types only
    assert ckpt["log_input"] is (not no_log) and ckpt["class_names"] == FAMILIES
    assert ckpt["norm_mean"].shape == (64,) and ckpt["mel"]["n_mels"] == 64
    summary = json.loads((res / f"{name}.json").read_text())
    assert summary["checkpoint_sha256"] == sha256(ck / f"{name}.pt")            # the best epoch's file, as saved
    assert len(summary["history"]) == 12 and summary["log_input"] is (not no_log)
    assert summary["val"]["top1"] == max(h["val_top1"] for h in summary["history"])   # best epoch by validation
    assert summary["best_epoch"] == ckpt["epoch"]
    assert (res / f"{name}_curves.png").stat().st_size > 10_000
    assert (res / f"{name}_confusion.png").stat().st_size > 10_000
    if not no_log:
        assert summary["val"]["top1"] > 0.3                    # chance is 1/11

    inf = run_script("hw0/inference.py", "--test_dir", nsynth_root / "nsynth-test", "--checkpoint",
                     ck / f"{name}.pt", "--out_dir", tmp_path / "inf")
    assert json.loads((tmp_path / "inf" / f"inference_{name}.json").read_text())["checkpoint_sha256"] == \
        summary["checkpoint_sha256"]
    rows, scores, y = csv_scores(tmp_path / "inf" / f"predictions_{name}.csv")
    assert printed("top-1", inf.stdout) == pytest.approx(top_k_accuracy_score(y, scores, k=1, labels=range(11)), abs=1e-4)
    assert printed("top-3", inf.stdout) == pytest.approx(top_k_accuracy_score(y, scores, k=3, labels=range(11)), abs=1e-4)
    assert printed("top-1", inf.stdout) == pytest.approx(summary["test"]["top1"], abs=1e-4)
    assert (tmp_path / "inf" / f"inference_{name}_confusion.png").is_file()


def test_train_cnn_resume_continues_the_same_run(nsynth_root, tmp_path):
    common = ["hw0/train_cnn.py", "--train_dir", nsynth_root / "nsynth-train", "--valid_dir",
              nsynth_root / "nsynth-valid", "--cache_dir", tmp_path / "cache", "--width", "8", "--n_blocks", "3",
              "--batch_size", "32"]
    run_script(*common, "--epochs", "3", "--checkpoint_dir", tmp_path / "a", "--results_dir", tmp_path / "ra",
               "--name", "full")
    # stop after 2 epochs of the 3-epoch schedule, then resume: same history as the uninterrupted run
    stopped = run_script(*common, "--epochs", "3", "--checkpoint_dir", tmp_path / "b", "--results_dir",
                         tmp_path / "rb", "--name", "full_copy", "--stop_after_epoch", "2")
    assert "stopping after epoch 2" in stopped.stdout and not (tmp_path / "rb" / "full_copy.json").exists()
    resumed = run_script(*common, "--epochs", "3", "--checkpoint_dir", tmp_path / "b", "--results_dir",
                         tmp_path / "rb", "--name", "full_copy", "--resume")
    assert "resumed full_copy after epoch 2" in resumed.stdout and not re.search("^epoch 1:", resumed.stdout, re.M)
    full = json.loads((tmp_path / "ra" / "full.json").read_text())["history"]
    again = json.loads((tmp_path / "rb" / "full_copy.json").read_text())["history"]
    assert [h["val_top1"] for h in full] == [h["val_top1"] for h in again]   # deterministic with the seed


def test_visualize_mel_on_families_without_three_shared_pitches(tmp_path):
    """The demo set's families share no three pitches: each row shows three different pitches its family really has,
    and the text does not claim that a column holds one pitch."""
    proc = run_script("hw0/visualize_mel.py", "--data_dir", ROOT / "hw0" / "demo", "--out_dir", tmp_path)
    grid = json.loads((tmp_path / "mel_grid.json").read_text())
    for family in grid["families"]:
        assert len(set(grid["pitches"][family])) == 3
    shown = [f.rsplit("-", 2)[1] for f in grid["files"]]
    assert len(set(grid["files"])) == 9 and all(shown[3 * i:3 * i + 3] == sorted(shown[3 * i:3 * i + 3])
                                                for i in range(3))
    assert "same pitch, other families" not in proc.stdout and "a column's pitches differ" in proc.stdout
    assert "share fewer than three pitches" in proc.stderr


def test_visualize_mel_family_with_too_few_pitches_is_one_line_error(tmp_path):
    make_nsynth(tmp_path / "s", families=["bass", "organ", "reed"], pitches=(48, 60), velocities=(100,))
    proc = run_script("hw0/visualize_mel.py", "--data_dir", tmp_path / "s", "--out_dir", tmp_path / "o", check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error:") and "only 2 pitch(es)" in proc.stderr


def test_train_cnn_when_the_last_batch_would_hold_one_note(nsynth_root, tmp_path):
    """97 notes in batches of 16 leave one note over: it joins the batch before (BatchNorm can't train on one)."""
    run_script("hw0/train_cnn.py", "--train_dir", nsynth_root / "nsynth-train", "--valid_dir",
               nsynth_root / "nsynth-valid", "--max_train", "97", "--batch_size", "16", "--epochs", "1", "--width", "8",
               "--n_blocks", "3", "--cache_dir", tmp_path / "cache", "--checkpoint_dir", tmp_path / "ck",
               "--results_dir", tmp_path / "res")
    summary = json.loads((tmp_path / "res" / "cnn_log.json").read_text())
    assert summary["data"]["n_train"] == 97 and len(summary["history"]) == 1


def test_train_cnn_pitch_channel_then_inference(nsynth_root, tmp_path):
    """--pitch_channel 72: a two-channel network (mel + the same mel aligned on each note's pitch from its file name),
    trained with the pitch-moving "resample" augmentation; inference rebuilds the second channel from the checkpoint
    and scores the test split exactly as training's final evaluation did."""
    ck, res = tmp_path / "ck", tmp_path / "res"
    run_script("hw0/train_cnn.py", "--train_dir", nsynth_root / "nsynth-train", "--valid_dir",
               nsynth_root / "nsynth-valid", "--test_dir", nsynth_root / "nsynth-test", "--checkpoint_dir", ck,
               "--results_dir", res, "--cache_dir", tmp_path / "cache", "--epochs", "8", "--batch_size", "16",
               "--width", "8", "--n_blocks", "3", "--lr", "3e-3", "--pitch_channel", "72", "--augment", "resample,bands")
    ckpt = torch.load(ck / "cnn_log.pt", weights_only=True)
    assert ckpt["pitch_ref"] == 72 and ckpt["model_config"]["in_channels"] == 2
    assert ckpt["state_dict"]["blocks.0.0.weight"].shape[1] == 2
    summary = json.loads((res / "cnn_log.json").read_text())
    assert summary["recipe"]["pitch_channel"] == 72 and summary["val"]["top1"] > 0.2     # chance is 1/11
    inf = run_script("hw0/inference.py", "--test_dir", nsynth_root / "nsynth-test", "--checkpoint",
                     ck / "cnn_log.pt", "--out_dir", tmp_path / "inf")
    assert printed("top-1", inf.stdout) == pytest.approx(summary["test"]["top1"], abs=1e-4)
    assert printed("top-3", inf.stdout) == pytest.approx(summary["test"]["top3"], abs=1e-4)


def test_train_cnn_rfn_is_kept_in_the_checkpoint_and_used_by_inference(nsynth_root, tmp_path):
    """train_cnn.py --rfn 0.5 writes it into the checkpoint's model config and the results' recipe, and inference
    rebuilds that network: it scores the test split exactly as training's final evaluation did."""
    run_script("hw0/train_cnn.py", "--train_dir", nsynth_root / "nsynth-train", "--valid_dir",
               nsynth_root / "nsynth-valid", "--test_dir", nsynth_root / "nsynth-test", "--width", "8", "--n_blocks",
               "3", "--batch_size", "16", "--epochs", "2", "--rfn", "0.5", "--cache_dir", tmp_path / "cache",
               "--checkpoint_dir", tmp_path / "ck", "--results_dir", tmp_path / "res")
    ckpt = torch.load(tmp_path / "ck" / "cnn_log.pt", weights_only=True)
    summary = json.loads((tmp_path / "res" / "cnn_log.json").read_text())
    assert ckpt["model_config"]["rfn"] == 0.5 and summary["recipe"]["rfn"] == 0.5
    inf = run_script("hw0/inference.py", "--test_dir", nsynth_root / "nsynth-test", "--checkpoint",
                     tmp_path / "ck" / "cnn_log.pt", "--out_dir", tmp_path / "inf")
    assert printed("top-1", inf.stdout) == pytest.approx(summary["test"]["top1"], abs=1e-4)
    bad = run_script("hw0/train_cnn.py", "--train_dir", nsynth_root / "nsynth-train", "--valid_dir",
                     nsynth_root / "nsynth-valid", "--rfn", "1.5", "--name", "bad_rfn", "--checkpoint_dir",
                     tmp_path / "ck", "--results_dir", tmp_path / "res", check=False)
    assert bad.returncode != 0 and "--rfn 1.5 is not a blend weight" in bad.stderr and "Traceback" not in bad.stderr
