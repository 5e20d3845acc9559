"""hw1/finetune_mert.py through its CLI on a tiny HuBERT-architecture encoder and a tiny course-format set."""
import hashlib
import json
import os
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
    assert ck1["encoder_path"] == str(Path(encoder_dir).resolve()) and ck1["hub_id"] is None   # not a MERT shape
    assert ck1["layer_norm"] is True and ck1["precision"] == "fp32" and ck1["precision_flag"] == "auto"
    assert ck1["class_names"] == F.CLASS_NAMES and len(ck1["thresholds"]) == 9 and ck1["encoder_state"] is None
    assert len(ck1["layer_weights"]) == 3 and abs(sum(ck1["layer_weights"]) - 1) < 1e-5
    assert isinstance(ck1["revision"], str) and ck1["revision"]

    res = json.loads((tmp_path / "results" / "frozen.json").read_text())
    for key in ("name", "mode", "encoder", "revision", "command", "data", "seed", "class_names", "pooling",
                "layer_weights", "thresholds", "val", "train_time_s", "history", "figures"):
        assert key in res, key
    ckpt_bytes = (tmp_path / "ckpt" / "model.pt").read_bytes()
    assert res["checkpoint"] == str(tmp_path / "ckpt" / "model.pt")
    assert res["checkpoint_sha256"] == hashlib.sha256(ckpt_bytes).hexdigest()
    assert res["data"]["counts"]["train"]["n_excluded"] == 0 and res["data"]["counts"]["train"]["excluded"] == {}
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
    refused = train(encoder_dir, root, tmp_path, "--epochs", "4", "--eval_test", "--name", "frozen", check=False)
    last = refused.stderr.strip().splitlines()[-1]
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert last.startswith("error:") and "model.pt exists" in last and "--overwrite" in last and "--checkpoint" in last
    assert (tmp_path / "ckpt" / "model.pt").read_bytes() == ckpt_bytes
    p2 = train(encoder_dir, root, tmp_path, "--epochs", "4", "--eval_test", "--name", "frozen", "--overwrite")
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
    assert ck["encoder_state_dtype"] == "float16" and all(v.dtype == torch.float16 for v in state.values())
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
    assert last.startswith("error:") and "--encoder" in last and "hf download" in last


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

    # unusable clips are named, left out of their split and counted: NaN samples in train (found when the frozen
    # probe's features are extracted, and again from the cache), a text file in validation (from its header)
    x = np.load(train_dir / "Track00002_train.npy")
    x[100] = np.nan
    np.save(train_dir / "Track00002_train.npy", x)
    (root / "validation" / "Track00004_validation.npy").write_text("not audio")
    for again in ("again", "cached"):
        p = train(encoder_dir, root, tmp_path / "again", "--epochs", "1", "--overwrite")
        assert ("cache hit" in p.stdout) == (again == "cached")
        assert "warning: 1 of 16 clips" in p.stdout and "excluded from the train split" in p.stdout
        assert "Track00002_train.npy (NaN or inf samples)" in p.stdout
        assert "warning: 1 of 12 clips" in p.stdout and "excluded from the validation split" in p.stdout
        assert "Track00004_validation.npy (not a NumPy .npy file (bad header))" in p.stdout
        counts = json.loads((tmp_path / "again" / "results" / "frozen.json").read_text())["data"]["counts"]
        assert counts["train"]["n"] == 15 and counts["train"]["n_excluded"] == 1
        assert counts["train"]["excluded"] == {"Track00002_train.npy": "NaN or inf samples"}
        assert counts["validation"]["n"] == 11 and list(counts["validation"]["excluded"]) == ["Track00004_validation.npy"]

    p = train(encoder_dir, root, tmp_path / "ft", "--finetune", "--top_k_layers", "1", "--epochs", "1")
    assert "Track00002_train.npy (NaN or inf samples)" in p.stdout and "Track00004_validation.npy" in p.stdout
    counts = json.loads((tmp_path / "ft" / "results" / "finetune.json").read_text())["data"]["counts"]
    assert (counts["train"]["n"], counts["validation"]["n"]) == (15, 11)


