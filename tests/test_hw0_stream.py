"""The HW0 data path at scale: splits streamed chunk by chunk into on-disk caches equal to the in-memory computation,
extraction resumed after an interruption, training reproducible from the cache, bad files named and excluded, and
runs writing into runs/ (never over the shipped results or checkpoints)."""
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import ROOT, SR, copy_hw0, make_nsynth, run_script, tree_state
from hw0 import features, utils

MEL = dict(utils.MEL_DEFAULTS, n_fft=1024, hop_length=512, n_mels=64)


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    """11 notes and one corrupt wav in the middle: with chunk_size 4 that is three chunks, the last one partial."""
    root = tmp_path_factory.mktemp("stream") / "split"
    make_nsynth(root, families=["bass", "flute", "guitar", "organ"], pitches=(48, 72), velocities=(64, 127))
    for p in sorted((root / "audio").glob("*.wav"))[5:]:     # keep 5 good notes of the first families, drop the rest
        p.unlink()
    t = np.arange(4 * SR) / SR
    for k, pitch in enumerate((50, 55, 62, 67, 74, 79)):
        sf.write(root / "audio" / f"vocal_synthetic_00{k}-0{pitch}-100.wav", 0.4 * np.sin(2 * np.pi * 110 * 2 ** (k / 4) * t),
                 SR, subtype="PCM_16")
    (root / "audio" / "guitar_acoustic_000-060-100.wav").write_bytes(b"RIFF\x00\x00garbage")   # sorts among the others
    return root


def in_memory_log_mel(paths, labels):
    audio, kept, labels = utils.load_audio(paths, labels)
    return utils.log_mel(audio, MEL).half().numpy(), [str(p) for p in kept], labels


def test_streamed_log_mel_equals_in_memory_and_names_bad_files(split, tmp_path, capsys):
    paths, labels = utils.list_nsynth(split)
    assert len(paths) == 12
    expected, kept, kept_labels = in_memory_log_mel(paths, labels)
    capsys.readouterr()
    cache = utils.cached_rows("logmel", paths, labels, tmp_path, MEL,
                              lambda a: utils.log_mel(a, MEL).half().numpy(), chunk_size=4)
    err = capsys.readouterr().err
    assert "1 unreadable files excluded from prediction and metrics" in err and "guitar_acoustic_000-060-100.wav" in err
    assert cache["paths"] == kept and list(cache["labels"]) == list(kept_labels)
    streamed = utils.read_rows(cache["file"], cache["rows"])
    assert streamed.dtype == np.float16 and streamed.shape == expected.shape
    np.testing.assert_array_equal(streamed, expected)
    # the same cache again: a hit, the same rows, the same named exclusion
    again = utils.cached_rows("logmel", paths, labels, tmp_path, MEL, lambda a: 1 / 0, chunk_size=4)
    out = capsys.readouterr()
    assert "cache hit" in out.out and "guitar_acoustic_000-060-100.wav" in out.err
    assert again["paths"] == kept and np.array_equal(utils.read_rows(again["file"], again["rows"]), expected)


def test_streamed_features_equal_in_memory(split, tmp_path):
    paths, labels = utils.list_nsynth(split)
    audio, kept, _ = utils.load_audio(paths, labels)
    cache = utils.cached_rows("features", paths, labels, tmp_path, features.FEAT_DEFAULTS,
                              features.extract_features, chunk_size=5)
    assert cache["paths"] == [str(p) for p in kept]
    np.testing.assert_allclose(utils.read_rows(cache["file"], cache["rows"]), features.extract_features(audio),
                               rtol=1e-5, atol=1e-5)


def test_streamed_harmonic_features_keep_each_notes_pitch(split, tmp_path):
    """Each chunk gets the pitches of its own notes (from their names), across chunk edges and a corrupt file."""
    paths, labels = utils.list_nsynth(split)
    audio, kept, _ = utils.load_audio(paths, labels)
    pitches = utils.note_pitches(kept)
    assert len(set(pitches)) >= 6
    cache = utils.cached_rows("harmonics", paths, labels, tmp_path, features.HARMONIC_DEFAULTS,
                              features.harmonic_features, chunk_size=4, per_note=utils.note_pitches(paths))
    assert cache["paths"] == [str(p) for p in kept]
    streamed = utils.read_rows(cache["file"], cache["rows"])
    np.testing.assert_array_equal(streamed, features.harmonic_features(audio, pitches))
    shifted = features.harmonic_features(audio, np.roll(pitches, 1))       # one note off: the features notice
    assert not np.allclose(streamed, shifted, atol=1.0)


