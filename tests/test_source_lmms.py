"""standins/source_lmms.py (pitched LMMS one-shot recordings) through standins/render_nsynth.py's CLI, and a few notes
rendered directly: labels, splits, format, reproducibility, pitch and loop seams measured on the audio."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import ROOT, run_script

librosa = pytest.importorskip("librosa")
pretty_midi = pytest.importorskip("pretty_midi")
pytest.importorskip("tinysoundfont")
sys.path.insert(0, str(ROOT / "standins"))
import source_lmms  # noqa: E402

if source_lmms.available():
    pytest.skip(source_lmms.available(), allow_module_level=True)

SCRIPT = ROOT / "standins" / "render_nsynth.py"
FONT = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
SR = 16000
FAMILIES = ["bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "reed", "string", "synth_lead", "vocal"]
LMMS_FAMILIES = {"bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "string", "synth_lead", "vocal"}
ROW = {Path(row[0]).stem: row for row in source_lmms.TABLE}     # sample stem -> (file, family, source, sustained, ...)
CLEAR_PITCH = {"flute", "brass", "keyboard", "vocal"}   # single notes without octave-ambiguous spectra


def render(out):
    run_script(SCRIPT, "--out", out, "--sources", "lmms", "--splits", "train=lmms:0.6;valid=lmms:0.4",
               "--fonts", FONT, "--synthetic_per_family", "0", "--pitch_step", "12", "--velocities", "50,127",
               "--max_notes_per_instrument", "3", "--source_instruments", "lmms=2", "--workers", "1", timeout=300)
    return out


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("lmms")
    return render(root / "a"), render(root / "b")


def examples(root):
    return {s: json.loads((root / s / "examples.json").read_text()) for s in ("train", "valid")}


def sample_of(info, split, inst_str):
    """preset name lmms_<sample stem>_<variant> -> the sample's TABLE row."""
    return ROW[info["instruments"][split][inst_str]["preset_name"][len("lmms_"):-3]]


def pitch_of(y, around):
    """Median pyin f0 (MIDI) of 0.1-1.6 s, searched within 13 semitones of `around` (an octave error still shows)."""
    f0, voiced, _ = librosa.pyin(y[int(0.1 * SR): int(1.6 * SR)], fmin=librosa.midi_to_hz(around - 13),
                                 fmax=librosa.midi_to_hz(around + 13), sr=SR, frame_length=2048, hop_length=512)
    return float(np.median(librosa.hz_to_midi(f0[voiced & np.isfinite(f0)])))