def test_existing_default_checkpoint_is_not_replaced(data_root, tmp_path):
    """In a hand-in-like layout (hw1/ beside checkpoints/hw1/frozen.pt), training the same --name stops at once."""
    shutil.copytree(F.HW1, tmp_path / "hw1", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "checkpoints" / "hw1").mkdir(parents=True)
    (tmp_path / "checkpoints" / "hw1" / "frozen.pt").write_bytes(b"the shipped checkpoint")
    p = F.run("finetune_mert.py", "--data_root", data_root, "--encoder", "nobody/never-loaded", check=False,
              cwd=tmp_path, hw1_dir=tmp_path / "hw1")
    last = p.stderr.strip().splitlines()[-1]
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert last.startswith("error: checkpoints/hw1/frozen.pt exists") and "--overwrite" in last
    assert "--name NAME to write checkpoints/hw1/NAME.pt" in last
    assert (tmp_path / "checkpoints" / "hw1" / "frozen.pt").read_bytes() == b"the shipped checkpoint"
    assert not (tmp_path / "results").exists()


# ---------------------------------------------------------------------------------------------------------------------
# loading guards

def copy_encoder(encoder_dir, dst, edit=None):
    """A copy of the tiny encoder folder, its model.safetensors state dict passed through edit(dict) -> dict."""
    from safetensors.torch import load_file, save_file
    shutil.copytree(encoder_dir, dst)
    if edit:
        save_file(edit(load_file(str(dst / "model.safetensors"))), str(dst / "model.safetensors"),
                  metadata={"format": "pt"})
    return dst


def renamed_layers(sd):
    return {k.replace("encoder.layers.", "encoder.layer."): v for k, v in sd.items()}


def test_renamed_layer_keys_stop_training_with_one_line(encoder_dir, data_root, tmp_path):
    bad = copy_encoder(encoder_dir, tmp_path / "renamed", renamed_layers)
    p = train(bad, data_root, tmp_path, "--epochs", "1", check=False)
    assert p.returncode != 0 and "Traceback" not in p.stderr
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("error:") and "32 missing keys" in last and "encoder.layers.0." in last
    assert "32 unexpected keys" in last and "encoder.layer.0." in last and "random weights" in last
    assert not (tmp_path / "ckpt" / "model.pt").exists()
    assert "newly initialized" in p.stderr     # transformers' own warning is not muted either


def test_loader_guards_mismatched_shapes_but_passes_harmless_keys(encoder_dir, tmp_path):
    import transformers
    U = F.load_hw1_utils()
    k = "encoder.layers.0.attention.k_proj.weight"
    bad = copy_encoder(encoder_dir, tmp_path / "mismatched", lambda sd: dict(sd, **{k: torch.zeros(16, 32)}))
    with pytest.raises(SystemExit) as e:
        U.load_encoder(bad)
    assert str(e.value).startswith("error:") and f"1 mismatched keys ({k})" in str(e.value)
    # a pre-training head left in the file is known to be harmless: it loads, and the encoder equals the original
    extra = copy_encoder(encoder_dir, tmp_path / "with_head",
                         lambda sd: dict(sd, **{"final_proj.weight": torch.ones(4, 32)}))
    model, _, rev = U.load_encoder(extra)
    ref, _, _ = U.load_encoder(encoder_dir)
    assert rev == "local"
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), ref.state_dict().values()))
    assert transformers.logging.get_verbosity() == transformers.logging.WARNING   # logging is not muted globally


def test_torch_requirement_is_what_transformers_needs_for_bin_weights():
    from packaging.requirements import Requirement
    for req_file in (F.REPO / "requirements.txt", F.HW1 / "requirements.txt"):
        (line,) = [ln.split("#")[0].strip() for ln in req_file.read_text().splitlines()
                   if ln.strip().startswith("torch")]
        spec = Requirement(line).specifier
        assert "2.6.0" in spec and "2.5.1" not in spec and "2.1.0" not in spec, (req_file, line)
    assert "torch >= 2.6" in (F.HW1 / "README.txt").read_text()


