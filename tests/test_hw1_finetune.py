"""hw1/finetune_mert.py through its CLI on a tiny HuBERT-architecture encoder and a tiny course-format set."""
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hw1_fixtures as F  # noqa: E402

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory):
    return F.make_tiny_encoder(tmp_path_factory)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return F.make_slakh_set(tmp_path_factory.mktemp("slakh") / "slakh")


def train(encoder_dir, root, tmp, *extra, check=True):
    return F.run("finetune_mert.py", "--data_root", root, "--encoder", encoder_dir, "--cache_dir", tmp / "cache",
                 "--checkpoint", tmp / "ckpt" / "model.pt", "--results_dir", tmp / "results", *extra, check=check)


def load_ckpt(path):
    return torch.load(path, map_location="cpu", weights_only=True)


def test_frozen_probe_cache_reuse_and_validation_only_thresholds(encoder_dir, data_root, tmp_path):
    root = tmp_path / "slakh"
    shutil.copytree(data_root, root)
    p1 = train(encoder_dir, root, tmp_path, "--epochs", "4", "--eval_test", "--name", "frozen")
    assert p1.stdout.count("cache miss") == 3 and "cache hit" not in p1.stdout
    caches = sorted((tmp_path / "cache").glob("*.npy"))
    assert len(caches) == 3
    feats = np.load(caches[0])
    assert feats.dtype == np.float16 and feats.shape[1:] == (3, 32)    # 2 layers + 1 hidden states, width 32
    mtimes = {p: p.stat().st_mtime_ns for p in caches}

    ck1 = load_ckpt(tmp_path / "ckpt" / "model.pt")
    assert ck1["mode"] == "frozen" and ck1["pooling"] == "mean" and ck1["encoder"] == str(encoder_dir)
    assert ck1["class_names"] == F.CLASS_NAMES and len(ck1["thresholds"]) == 9 and ck1["encoder_state"] is None
    assert len(ck1["layer_weights"]) == 3 and abs(sum(ck1["layer_weights"]) - 1) < 1e-5
    assert isinstance(ck1["revision"], str) and ck1["revision"]

    res = json.loads((tmp_path / "results" / "frozen.json").read_text())
    for key in ("name", "mode", "encoder", "revision", "command", "data", "seed", "class_names", "pooling",
                "layer_weights", "thresholds", "val", "train_time_s", "history", "figures"):
        assert key in res, key
    assert res["data"]["provenance"].startswith("synthetic test fixture")
    assert len(res["history"]) == 4 and set(res["history"][0]) >= {"epoch", "train_loss", "val_loss", "val_macro_f1"}
    assert len(res["val"]["per_class_f1"]) == 9 and res["thresholds"] == ck1["thresholds"]
    best = max(h["val_macro_f1"] for h in res["history"])
    assert res["val"]["macro_f1"] == pytest.approx(best) == pytest.approx(ck1["val_macro_f1"])
    for fig in res["figures"].values():
        assert (tmp_path / "results" / fig).stat().st_size > 0

    # shuffle the test labels: nothing chosen in training may change (thresholds come from validation only)
    lab_path = root / "test_labels.json"
    labels = json.loads(lab_path.read_text())
    keys, vals = list(labels), list(labels.values())
    shuffled = dict(zip(keys, [[1 - v for v in row] for row in vals[::-1]]))
    assert shuffled != labels
    lab_path.write_text(json.dumps(shuffled))
    p2 = train(encoder_dir, root, tmp_path, "--epochs", "4", "--eval_test", "--name", "frozen")
    assert p2.stdout.count("cache hit") == 3 and "cache miss" not in p2.stdout
    assert {p: p.stat().st_mtime_ns for p in caches} == mtimes
    ck2 = load_ckpt(tmp_path / "ckpt" / "model.pt")
    assert ck2["thresholds"] == ck1["thresholds"] and ck2["epoch"] == ck1["epoch"]
    assert all(torch.equal(ck1["head"][k], ck2["head"][k]) for k in ck1["head"])
    res2 = json.loads((tmp_path / "results" / "frozen.json").read_text())
    assert res2["val"] == res["val"] and res2["test"]["n"] == res["test"]["n"] == 10


def test_finetune_top_layer_end_to_end(encoder_dir, data_root, tmp_path):
    train(encoder_dir, data_root, tmp_path, "--finetune", "--top_k_layers", "1", "--epochs", "2", "--batch_size", "8")
    ck = load_ckpt(tmp_path / "ckpt" / "model.pt")
    assert ck["mode"] == "finetune" and len(ck["thresholds"]) == 9
    state = ck["encoder_state"]
    assert state and all(k.startswith("encoder.layers.1.") for k in state)    # only the top layer was trainable
    from safetensors.torch import load_file
    orig = load_file(str(Path(encoder_dir) / "model.safetensors"))
    assert any(not torch.equal(orig[k], v) for k, v in state.items() if k in orig)   # the encoder really trained
    res = json.loads((tmp_path / "results" / "finetune.json").read_text())
    assert res["mode"] == "finetune" and res["top_k_layers"] == 1 and len(res["history"]) == 2
    # the fine-tuned checkpoint runs in inference (its encoder weights are restored from the checkpoint)
    p = F.run("inference.py", "--checkpoint", tmp_path / "ckpt" / "model.pt", "--test_dir", data_root / "test",
              "--out_dir", tmp_path / "inf")
    assert "(finetune" in p.stdout and (tmp_path / "inf" / "predictions.csv").is_file()


@pytest.mark.parametrize("encoder", ["nobody/no-such-mert", "./no/such/dir"])
def test_unreachable_encoder_is_one_line_hint(data_root, tmp_path, encoder):
    p = train(encoder, data_root, tmp_path, "--epochs", "1", check=False)
    assert p.returncode != 0 and "Traceback" not in p.stderr
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("error:") and "--encoder" in last and "huggingface-cli download" in last


def test_bad_training_data_reported(encoder_dir, data_root, tmp_path):
    root = tmp_path / "slakh"
    shutil.copytree(data_root, root)
    train_dir = root / "train"
    np.save(train_dir / "Track00000_train.npy", np.zeros(100000, np.float32))    # short -> padded, counted
    np.save(train_dir / "Track00001_train.npy", np.zeros(130000, np.float32))    # long -> trimmed, counted
    np.save(train_dir / "extra_without_key.npy", np.zeros(120000, np.float32))
    labels = json.loads((root / "train_labels.json").read_text())
    labels["missing_clip.npy"] = [1, 0, 0, 0, 0, 0, 0, 0, 0]
    labels["missing_clip2.npy"] = [0, 1, 0, 0, 0, 0, 0, 0, 0]
    (root / "train_labels.json").write_text(json.dumps(labels))
    p = train(encoder_dir, root, tmp_path, "--epochs", "1")
    assert "warning: 2 of 16 clips" in p.stdout and "not 120000 samples" in p.stdout
    assert "warning: 1 of 17 clips" in p.stdout and "have no key" in p.stdout
    assert "warning: 2 of 18 keys" in p.stdout and "have no clip" in p.stdout
    assert "train: 16 labelled clips" in p.stdout

    x = np.load(train_dir / "Track00002_train.npy")
    x[100] = np.nan
    np.save(train_dir / "Track00002_train.npy", x)
    p = train(encoder_dir, root, tmp_path / "again", "--epochs", "1", check=False)
    assert p.returncode != 0 and "Traceback" not in p.stderr
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("error:") and "Track00002_train.npy" in last and "NaN" in last
