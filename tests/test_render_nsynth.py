"""tools/render_nsynth.py (+ tools/synth_patches.py) through the CLI on a handful of notes (TimGM6mb from pretty_midi)."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import ROOT, run_script

pytest.importorskip("tinysoundfont")
pretty_midi = pytest.importorskip("pretty_midi")

SCRIPT = ROOT / "tools" / "render_nsynth.py"
FONT = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
SPLITS = "train=timgm:0.5,synthetic:0.5;valid=timgm:0.25,synthetic:0.25;test=timgm:0.25,synthetic:0.25"
FAMILIES = ["bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "reed", "string", "synth_lead", "vocal"]
KEYS = {"note", "note_str", "instrument", "instrument_str", "pitch", "velocity", "sample_rate", "qualities",
        "qualities_str", "instrument_family", "instrument_family_str", "instrument_source", "instrument_source_str"}


def render(out, workers):
    run_script(SCRIPT, "--out", out, "--fonts", FONT, "--splits", SPLITS, "--programs", "0-7,24-27",
               "--families", "keyboard,guitar,vocal,synth_lead", "--synthetic_per_family", "4", "--pitch_step", "24",
               "--velocities", "25,127", "--lineage_notes", "synthetic=3", "--seed", "3", "--workers", workers,
               timeout=300)
    return out


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return render(tmp_path_factory.mktemp("nsynth") / "a", workers=2)


def load(root, split):
    return json.loads((root / split / "examples.json").read_text())


def test_layout_header_and_keys(data):
    for split in ("train", "valid", "test"):
        ex = load(data, split)
        wavs = sorted((data / split / "audio").glob("*.wav"))
        assert ex and len(wavs) == len(ex)
        assert {w.stem for w in wavs} == set(ex)
        for w in wavs:
            assert w.stat().st_size == 128044  # 44-byte header + 64000 int16 samples
            info = sf.info(str(w))
            assert (info.samplerate, info.channels, info.frames, info.subtype) == (16000, 1, 64000, "PCM_16")
            assert w.read_bytes()[:4] == b"RIFF" and w.read_bytes()[36:40] == b"data"
        for name, e in ex.items():
            assert set(e) == KEYS
            assert e["note_str"] == name and e["sample_rate"] == 16000 and len(e["qualities"]) == 10
            inst, pitch, vel = name.rsplit("-", 2)
            family, source, idx = inst.rsplit("_", 2)
            assert (inst, int(pitch), int(vel)) == (e["instrument_str"], e["pitch"], e["velocity"])
            assert family == e["instrument_family_str"] == FAMILIES[e["instrument_family"]]
            assert source == e["instrument_source_str"] == ["acoustic", "electronic", "synthetic"][e["instrument_source"]]
            assert len(idx) >= 3 and idx.isdigit()
            assert 21 <= e["pitch"] <= 108 and e["velocity"] in (25, 127)
    info = json.loads((data / "dataset_info.json").read_text())
    assert info["provenance"].startswith("rendered proxy data")
    assert info["counts"]["train"]["notes"] == len(load(data, "train"))


def test_instrument_disjoint_and_families(data):
    info = json.loads((data / "dataset_info.json").read_text())
    insts = {s: set(info["instruments"][s]) for s in ("train", "valid", "test")}
    units = {s: {v["unit"] for v in info["instruments"][s].values()} for s in insts}
    for a, b in (("train", "valid"), ("train", "test"), ("valid", "test")):
        assert not insts[a] & insts[b]
        assert not units[a] & units[b]  # (lineage, program) never straddles splits
    train = load(data, "train")
    assert {e["instrument_family_str"] for e in train.values()} == {"keyboard", "guitar", "vocal", "synth_lead"}
    assert {e["instrument_source_str"] for e in train.values()} >= {"acoustic", "synthetic"}
    assert {e["instrument_str"] for e in train.values()} == insts["train"]


def test_loudness_like_nsynth(data):
    peaks = [np.abs(sf.read(str(w))[0]).max() for w in sorted((data / "train" / "audio").glob("*.wav"))]
    assert min(peaks) >= 0.55 - 1e-3 and max(peaks) <= 1.0
    assert np.std(peaks) > 0.02  # random per note, not all at one level


def test_deterministic_across_workers(data, tmp_path):
    other = render(tmp_path / "b", workers=1)
    for split in ("train", "valid", "test"):
        assert load(data, split) == load(other, split)
        for w in (data / split / "audio").glob("*.wav"):
            assert w.read_bytes() == (other / split / "audio" / w.name).read_bytes()


def test_missing_font_is_one_line_error(tmp_path):
    r = run_script(SCRIPT, "--out", tmp_path / "x", "--fonts", tmp_path / "no.sf2", check=False, timeout=60)
    assert r.returncode != 0 and "error:" in r.stderr and "Traceback" not in r.stderr


def test_synth_patches_every_family():
    sys.path.insert(0, str(ROOT / "tools"))
    import synth_patches
    for fam in FAMILIES:
        p = synth_patches.make_patch(fam, 11)
        y = synth_patches.render_note(p, 64, 100)
        assert y.shape == (64000,) and y.dtype == np.float32 and np.isfinite(y).all()
        assert np.abs(y[:48000]).max() > 1e-3, fam
        assert np.array_equal(y, synth_patches.render_note(synth_patches.make_patch(fam, 11), 64, 100))
        # note-off at 3 s: the last 0.5 s is quieter than the held part
        assert np.abs(y[56000:]).max() < np.abs(y[:48000]).max()