def test_load_error_shows_its_reason_and_download_hint_only_when_not_found(encoder_dir, tmp_path, monkeypatch):
    """MERT's hub repos ship pytorch_model.bin; transformers >= 4.52 refuses .bin files under torch < 2.6. We can't
    install an old torch here, so transformers' own version test is told torch is 2.5: its real check then fires."""
    from transformers import HubertModel
    import transformers.utils.import_utils as iu
    U = F.load_hw1_utils()
    bin_dir = tmp_path / "bin"
    HubertModel.from_pretrained(encoder_dir).save_pretrained(bin_dir, safe_serialization=False)
    shutil.copy(Path(encoder_dir) / "preprocessor_config.json", bin_dir)
    assert (bin_dir / "pytorch_model.bin").is_file()
    real = iu.is_torch_greater_or_equal
    monkeypatch.setattr(iu, "is_torch_greater_or_equal", lambda v, accept_dev=False: v != "2.6" and real(v, accept_dev))
    with pytest.raises(SystemExit) as e:
        U.load_encoder(bin_dir)
    msg = str(e.value)
    assert msg.startswith("error:") and "torch >= 2.6" in msg and "pip install" in msg
    assert "hf download" not in msg
    monkeypatch.undo()
    U.load_encoder(bin_dir)          # the same folder loads with this torch

    corrupt = copy_encoder(encoder_dir, tmp_path / "corrupt")
    (corrupt / "model.safetensors").write_bytes(b"not a safetensors file" * 4)
    with pytest.raises(SystemExit) as e:
        U.load_encoder(corrupt)
    assert "SafetensorError" in str(e.value) and "hf download" not in str(e.value)

    (corrupt / "model.safetensors").unlink()            # now the weights are simply not there: the download hint
    with pytest.raises(SystemExit) as e:
        U.load_encoder(corrupt)
    assert "no file named" in str(e.value)
    assert "hf download m-a-p/MERT-v1-95M --local-dir models/MERT-v1-95M" in str(e.value)


def test_hub_id_known_from_the_architecture():
    U = F.load_hw1_utils()
    assert U.hub_id_for(768, 12) == "m-a-p/MERT-v1-95M" and U.hub_id_for(1024, 24) == "m-a-p/MERT-v1-330M"
    assert U.hub_id_for(32, 2) is None


# ---------------------------------------------------------------------------------------------------------------------
# fine-tuning mechanics, on the tiny encoder in this process

def tiny_batch(n=2, seed=0):
    rng = np.random.default_rng(seed)
    return [F.synth_clip((rng.random(9) < 0.5).astype(int), rng) for _ in range(n)]


@pytest.mark.parametrize("top_k", [1, 0])
def test_finetune_cnn_front_end_builds_no_graph(encoder_dir, top_k):
    ProbeHead = F.load_hw1_model().ProbeHead
    U = F.load_hw1_utils()
    encoder, fe, _ = U.load_encoder(encoder_dir)
    k = U.freeze_for_finetune(encoder, top_k)
    assert k == (1 if top_k else 2)
    seen = {}
    encoder.feature_extractor.register_forward_hook(lambda m, i, out: seen.update(grad=out.requires_grad))
    encoder.train()
    head = ProbeHead(3, 32)
    z = U.pooled_states(encoder, U.prepare(fe, tiny_batch(), "cpu"))
    U.head_logits(head, z).sum().backward()
    assert seen["grad"] is False                     # the conv front end's output is a constant for autograd
    assert all(p.grad is None for p in encoder.feature_extractor.parameters())
    assert all(p.grad is not None for p in encoder.encoder.layers[-1].parameters())
    assert all(p.grad is None for p in encoder.encoder.layers[0].parameters()) == (top_k == 1)
    assert (encoder.feature_projection.projection.weight.grad is not None) == (top_k == 0)


def test_precision_decision():
    U = F.load_hw1_utils()
    assert U.amp_dtype_for("cpu") is None
    for cap, want in [((7, 5), torch.float16), ((7, 0), torch.float16), ((6, 1), torch.float16),   # T4, V100, P100
                      ((8, 0), torch.bfloat16), ((8, 6), torch.bfloat16), ((8, 9), torch.bfloat16),
                      ((9, 0), torch.bfloat16)]:                                           # A100, RTX 30xx, L4, H100
        assert U.amp_dtype_for("cuda", cap) == want, cap
    assert U.amp_dtype("cpu") is None and U.precision_name("cpu") == "fp32"
    assert U.amp_dtype("cpu", "fp16") == torch.float16 and U.precision_name("cpu", "bf16") == "bf16 autocast"
    assert U.amp_dtype("cuda", "fp32") is None


