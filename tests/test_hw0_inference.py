"""hw0/inference.py: the shipped checkpoints on the embedded demo set, which checkpoint a bare command runs (the one a
hand-in holds), what its results JSON records, and bad inputs ending in one-line errors or counted warnings (never a
traceback, never a silently dropped note)."""
import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import ROOT, copy_hw0, make_nsynth, run_script

SHIPPED = ROOT / "checkpoints" / "hw0"


def one_line_error(proc, *needles):
    assert proc.returncode != 0, proc.stdout
    err = proc.stderr.strip()
    assert "Traceback" not in proc.stderr, proc.stderr
    assert err.splitlines()[-1].startswith("error:") and len(err.splitlines()) == 1, err
    for n in needles:
        assert n in err, err


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("choice,shipped", [(["--model", "cnn"], "cnn_log.pt"), (["--model", "ml"], "ml.joblib"),
                                            (["--checkpoint", SHIPPED / "ml.joblib"], "ml.joblib")])
def test_default_run_on_the_embedded_demo_set(tmp_path, choice, shipped):
    proc = run_script("hw0/inference.py", *choice, "--out_dir", tmp_path)
    assert "embedded demo set" in proc.stdout
    top1 = float(re.search(r"^top-1: ([0-9.]+)$", proc.stdout, re.M).group(1))
    top3 = float(re.search(r"^top-3: ([0-9.]+)$", proc.stdout, re.M).group(1))
    assert 0 <= top1 <= top3 <= 1
    assert proc.stdout.count("top-1") == proc.stdout.count("top-3") == 1            # printed once
    summary = json.loads((tmp_path / f"inference_{Path(shipped).stem}.json").read_text())
    assert summary["model"] == ("ml" if shipped.endswith(".joblib") else "cnn")     # the kind follows the file
    assert summary["checkpoint"] == f"checkpoints/hw0/{shipped}"
    assert summary["checkpoint_sha256"] == sha256(SHIPPED / shipped)
    assert summary["n"] == len(list((ROOT / "hw0" / "demo" / "audio").glob("*.wav")))
    assert summary["top1"] == pytest.approx(top1, abs=1e-4)


@pytest.mark.parametrize("handed_in,shipped", [("cnn_nolog.pt", "cnn_nolog.pt"), ("ml.joblib", "ml.joblib"),
                                               ("mytrial.pt", "cnn_log.pt")])
def test_a_hand_in_with_one_checkpoint_runs_it_with_the_bare_command(tmp_path, handed_in, shipped):
    """hw0/ and checkpoints/hw0/<one file>, as a hand-in zip holds them: `python hw0/inference.py` runs that file,
    whatever its name, and the results name it and its bytes."""
    handin = copy_hw0(tmp_path / "handin", {handed_in: shipped})
    proc = run_script("hw0/inference.py", cwd=handin)
    reference = run_script("hw0/inference.py", "--checkpoint", SHIPPED / shipped, "--out_dir", tmp_path / "ref")
    for metric in ("top-1", "top-3"):
        line = re.search(rf"^{metric}: [0-9.]+$", proc.stdout, re.M).group(0)
        assert line in reference.stdout                                   # the same numbers as the shipped file
    stem = Path(handed_in).stem
    summary = json.loads((handin / "runs" / "hw0" / "inference" / "demo" / f"inference_{stem}.json").read_text())
    assert summary["checkpoint"] == f"checkpoints/hw0/{handed_in}"
    assert summary["checkpoint_sha256"] == sha256(handin / "checkpoints" / "hw0" / handed_in) == sha256(SHIPPED / shipped)
    assert (handin / "runs" / "hw0" / "inference" / "demo" / f"predictions_{stem}.csv").is_file()


def test_checkpoint_choice_errors(tmp_path):
    """Several checkpoints and no cnn_log.pt, none at all, or a --model the file contradicts: one line each."""
    handin = copy_hw0(tmp_path / "handin", {"a.pt": "cnn_nolog.pt", "b.joblib": "ml.joblib"})
    one_line_error(run_script("hw0/inference.py", cwd=handin, check=False),
                   "checkpoints/hw0 holds 2 checkpoints and no cnn_log.pt (a.pt, b.joblib)", "--checkpoint FILE")
    for f in (handin / "checkpoints" / "hw0").iterdir():
        f.unlink()
    one_line_error(run_script("hw0/inference.py", cwd=handin, check=False), "no checkpoint", "hw0/train_cnn.py")
    one_line_error(run_script("hw0/inference.py", "--model", "cnn", "--checkpoint", SHIPPED / "ml.joblib",
                              check=False), "ml.joblib is not a usable hw0 CNN checkpoint", "leave out --model cnn")
    one_line_error(run_script("hw0/inference.py", "--model", "ml", "--checkpoint", SHIPPED / "cnn_log.pt",
                              check=False), "cnn_log.pt is not a usable hw0 ML checkpoint", "leave out --model ml")


def test_shipped_cnn_checkpoints_load_weights_only():
    for name in ("cnn_log.pt", "cnn_nolog.pt"):
        ckpt = torch.load(SHIPPED / name, weights_only=True)
        assert ckpt["log_input"] is (name == "cnn_log.pt")
        assert (SHIPPED / name).stat().st_size < 20e6


@pytest.fixture
def small_split(tmp_path):
    make_nsynth(tmp_path / "split", families=["bass", "guitar", "organ"], pitches=(48, 60), velocities=(100,))
    return tmp_path / "split"