def test_interrupted_extraction_resumes_to_the_same_cache(split, tmp_path, capsys):
    paths, labels = utils.list_nsynth(split)
    whole = utils.cached_rows("logmel", paths, labels, tmp_path / "a", MEL,
                              lambda a: utils.log_mel(a, MEL).half().numpy(), chunk_size=4)
    calls = []

    def interrupted(audio):
        calls.append(len(audio))
        if len(calls) == 3:                     # the probe call, then chunk 1; dies in chunk 2
            raise KeyboardInterrupt
        return utils.log_mel(audio, MEL).half().numpy()

    with pytest.raises(KeyboardInterrupt):
        utils.cached_rows("logmel", paths, labels, tmp_path / "b", MEL, interrupted, chunk_size=4)
    partial = next((tmp_path / "b").glob("hw0_logmel_*.partial"))
    assert json.loads((partial / "progress.json").read_text())["chunks_done"] == 1
    assert not [d for d in (tmp_path / "b").iterdir() if not d.name.endswith(".partial")]   # nothing looks complete

    calls.clear()
    capsys.readouterr()
    resumed = utils.cached_rows("logmel", paths, labels, tmp_path / "b", MEL,
                                lambda a: calls.append(len(a)) or utils.log_mel(a, MEL).half().numpy(), chunk_size=4)
    out = capsys.readouterr().out
    assert "logmel: resuming" in out and "after 4 of 12 notes" in out
    assert calls == [1, 4, 4]                   # the probe, then only chunks 2 and 3 (4 notes each)
    assert not partial.exists()
    digest = lambda f: hashlib.sha1(f.read_bytes()).hexdigest()      # noqa: E731
    assert digest(resumed["file"]) == digest(whole["file"])
    assert resumed["paths"] == whole["paths"]


def test_streaming_mel_statistics_equal_the_in_memory_ones(split, tmp_path):
    paths, labels = utils.list_nsynth(split)
    cache = utils.cached_log_mel(paths, labels, tmp_path, MEL)
    x = torch.from_numpy(utils.read_rows(cache["file"], cache["rows"])).double()
    for log_input in (True, False):
        mean, std = utils.mel_stats(cache["file"], cache["rows"], log_input, chunk=3)
        ref = x if log_input else torch.exp(x)
        torch.testing.assert_close(mean, ref.mean(dim=(0, 2)).float())
        torch.testing.assert_close(std, ref.std(dim=(0, 2)).float() + 1e-5)


def test_examples_json_entries_without_a_family_fall_back_to_names(tmp_path, capsys):
    names = make_nsynth(tmp_path / "s", families=["bass", "reed"], pitches=(60,), velocities=(100,))
    meta = json.loads((tmp_path / "s" / "examples.json").read_text())
    del meta[names[1]]["instrument_family"]
    (tmp_path / "s" / "examples.json").write_text(json.dumps(meta))
    _, labels = utils.list_nsynth(tmp_path / "s")
    assert list(labels) == [0, 7]
    assert "1 entries of" in capsys.readouterr().err


def state_of(path):
    return torch.load(path, weights_only=True)["state_dict"]