def test_head_logits_are_fp32_under_autocast(encoder_dir):
    """Threshold tuning runs the head right after the encoder, inside its autocast; inference runs it on features
    read back from numpy. The head's logits must be the same numbers in both."""
    ProbeHead = F.load_hw1_model().ProbeHead
    U = F.load_hw1_utils()
    encoder, fe, _ = U.load_encoder(encoder_dir)
    torch.manual_seed(0)
    head = ProbeHead(3, 32, layer_norm=True).eval()
    with torch.no_grad():
        with torch.autocast("cpu", dtype=torch.bfloat16):      # the GPU's bf16 autocast, here on the CPU
            z = U.pooled_states(encoder, U.prepare(fe, tiny_batch(3), "cpu"))
            tuned = U.head_logits(head, z)                       # what training / threshold tuning compute
        inferred = U.head_logits(head, torch.from_numpy(z.numpy()))   # what inference computes from the features
    assert tuned.dtype == torch.float32 and torch.equal(tuned, inferred)


def test_weight_decay_groups_and_schedule():
    ProbeHead = F.load_hw1_model().ProbeHead
    U = F.load_hw1_utils()
    head = ProbeHead(3, 32)
    decay, no_decay = U.param_groups(head.named_parameters(), 1e-3, 0.01)
    assert decay["weight_decay"] == 0.01 and no_decay["weight_decay"] == 0.0
    ids = {id(p) for p in no_decay["params"]}
    assert id(head.layer_logits) in ids and id(head.norm.weight) in ids and id(head.norm.bias) in ids
    assert id(head.mlp[0].bias) in ids and id(head.mlp[0].weight) not in ids
    assert {id(p) for p in decay["params"]} == {id(head.mlp[0].weight), id(head.mlp[3].weight)}
    lr = [U.warmup_cosine(s, 100, 10) for s in range(101)]
    assert lr[0] == pytest.approx(0.1) and lr[9] == pytest.approx(1.0) and lr[10] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lr[10:], lr[11:])) and lr[100] == pytest.approx(0.0)


def test_per_layer_norm_makes_layer_scale_irrelevant():
    ProbeHead = F.load_hw1_model().ProbeHead
    torch.manual_seed(0)
    z = torch.randn(4, 3, 32)
    loud = z.clone()
    loud[:, 2] *= 1000                 # one layer 1000x louder, as deep pre-LN layers can be
    for flag, same in ((True, True), (False, False)):
        torch.manual_seed(1)
        head = ProbeHead(3, 32, layer_norm=flag).eval()
        assert torch.allclose(head(z), head(loud), atol=1e-4) == same


def test_clips_prefetched_by_workers_in_order_and_errors_stop(data_root, tmp_path):
    U = F.load_hw1_utils()
    files = sorted((data_root / "train").glob("*.npy"))[:7]
    batches = [[3, 0], [6, 1, 2], [5], [4]]
    got = list(U.clip_batches(files, batches, workers=2))
    assert [idx for idx, _ in got] == batches
    assert all(np.array_equal(w, U.load_clip(files[i])) for idx, waves in got for i, w in zip(idx, waves))
    bad = tmp_path / "bad.npy"
    x = np.zeros(120000, np.float32)
    x[7] = np.nan
    np.save(bad, x)
    with pytest.raises(SystemExit) as e:
        list(U.clip_batches(files[:2] + [bad], [[0, 1], [2]], workers=2))
    assert str(e.value).startswith("error:") and "bad.npy" in str(e.value) and "NaN" in str(e.value)
    problems = {}                                 # given a problems dict: recorded, left out, the rest in order
    got = list(U.clip_batches([bad] + files[:2], [[0, 1], [2]], workers=2, problems=problems))
    assert [idx for idx, _ in got] == [[1], [2]] and problems == {bad: "NaN or inf samples"}


def test_checkpoint_without_layer_norm_key_still_loads(encoder_dir, data_root, tmp_path):
    """Checkpoints from before the per-layer LayerNorm flag: no key, trained without it; they predict as before."""
    train(encoder_dir, data_root, tmp_path, "--epochs", "2", "--no_layer_norm")
    ck = load_ckpt(tmp_path / "ckpt" / "model.pt")
    assert ck["layer_norm"] is False
    for k in ("layer_norm", "hub_id", "encoder_path", "encoder_state_dtype", "precision"):
        ck.pop(k)
    torch.save(ck, tmp_path / "old.pt")
    outs = []
    for c in (tmp_path / "ckpt" / "model.pt", tmp_path / "old.pt"):
        F.run("inference.py", "--checkpoint", c, "--test_dir", data_root / "test", "--out_dir", tmp_path / c.stem)
        outs.append((tmp_path / c.stem / "predictions.csv").read_text())
    assert outs[0] == outs[1]