def seam_ratio(y, pitch):
    """A loop seam is a jump against the waveform one period earlier: the largest |y[t] - y[t - period]| per 10 ms
    frame over 0.05-2.95 s, relative to the median of its 20 neighbouring frames (floor 60 dB under the peak)."""
    lag = int(round(SR / librosa.midi_to_hz(pitch)))
    seg = y[int(0.05 * SR): int(2.95 * SR)]
    d = np.abs(seg[lag:] - seg[:-lag])
    frames = d[: len(d) // 160 * 160].reshape(-1, 160).max(1)
    ratios = []
    for k, v in enumerate(frames):
        neigh = np.concatenate([frames[max(0, k - 10): k], frames[k + 1: k + 11]])
        ratios.append(v / (np.median(neigh) + 1e-3 * np.abs(y).max()))
    return max(ratios)


def test_format_labels_and_splits(data):
    a, _ = data
    info = json.loads((a / "dataset_info.json").read_text())
    ex = examples(a)
    families = set()
    for split, notes in ex.items():
        wavs = sorted((a / split / "audio").glob("*.wav"))
        assert notes and {w.stem for w in wavs} == set(notes)
        for w in wavs:
            assert w.stat().st_size == 128044
            i = sf.info(str(w))
            assert (i.samplerate, i.channels, i.frames, i.subtype) == (16000, 1, 64000, "PCM_16")
        for name, e in notes.items():
            file, family, source, sustained, own_pitch, unit = sample_of(info, split, e["instrument_str"])
            assert e["instrument_family_str"] == family == FAMILIES[e["instrument_family"]]
            assert e["instrument_source_str"] == source
            assert name == f"{family}_{source}_{e['instrument_str'][-3:]}-{e['pitch']:03d}-{e['velocity']:03d}"
            assert e["velocity"] in (50, 127) and abs(e["pitch"] - own_pitch) <= source_lmms.MAX_SHIFT
            assert ("distortion" in e["qualities_str"]) == ("distorted" in file)
            families.add(family)
    assert families == LMMS_FAMILIES     # every family the samples have (there is no reed sample)
    units = {s: {v["unit"] for v in info["instruments"][s].values()} for s in ("train", "valid")}
    assert units["train"] and units["valid"] and not units["train"] & units["valid"]
    assert info["counts"]["valid"]["instruments"] > 0 and info["silent_dropped"] >= 0


def test_same_seed_same_bytes(data):
    a, b = data
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file() and p.name != "dataset_info.json")
    assert len(files) > 20 and files == sorted(p.relative_to(b) for p in b.rglob("*")
                                              if p.is_file() and p.name != "dataset_info.json")
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_rendered_pitch_and_seams(data):
    a, _ = data
    checked_pitch = checked_seams = 0
    for split, notes in examples(a).items():
        for name, e in notes.items():
            y, sr = sf.read(str(a / split / "audio" / f"{name}.wav"))
            if e["instrument_family_str"] in CLEAR_PITCH:
                assert abs(pitch_of(y, e["pitch"]) - e["pitch"]) < 1.0, name
                checked_pitch += 1
            if e["instrument_family_str"] in ("string", "organ", "vocal", "flute", "brass", "synth_lead"):
                assert seam_ratio(y, e["pitch"]) < 4, name
                checked_seams += 1
    assert checked_pitch >= 6 and checked_seams >= 10


def test_short_recordings_loop_and_out_of_range_is_none():
    """cello01 (1.9 s) an octave up lasts 0.9 s and bass01 (0.24 s) stops while sounding: both are looped to a
    held, in-tune 4 s note; a flute note 41 semitones under its sample is refused."""
    by_file = {i["params"]["file"]: i for i in source_lmms.instruments(["string", "bass", "flute"], 40, seed=1)}
    cello = by_file["instruments/cello01.ogg"]["params"]
    bass = by_file["basses/bass01.ogg"]["params"]
    flute = by_file["instruments/flute01.ogg"]["params"]
    y_cello, y_soft = source_lmms.render_notes(cello, [(50, 100), (50, 25)], SR, 4.0, 3.0, seed=0)
    (y_bass,) = source_lmms.render_notes(bass, [(48, 127)], SR, 4.0, 3.0, seed=0)
    assert source_lmms.render_notes(flute, [(40, 100)], SR, 4.0, 3.0, seed=0) == [None]
    for y, pitch in ((y_cello, 50), (y_bass, 48)):
        assert len(y) == 64000 and np.isfinite(y).all()
        rms = np.sqrt(np.mean(y[int(2.0 * SR): int(2.9 * SR)] ** 2))
        assert rms > 0.01 * np.abs(y).max()                      # still sounding at 2-2.9 s
        assert np.abs(y[int(3.7 * SR):]).max() < 1e-6 * np.abs(y).max() + 1e-12   # released before 4 s
        assert abs(pitch_of(y, pitch) - pitch) < 1.0
        assert seam_ratio(y, pitch) < 4
    # velocity 25 is darker than 127: lower spectral centroid, the same pitch
    cen = [librosa.feature.spectral_centroid(y=y[SR: 2 * SR], sr=SR).mean() for y in (y_cello, y_soft)]
    assert cen[1] < 0.8 * cen[0]
