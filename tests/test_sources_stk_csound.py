"""standins/source_stk.py and standins/source_csound.py through standins/render_nsynth.py's CLI: a few notes per family
from each engine (skipped where the engine is not installed: apt-get install -y stk faketime csound)."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import ROOT, run_script

pytest.importorskip("tinysoundfont")
pretty_midi = pytest.importorskip("pretty_midi")
librosa = pytest.importorskip("librosa")

SCRIPT = ROOT / "standins" / "render_nsynth.py"
FONT = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"     # its lineage is not in --splits: skipped
FAMILIES = ["bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "reed", "string", "synth_lead", "vocal"]
ENGINES = {"stk": ["stk-demo", "faketime"], "csound": ["csound"]}
PITCHES = range(62, 71)   # every model of both sources sounds here (STK's Brass only speaks over MIDI 60-74)


def render(source, out, workers):
    run_script(SCRIPT, "--out", out, "--sources", source, "--splits", f"train={source}:0.6;valid={source}:0.4",
               "--fonts", FONT, "--synthetic_per_family", "0", "--pitch_min", "62", "--pitch_max", "70",
               "--pitch_step", "4", "--velocities", "50,127", "--max_notes_per_instrument", "2",
               "--source_instruments", f"{source}=2", "--seed", "5", "--workers", workers, timeout=300)
    return out


@pytest.fixture(scope="module", params=list(ENGINES))
def renders(request, tmp_path_factory):
    source = request.param
    missing = [b for b in ENGINES[source] if not shutil.which(b)]
    if missing:
        pytest.skip(f"{source}: {missing} not installed")
    root = tmp_path_factory.mktemp(source)
    return source, render(source, root / "a", "1"), render(source, root / "b", "2")


def examples(root):
    return {s: json.loads((root / s / "examples.json").read_text()) for s in ("train", "valid")}


def test_every_family_gets_labelled_notes(renders):
    source, a, _ = renders
    ex = examples(a)
    assert {e["instrument_family_str"] for split in ex.values() for e in split.values()} == set(FAMILIES)
    for split, notes in ex.items():
        wavs = sorted((a / split / "audio").glob("*.wav"))
        assert notes and {w.stem for w in wavs} == set(notes)
        for w in wavs:
            assert w.stat().st_size == 128044
            info = sf.info(str(w))
            assert (info.samplerate, info.channels, info.frames, info.subtype) == (16000, 1, 64000, "PCM_16")
        for name, e in notes.items():
            inst, pitch, vel = name.rsplit("-", 2)
            family, src, _ = inst.rsplit("_", 2)
            assert (inst, int(pitch), int(vel)) == (e["instrument_str"], e["pitch"], e["velocity"])
            assert family == e["instrument_family_str"] == FAMILIES[e["instrument_family"]]
            assert src == e["instrument_source_str"] == "synthetic" and e["instrument_source"] == 2
            assert e["pitch"] in PITCHES and e["velocity"] in (50, 127)
    info = json.loads((a / "dataset_info.json").read_text())
    assert info["counts"]["train"]["lineage"] == {source: len(ex["train"])}


def test_split_is_instrument_and_unit_disjoint(renders):
    source, a, _ = renders
    info = json.loads((a / "dataset_info.json").read_text())["instruments"]
    units = {s: {v["unit"] for v in info[s].values()} for s in ("train", "valid")}
    assert not set(info["train"]) & set(info["valid"])
    assert units["train"] and units["valid"] and not units["train"] & units["valid"]
    assert all(u.startswith(f"{source}/") for s in units for u in units[s])


def test_same_seed_gives_identical_bytes(renders):
    _, a, b = renders       # rendered with --workers 1 and --workers 2
    assert examples(a) == examples(b)
    for split in ("train", "valid"):
        for w in sorted((a / split / "audio").glob("*.wav")):
            assert w.read_bytes() == (b / split / "audio" / w.name).read_bytes(), w.name


def test_sustained_reed_is_in_tune(renders):
    _, a, _ = renders
    reeds = [(split, e) for split, notes in examples(a).items() for e in notes.values()
             if e["instrument_family_str"] == "reed"]
    assert reeds
    for split, e in reeds:
        y, sr = sf.read(str(a / split / "audio" / f"{e['note_str']}.wav"))
        f0 = librosa.yin(y[sr // 2: int(2.5 * sr)], fmin=50, fmax=2000, sr=sr, frame_length=2048)
        assert abs(librosa.hz_to_midi(np.median(f0)) - e["pitch"]) < 0.5, e["note_str"]