# ---------------------------------------------------------------------------------------------------------------------
# a student's first real run: CPU fallback, spawn workers, interruption, fp16 overflow, thresholds of the saved encoder

def test_auto_device_on_cpu_warns_loudly_for_a_long_job_and_device_cpu_does_not(encoder_dir, data_root, tmp_path):
    U = F.load_hw1_utils()
    if torch.cuda.is_available():
        pytest.skip("--device auto picks the GPU here")
    big = F.make_large_split_set(tmp_path / "big", data_root, U.CPU_WARN_CLIPS)   # + 12 validation clips: above it
    quiet = train(encoder_dir, big, tmp_path, "--epochs", "1", "--device", "cpu")
    assert "WARNING" not in quiet.stdout + quiet.stderr and "cache miss: train: extracting 300 clips" in quiet.stdout
    cached = train(encoder_dir, big, tmp_path, "--epochs", "1", "--overwrite")     # auto, but nothing to extract
    assert "WARNING" not in cached.stdout + cached.stderr and "cache miss" not in cached.stdout
    loud = train(encoder_dir, big, tmp_path, "--epochs", "1", "--overwrite", "--cache_dir", tmp_path / "cache2")
    warning = loud.stderr[loud.stderr.index("WARNING"):]
    assert "--device auto found no CUDA GPU" in warning and "312 clips to extract" in warning
    assert "hours" in warning and "nvidia-smi" in warning and "pytorch.org" in warning and "--device cpu" in warning
    assert loud.stdout.index("cache miss") > 0 and (tmp_path / "ckpt" / "model.pt").is_file()   # it still runs
    small = train(encoder_dir, data_root, tmp_path, "--epochs", "1", "--overwrite", "--cache_dir", tmp_path / "c3")
    assert "WARNING" not in small.stdout + small.stderr                     # 28 clips: a quick run stays quiet


def test_scripts_run_under_the_spawn_start_method(encoder_dir, data_root, tmp_path):
    """Windows and macOS start the clip-reading workers with spawn: each worker imports the script file again."""
    ckpt = tmp_path / "ckpt" / "model.pt"
    p = F.run_spawned("finetune_mert.py", "--data_root", data_root, "--encoder", encoder_dir, "--finetune",
                      "--top_k_layers", "1", "--epochs", "1", "--limit", "8", "--workers", "2", "--checkpoint", ckpt,
                      "--results_dir", tmp_path / "results", "--cache_dir", tmp_path / "cache")
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.count("hw1 finetune:") == 1 and ckpt.is_file()        # the workers did not re-run the script
    p = F.run_spawned("inference.py", "--checkpoint", ckpt, "--test_dir", data_root / "test", "--workers", "2",
                      "--out_dir", tmp_path / "inf")
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.count("checkpoint ") == 1 and (tmp_path / "inf" / "inference.json").is_file()


FINETUNE_3 = ("--finetune", "--top_k_layers", "1", "--epochs", "3", "--batch_size", "8")


@pytest.fixture(scope="module")
def finetuned(encoder_dir, data_root, tmp_path_factory):
    """An uninterrupted 3-epoch fine-tuning run of the top layer."""
    whole = tmp_path_factory.mktemp("whole")
    train(encoder_dir, data_root, whole, *FINETUNE_3)
    return whole


def test_finetune_resume_equals_an_uninterrupted_run(encoder_dir, data_root, finetuned, tmp_path):
    ck = load_ckpt(finetuned / "ckpt" / "model.pt")
    assert not list((finetuned / "ckpt").glob("*.resume")) and not list((finetuned / "ckpt").glob("*.tmp"))
    p1 = train(encoder_dir, data_root, tmp_path, *FINETUNE_3, "--stop_after_epoch", "1")
    assert "continue with --resume" in p1.stdout and "epoch   2" not in p1.stdout
    assert (tmp_path / "ckpt" / "model.pt.resume").is_file()                 # the state to continue from
    first = load_ckpt(tmp_path / "ckpt" / "model.pt")                         # the best-so-far checkpoint, already there
    assert first["epoch"] == 1 and len(first["thresholds"]) == 9
    changed = train(encoder_dir, data_root, tmp_path, *FINETUNE_3[:-1], "4", "--resume", check=False)
    assert changed.returncode != 0 and changed.stderr.strip().splitlines()[-1].startswith("error: --resume:")
    p2 = train(encoder_dir, data_root, tmp_path, *FINETUNE_3, "--resume")
    assert "resumed from" in p2.stdout and "epoch   1" not in p2.stdout and "epoch   3" in p2.stdout
    assert not (tmp_path / "ckpt" / "model.pt.resume").exists()
    ck2 = load_ckpt(tmp_path / "ckpt" / "model.pt")
    assert ck2["epoch"] == ck["epoch"] and ck2["thresholds"] == ck["thresholds"]
    assert ck2["val_macro_f1"] == ck["val_macro_f1"]
    assert all(torch.equal(ck["head"][k], ck2["head"][k]) for k in ck["head"])
    assert all(torch.equal(ck["encoder_state"][k], ck2["encoder_state"][k]) for k in ck["encoder_state"])
    res, res2 = (json.loads((d / "results" / "finetune.json").read_text()) for d in (finetuned, tmp_path))
    assert [h["val_macro_f1"] for h in res2["history"]] == [h["val_macro_f1"] for h in res["history"]]