def test_training_from_the_cache_reproduces_the_checkpoint(nsynth_root, tmp_path):
    """Same seed: the same weights, whether the cache was just written or read back, with or without DataLoader
    workers gathering the batches."""
    common = ["hw0/train_cnn.py", "--train_dir", nsynth_root / "nsynth-train", "--valid_dir",
              nsynth_root / "nsynth-valid", "--width", "8", "--n_blocks", "3", "--batch_size", "16", "--epochs", "2",
              "--augment", "gain,eq", "--mixup", "0.2"]
    fresh = run_script(*common, "--cache_dir", tmp_path / "c1", "--checkpoint_dir", tmp_path / "a",
                       "--results_dir", tmp_path / "ra")
    assert fresh.stdout.count("logmel: wrote cache") == 2
    hit = run_script(*common, "--cache_dir", tmp_path / "c1", "--checkpoint_dir", tmp_path / "b",
                     "--results_dir", tmp_path / "rb", "--workers", "2")
    assert hit.stdout.count("logmel: cache hit") == 2
    a, b = state_of(tmp_path / "a" / "cnn_log.pt"), state_of(tmp_path / "b" / "cnn_log.pt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    curves = json.loads((tmp_path / "ra" / "cnn_log.json").read_text())["history"]
    assert curves == json.loads((tmp_path / "rb" / "cnn_log.json").read_text())["history"]


def test_train_ml_caps_the_notes_kernel_and_memory_models_see(nsynth_root, tmp_path):
    run_script("hw0/train_ml.py", "--train_dir", nsynth_root / "nsynth-train", "--valid_dir",
               nsynth_root / "nsynth-valid", "--checkpoint_dir", tmp_path / "ck", "--results_dir", tmp_path / "res",
               "--cache_dir", tmp_path / "cache", "--fit_cap", "40", "--models", "svm,knn,boosted_trees")
    cands = json.loads((tmp_path / "res" / "ml.json").read_text())["candidates"]
    n_train = len(list((nsynth_root / "nsynth-train" / "audio").glob("*.wav")))
    assert cands["svm"]["n_fit"] == cands["knn"]["n_fit"] == 40
    assert cands["boosted_trees"]["n_fit"] == n_train > 40


def test_runs_write_under_runs_and_leave_tracked_files_untouched(tmp_path):
    """README command 1 (no arguments), inference on another folder and Task 1 with default outputs write into
    runs/hw0/<script>/<data name>/, never into results/ or checkpoints/, also when started from inside hw0/. Run in a
    copy of the repository's HW0 part, so the real runs/ stays as it was."""
    repo = copy_hw0(tmp_path / "repo")
    data = tmp_path / "nsynth-fixture"
    make_nsynth(data, families=["bass", "guitar", "organ"], pitches=(48, 60, 72), velocities=(100,))
    before = tree_state(repo / "results", repo / "checkpoints")
    demo = run_script("hw0/inference.py", cwd=repo)
    other = run_script("hw0/inference.py", "--test_dir", data / "audio", cwd=repo)     # named after audio/'s parent
    grid = run_script("hw0/visualize_mel.py", "--data_dir", data, cwd=repo)
    inside = run_script("visualize_mel.py", cwd=repo / "hw0")
    assert tree_state(repo / "results", repo / "checkpoints") == before
    runs = repo / "runs" / "hw0"
    summary = json.loads((runs / "inference" / "demo" / "inference_cnn_log.json").read_text())
    assert summary["checkpoint"] == "checkpoints/hw0/cnn_log.pt" and summary["test_dir"] == "hw0/demo"
    assert "runs/hw0/inference/demo/inference_cnn_log.json" in demo.stdout
    assert "runs/hw0/inference/nsynth-fixture/inference_cnn_log.json" in other.stdout
    assert json.loads((runs / "inference" / "nsynth-fixture" / "inference_cnn_log.json").read_text())["n"] == 9
    assert "runs/hw0/mel_grid/nsynth-fixture/mel_grid.png" in grid.stdout
    assert (runs / "mel_grid" / "nsynth-fixture" / "mel_grid.png").stat().st_size > 10_000
    assert "runs/hw0/mel_grid/demo/mel_grid.png" in inside.stdout and (runs / "mel_grid" / "demo" / "mel_grid.json").is_file()
    assert not (repo / "hw0" / "runs").exists() and not (repo / "hw0" / "results").exists()


@pytest.mark.parametrize("script,shipped", [("hw0/train_cnn.py", "cnn_log.pt"), ("hw0/train_ml.py", "ml.joblib")])
def test_training_refuses_to_replace_the_shipped_checkpoint(nsynth_root, script, shipped):
    """A trial run with the default folders stops before any work instead of overwriting checkpoints/hw0/."""
    before = tree_state(ROOT / "checkpoints" / "hw0")
    proc = run_script(script, "--train_dir", nsynth_root / "nsynth-train", "--valid_dir",
                      nsynth_root / "nsynth-valid", check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == proc.stderr.strip().splitlines()[0]          # one line
    assert f"checkpoints/hw0/{shipped} exists" in proc.stderr
    assert "--overwrite to replace it" in proc.stderr and "--name NAME for a trial run" in proc.stderr
    assert tree_state(ROOT / "checkpoints" / "hw0") == before


def test_a_subset_of_cached_files_is_copied_from_the_bigger_cache(split, tmp_path, capsys):
    """A fold of symlinks to some of a split's notes (bench/hw0_select.py) gets its cache from the split's cache:
    the same rows, the unreadable file still named and excluded, nothing decoded again."""
    paths, labels = utils.list_nsynth(split)
    full = utils.cached_rows("logmel", paths, labels, tmp_path, MEL, lambda a: utils.log_mel(a, MEL).half().numpy(),
                             chunk_size=4)
    fold = tmp_path / "fold" / "audio"
    fold.mkdir(parents=True)
    picked = [p for k, p in enumerate(paths) if k % 2 == 0 or "guitar_acoustic_000-060" in str(p)][::-1]
    for p in picked:
        (fold / p.name).symlink_to(p)
    sub_paths, sub_labels = utils.list_nsynth(fold.parent)
    capsys.readouterr()
    sub = utils.cached_rows("logmel", sub_paths, sub_labels, tmp_path, MEL, lambda a: 1 / 0, chunk_size=4)
    out = capsys.readouterr()
    assert f"{len(sub_paths)} notes copied from the cache" in out.out and "guitar_acoustic_000-060-100.wav" in out.err
    full_rows = {Path(p).name: r for p, r in zip(full["paths"], utils.read_rows(full["file"], full["rows"]))}
    sub_rows = utils.read_rows(sub["file"], sub["rows"])
    assert len(sub["paths"]) == len(picked) - 1 and list(sub["labels"]) == [
        lab for p, lab in zip(sub_paths, sub_labels) if "guitar_acoustic_000-060" not in str(p)]
    for p, row in zip(sub["paths"], sub_rows):
        np.testing.assert_array_equal(row, full_rows[Path(p).name])
    # other settings are another cache: computed, not copied
    other = dict(MEL, n_mels=32)
    utils.cached_rows("logmel", sub_paths, sub_labels, tmp_path, other,
                      lambda a: utils.log_mel(a, other).half().numpy(), chunk_size=4)
    assert "copied from the cache" not in capsys.readouterr().out


def test_fine_tuning_starts_from_the_checkpoint_and_keeps_its_input(nsynth_root, tmp_path):
    """--init: the first epoch starts from the given weights (its normalisation and mel settings kept, recorded with
    the checkpoint's sha256); a checkpoint trained on the other input kind is refused in one line."""
    common = ["hw0/train_cnn.py", "--train_dir", nsynth_root / "nsynth-train", "--valid_dir",
              nsynth_root / "nsynth-valid", "--batch_size", "16", "--cache_dir", tmp_path / "cache"]
    run_script(*common, "--width", "8", "--n_blocks", "3", "--epochs", "2", "--n_mels", "48",
               "--checkpoint_dir", tmp_path / "a", "--results_dir", tmp_path / "ra")
    base = torch.load(tmp_path / "a" / "cnn_log.pt", weights_only=True)
    run_script(*common, "--init", tmp_path / "a" / "cnn_log.pt", "--epochs", "1", "--lr", "1e-9",
               "--checkpoint_dir", tmp_path / "b", "--results_dir", tmp_path / "rb")
    tuned = torch.load(tmp_path / "b" / "cnn_log.pt", weights_only=True)
    assert tuned["model_config"] == base["model_config"] and tuned["mel"]["n_mels"] == 48
    assert torch.equal(tuned["norm_mean"], base["norm_mean"])
    for k, v in base["state_dict"].items():          # a learning rate of 1e-9: weights all but unchanged
        if v.is_floating_point() and "running" not in k:
            assert torch.allclose(tuned["state_dict"][k], v, atol=1e-5), k
    recipe = json.loads((tmp_path / "rb" / "cnn_log.json").read_text())["recipe"]
    assert recipe["init"]["sha256"] == hashlib.sha256((tmp_path / "a" / "cnn_log.pt").read_bytes()).hexdigest()
    refused = run_script(*common, "--init", tmp_path / "a" / "cnn_log.pt", "--no_log", "--epochs", "1",
                         "--checkpoint_dir", tmp_path / "c", "--results_dir", tmp_path / "rc", check=False)
    assert refused.returncode != 0 and "log_input=True" in refused.stderr and "Traceback" not in refused.stderr
