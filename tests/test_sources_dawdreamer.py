"""standins/source_zyn.py (ZynAddSubFX presets) and standins/source_faust.py (Faust physical models), both rendered
through DawDreamer in child processes: through standins/render_nsynth.py's CLI (one worker; both sources with two
workers, which only works because each engine lives in its own process), plus pitch, reproducibility and rejection
checks."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import ROOT, run_script

pytest.importorskip("tinysoundfont")
pretty_midi = pytest.importorskip("pretty_midi")
librosa = pytest.importorskip("librosa")
sys.path.insert(0, str(ROOT / "standins"))
import source_faust  # noqa: E402
import source_zyn  # noqa: E402

if source_zyn.available() or source_faust.available():
    pytest.skip(f"engine missing: {source_zyn.available() or source_faust.available()}", allow_module_level=True)

SCRIPT = ROOT / "standins" / "render_nsynth.py"
FONT = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
FAMILIES = ["bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "reed", "string", "synth_lead", "vocal"]
FAUST_FAMILIES = {"reed", "brass", "flute", "string", "guitar", "vocal"}
COMMON = ["--fonts", FONT, "--synthetic_per_family", "0", "--pitch_step", "24", "--velocities", "50,127",
          "--max_notes_per_instrument", "2", "--seed", "1"]


@pytest.fixture(scope="module")
def zyn_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("zyn") / "data"
    run_script(SCRIPT, "--out", out, "--sources", "zyn", "--splits", "train=zyn:0.6;valid=zyn:0.4", *COMMON,
               "--source_instruments", "zyn=2", "--workers", "1", timeout=300)
    return out


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("mixed") / "data"
    run_script(SCRIPT, "--out", out, "--sources", "zyn,faust", "--splits",
               "train=zyn:0.6,faust:0.6;valid=zyn:0.4,faust:0.4", *COMMON, "--source_instruments", "zyn=2,faust=1",
               "--lineage_notes", "faust=8", "--workers", "2", timeout=300)
    return out


def load(root):
    info = json.loads((root / "dataset_info.json").read_text())
    examples = {s: json.loads((root / s / "examples.json").read_text()) for s in ("train", "valid")}
    return info, examples


def instrument_family(lineage, preset_name):
    """The family the source module claims for an instrument named in dataset_info.json."""
    if lineage == "zyn":
        bank, stem = preset_name.split("/")
        return source_zyn.preset_family(bank, stem.split("-", 1)[1])
    return source_faust.MODELS[preset_name.split()[0]][0]


@pytest.mark.parametrize("run", ["zyn_run", "mixed_run"])
def test_files_and_labels(run, request):
    root = request.getfixturevalue(run)
    info, examples = load(root)
    assert info["silent_dropped"] >= 0 and sum(len(e) for e in examples.values()) > 0
    for split, ex in examples.items():
        wavs = sorted((root / split / "audio").glob("*.wav"))
        assert {w.stem for w in wavs} == set(ex)
        for w in wavs:
            assert w.stat().st_size == 128044
            i = sf.info(str(w))
            assert (i.samplerate, i.channels, i.frames, i.subtype) == (16000, 1, 64000, "PCM_16")
            y = sf.read(str(w))[0]
            assert 0.5 < np.abs(y).max() <= 1.0        # render_nsynth's peak normalisation of a real note
        for name, e in ex.items():
            inst = info["instruments"][split][e["instrument_str"]]
            family = instrument_family(inst["lineage"], inst["preset_name"])
            assert name.startswith(f"{family}_synthetic_")
            assert e["instrument_family_str"] == family == FAMILIES[e["instrument_family"]]
            assert e["instrument_source_str"] == "synthetic" and e["instrument_source"] == 2


def test_families_get_notes(zyn_run, mixed_run):
    info, _ = load(zyn_run)
    assert set(info["counts"]["train"]["family"]) | set(info["counts"]["valid"]["family"]) == set(FAMILIES)
    assert len(info["counts"]["valid"]["family"]) >= 5   # 2 presets per family: one per split unless they share a unit
    info, _ = load(mixed_run)
    faust_notes = {}
    for split in ("train", "valid"):
        for inst in info["instruments"][split].values():
            if inst["lineage"] == "faust":
                family = instrument_family("faust", inst["preset_name"])
                faust_notes[family] = faust_notes.get(family, 0) + inst["notes"]
    assert set(faust_notes) == FAUST_FAMILIES and min(faust_notes.values()) > 0, faust_notes


@pytest.mark.parametrize("run", ["zyn_run", "mixed_run"])
def test_units_never_straddle_splits(run, request):
    info, _ = load(request.getfixturevalue(run))
    units = {s: {v["unit"] for v in info["instruments"][s].values()} for s in ("train", "valid")}
    assert units["train"] and units["valid"] and not units["train"] & units["valid"]


def third_octave_db(y, sr=16000):
    """Levels (dB, floored 60 dB below the loudest) of third-octave bands 40 Hz-6.4 kHz over the first 3 s."""
    power = np.abs(np.fft.rfft(y[: 3 * sr])) ** 2
    freqs = np.fft.rfftfreq(3 * sr, 1 / sr)
    edges = 40 * 2 ** (np.arange(23) / 3)
    db = 10 * np.log10([power[(freqs >= lo) & (freqs < hi)].sum() + 1e-12 for lo, hi in zip(edges[:-1], edges[1:])])
    return np.maximum(db, db.max() - 60)


def test_zyn_reproducibility_is_what_the_docstring_says(zyn_run, mixed_run):
    """1 worker, zyn alone vs 2 workers beside Faust: the same notes and lengths; seeded presets byte-identical,
    the others (PADsynth, SUBsynth, random oscillators depend on the plugin's history) with related band levels."""
    names = {s: sorted(p.name for p in (zyn_run / s / "audio").glob("*.wav")) for s in ("train", "valid")}
    identical = 0
    for split, wavs in names.items():
        for name in wavs:
            a, b = (zyn_run / split / "audio" / name), (mixed_run / split / "audio" / name)
            assert b.stat().st_size == a.stat().st_size == 128044
            if a.read_bytes() == b.read_bytes():
                identical += 1
            else:
                ya, yb = sf.read(str(a))[0], sf.read(str(b))[0]
                assert np.corrcoef(third_octave_db(ya), third_octave_db(yb))[0, 1] > 0.3, name
    total = sum(len(w) for w in names.values())
    assert total >= 40 and identical >= 0.4 * total, (identical, total)


def f0_cents(y, pitch, sr=16000):
    """Median YIN pitch over 0.5-2.5 s, in cents from the requested MIDI pitch."""
    f0 = np.median(librosa.yin(y[sr // 2: 5 * sr // 2], fmin=30, fmax=2000, sr=sr, frame_length=2048))
    return 1200 * np.log2(f0 / (440 * 2 ** ((pitch - 69) / 12)))


def test_zyn_pitch_and_reproducibility():
    params = {"preset": "Reed and Wind/0001-Flute 1.xiz"}
    notes = [(57, 100), (45, 127)]
    a = source_zyn.render_notes(params, notes, 16000, 4.0, 3.0, 0)
    b = source_zyn.render_notes(params, notes, 16000, 4.0, 3.0, 0)
    assert [len(y) for y in a] == [64000, 64000]
    for ya, yb, (pitch, _) in zip(a, b, notes):
        assert np.array_equal(ya, yb)
        assert abs(f0_cents(ya, pitch)) < 50
    c = source_zyn.render_notes(params, notes, 16000, 4.0, 3.0, 1)       # another seed: other phases, same note
    assert not np.array_equal(a[0], c[0]) and abs(f0_cents(c[0], 57)) < 50


def test_faust_pitch_reproducibility_and_rejection():
    clarinet = next(i for i in source_faust.instruments(["reed"], 1, 0) if i["params"]["model"] == "clarinet")
    notes = [(57, 100), (45, 50), (108, 127)]
    a = source_faust.render_notes(clarinet["params"], notes, 16000, 4.0, 3.0, 0)
    b = source_faust.render_notes(clarinet["params"], notes, 16000, 4.0, 3.0, 0)
    assert len(a[0]) == len(a[1]) == 64000
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert abs(f0_cents(a[0], 57)) < 50 and abs(f0_cents(a[1], 45)) < 50
    assert a[2] is None and b[2] is None          # the clarinet model can't play MIDI 108: rejected, not mislabelled


def test_garbage_is_rejected():
    sr, t = 16000, np.arange(64000) / 16000
    tone = np.sin(2 * np.pi * 220 * t) * np.minimum(1, t * 20)
    noise = np.random.default_rng(0).standard_normal(64000) * 0.3
    assert source_zyn.is_tone(tone, sr) and source_faust.in_tune(tone, sr, 220)
    for bad in (noise, np.zeros(64000), np.full(64000, np.nan)):
        assert not source_zyn.is_tone(bad, sr) and not source_faust.in_tune(bad, sr, 220)
    assert not source_faust.in_tune(tone, sr, 110)     # sounding an octave above the requested pitch
    assert not source_faust.in_tune(tone, sr, 196)     # two semitones off
