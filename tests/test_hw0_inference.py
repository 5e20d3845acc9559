"""hw0/inference.py: the shipped checkpoints on the embedded demo set, and bad inputs ending in one-line errors or
counted warnings (never a traceback, never a silently dropped note)."""
import json
import re
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import ROOT, make_nsynth, run_script

SHIPPED = ROOT / "checkpoints" / "hw0"


def one_line_error(proc, *needles):
    assert proc.returncode != 0, proc.stdout
    err = proc.stderr.strip()
    assert "Traceback" not in proc.stderr, proc.stderr
    assert err.splitlines()[-1].startswith("error:") and len(err.splitlines()) == 1, err
    for n in needles:
        assert n in err, err


@pytest.mark.parametrize("model", ["cnn", "ml"])
def test_default_run_on_the_embedded_demo_set(tmp_path, model):
    proc = run_script("hw0/inference.py", "--model", model, "--out_dir", tmp_path)
    assert "embedded demo set" in proc.stdout
    top1 = float(re.search(r"^top-1: ([0-9.]+)$", proc.stdout, re.M).group(1))
    top3 = float(re.search(r"^top-3: ([0-9.]+)$", proc.stdout, re.M).group(1))
    assert 0 <= top1 <= top3 <= 1
    summary = json.loads(next(tmp_path.glob("inference_*.json")).read_text())
    assert summary["n"] == len(list((ROOT / "hw0" / "demo" / "audio").glob("*.wav")))
    assert summary["top1"] == pytest.approx(top1, abs=1e-4)


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
    one_line_error(run_script("hw0/inference.py", "--test_dir", small_split, "--model", "ml", "--checkpoint",
                              truncated, check=False), "is not a usable hw0 ML checkpoint")
    wrong = tmp_path / "wrong.pt"
    torch.save({"state_dict": {"w": torch.zeros(3)}, "model_config": {"width": 4}}, wrong)
    one_line_error(run_script("hw0/inference.py", "--test_dir", small_split, "--checkpoint", wrong, check=False),
                   "is not a usable hw0 CNN checkpoint")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message")
def test_cuda_without_gpu(small_split):
    one_line_error(run_script("hw0/inference.py", "--test_dir", small_split, "--device", "cuda", check=False),
                   "no CUDA GPU", "--device cpu")