def test_finetune_thresholds_are_tuned_on_the_encoder_as_saved(encoder_dir, data_root, finetuned):
    """The encoder's trained weights are saved in fp16 and loaded back as fp32: the saved thresholds (and F1) must be
    those tuned on validation with the checkpoint loaded back, not with the unrounded weights of training."""
    ck = load_ckpt(finetuned / "ckpt" / "model.pt")
    U = F.load_hw1_utils()
    ProbeHead = F.load_hw1_model().ProbeHead
    encoder, fe, _ = U.load_encoder(encoder_dir)
    encoder.load_state_dict({k: v.float() for k, v in ck["encoder_state"].items()}, strict=False)
    encoder.eval()
    head = ProbeHead(ck["n_states"], ck["dim"], 9, ck["hidden"], ck["dropout"], ck["layer_norm"])
    head.load_state_dict(ck["head"])
    head.eval()
    files, y, _ = U.read_split(data_root, "validation")
    probs, threads = [], torch.get_num_threads()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))       # as F.run gave the training run
    with torch.no_grad():
        for i in range(0, len(files), 8):                                     # the training run's batches
            waves = [U.load_clip(f) for f in files[i:i + 8]]
            probs.append(torch.sigmoid(U.head_logits(head, U.pooled_states(encoder, U.prepare(fe, waves, "cpu")))))
    torch.set_num_threads(threads)
    probs = torch.cat(probs).numpy()
    tuned = U.choose_thresholds(probs, y)
    # equal, not close: rounding the weights moves the probabilities by ~1e-6 here, and a threshold is one of them
    assert np.array_equal(tuned, np.float32(ck["thresholds"])), np.abs(tuned - ck["thresholds"]).max()
    assert U.f1_scores(y, (probs >= tuned).astype(int))["macro_f1"] == pytest.approx(ck["val_macro_f1"], abs=1e-9)


def test_precision_flag_and_non_finite_features(data_root, tmp_path_factory, tmp_path):
    """An encoder whose activations overflow float16: under --precision fp16 (CPU autocast here, a T4's default on a
    GPU) the pooled features are NaN, which must stop the run with one line before the cache and the thresholds;
    --precision fp32 is the fix, and the checkpoint and results record the flag."""
    overflowing = F.make_overflowing_encoder(tmp_path_factory)
    for mode in ([], ["--finetune", "--top_k_layers", "1"]):
        p = train(overflowing, data_root, tmp_path, "--epochs", "1", "--precision", "fp16", *mode, check=False)
        last = p.stderr.strip().splitlines()[-1]
        assert p.returncode != 0 and "Traceback" not in p.stderr, p.stderr[-2000:]
        assert last.startswith("error: the train split") and "NaN/inf MERT features under fp16 autocast" in last
        assert "--precision fp32" in last and (" of 16 clips" in last if not mode else "a batch of" in last)
        assert not (tmp_path / "ckpt" / "model.pt").exists() and not list((tmp_path / "cache").glob("*.npy"))
    train(overflowing, data_root, tmp_path, "--epochs", "1", "--precision", "fp32", "--name", "frozen")
    ck = load_ckpt(tmp_path / "ckpt" / "model.pt")
    res = json.loads((tmp_path / "results" / "frozen.json").read_text())
    assert ck["precision_flag"] == res["precision_flag"] == "fp32" and ck["precision"] == res["precision"] == "fp32"
    assert np.isfinite(ck["thresholds"]).all()