def test_odd_and_broken_wavs_are_counted_and_excluded(small_split, tmp_path):
    audio = small_split / "audio"
    y, sr = sf.read(audio / "bass_acoustic_000-048-100.wav")
    sf.write(audio / "bass_acoustic_000-048-100.wav", np.stack([y, y], 1), sr, subtype="PCM_16")       # stereo
    sf.write(audio / "guitar_acoustic_000-048-100.wav", y[:20000], sr, subtype="PCM_16")               # short
    sf.write(audio / "organ_acoustic_000-048-100.wav", np.interp(np.arange(0, len(y), 16 / 44.1),
                                                                 np.arange(len(y)), y), 44100)       # 44.1 kHz
    (audio / "organ_acoustic_000-060-100.wav").write_bytes(b"not a wav at all")                      # corrupt
    proc = run_script("hw0/inference.py", "--test_dir", small_split, "--out_dir", tmp_path / "o")
    assert "Traceback" not in proc.stderr
    for needle in ("1 files: multichannel", "1 files: sample rate 44100", "1 files: length not 4 s",
                   "1 unreadable files excluded", "organ_acoustic_000-060-100.wav"):
        assert needle in proc.stderr, proc.stderr
    assert "(5 notes scored)" in proc.stdout
    rows = (tmp_path / "o" / "predictions_cnn_log.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 5


def test_provenance_is_recorded_and_can_be_given(small_split, tmp_path):
    """A folder without dataset_info.json is recorded as such; --provenance says what it is instead."""
    proc = run_script("hw0/inference.py", "--test_dir", small_split, "--out_dir", tmp_path / "a")
    assert json.loads((tmp_path / "a" / "inference_cnn_log.json").read_text())["provenance"] == \
        "unknown (no dataset_info.json)"
    assert proc.stdout.count("top-1") == 1 and "(6 notes scored)" in proc.stdout
    told = "genuine NSynth notes (nsynth-test, 6 of them)"
    run_script("hw0/inference.py", "--test_dir", small_split, "--provenance", told, "--out_dir", tmp_path / "b")
    assert json.loads((tmp_path / "b" / "inference_cnn_log.json").read_text())["provenance"] == told
    make_nsynth(tmp_path / "grid", families=["bass", "guitar", "organ"], pitches=(48, 60, 72), velocities=(100,))
    run_script("hw0/visualize_mel.py", "--data_dir", tmp_path / "grid", "--provenance", told, "--out_dir",
               tmp_path / "c")
    assert json.loads((tmp_path / "c" / "mel_grid.json").read_text())["provenance"] == told


def test_unlabelled_files_are_predicted_not_scored(small_split, tmp_path):
    (small_split / "examples.json").unlink()
    shutil.copy(small_split / "audio" / "bass_acoustic_000-048-100.wav", small_split / "audio" / "take1.wav")
    proc = run_script("hw0/inference.py", "--test_dir", small_split / "audio", "--out_dir", tmp_path / "o")
    assert "1 of 7 files have no derivable instrument family" in proc.stderr
    assert "6 notes scored, 1 unlabelled not scored" in proc.stdout
    assert "take1.wav," in (tmp_path / "o" / "predictions_cnn_log.csv").read_text()


def test_bad_folders_and_metadata(tmp_path):
    one_line_error(run_script("hw0/inference.py", "--test_dir", tmp_path / "nope", check=False), "does not exist")
    (tmp_path / "empty").mkdir()
    one_line_error(run_script("hw0/inference.py", "--test_dir", tmp_path / "empty", check=False), "no .wav files")
    make_nsynth(tmp_path / "s", families=["bass"], pitches=(60,), velocities=(100,))
    (tmp_path / "s" / "examples.json").write_text("{not json")
    one_line_error(run_script("hw0/inference.py", "--test_dir", tmp_path / "s", check=False),
                   "examples.json is not valid NSynth metadata")
    (tmp_path / "s" / "examples.json").unlink()
    (tmp_path / "s" / "audio" / "bass_acoustic_000-060-100.wav").write_bytes(b"")
    one_line_error(run_script("hw0/inference.py", "--test_dir", tmp_path / "s", check=False),
                   "none of the 1 wav files could be read")


def test_bad_checkpoints(small_split, tmp_path):
    one_line_error(run_script("hw0/inference.py", "--test_dir", small_split, "--checkpoint", tmp_path / "x.pt",
                              check=False), "not found")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes((SHIPPED / "cnn_log.pt").read_bytes()[:5000])
    one_line_error(run_script("hw0/inference.py", "--test_dir", small_split, "--checkpoint", truncated,
                              check=False), "is not a usable hw0 CNN checkpoint")
    cut_ml = tmp_path / "truncated.joblib"
    cut_ml.write_bytes((SHIPPED / "ml.joblib").read_bytes()[:3000])
    one_line_error(run_script("hw0/inference.py", "--test_dir", small_split, "--checkpoint", cut_ml, check=False),
                   "is not a usable hw0 ML checkpoint")
    wrong = tmp_path / "wrong.pt"
    torch.save({"state_dict": {"w": torch.zeros(3)}, "model_config": {"width": 4}}, wrong)
    one_line_error(run_script("hw0/inference.py", "--test_dir", small_split, "--checkpoint", wrong, check=False),
                   "is not a usable hw0 CNN checkpoint")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message")
def test_cuda_without_gpu(small_split):
    one_line_error(run_script("hw0/inference.py", "--test_dir", small_split, "--device", "cuda", check=False),
                   "no CUDA GPU", "--device cpu")
