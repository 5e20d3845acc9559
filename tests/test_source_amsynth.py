"""standins/source_amsynth.py (amsynth presets through DawDreamer): the bank -> VST parameter mapping checked against
the plugin, standins/render_nsynth.py's CLI with --sources amsynth (files, names, labels, split units), pitch,
bit-identical renders, presets that sound different, filter cutoff that darkens, and rejection of garbage and
off-pitch notes."""
import json
import subprocess
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
import source_amsynth  # noqa: E402
from render_common import child_render  # noqa: E402

if source_amsynth.available():
    pytest.skip(f"engine missing: {source_amsynth.available()}", allow_module_level=True)

SCRIPT = ROOT / "standins" / "render_nsynth.py"
FONT = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
FAMILIES = ["bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "reed", "string", "synth_lead", "vocal"]
SR = 16000


def preset(name):
    return next(p for p in source_amsynth.labelled_presets() if p["name"] == name)


def render(name, notes, override=None):
    """Raw renders (no checks) of a preset by name, in the plugin's child process."""
    p = preset(name)
    job = {"bank": p["bank"], "index": p["index"], "name": name, "notes": [list(n) for n in notes], "sr": SR,
           "dur": 4.0, "off": 3.0, "override": override or {}}
    return child_render(source_amsynth.__file__, job, "amsynth", name)


def params(name):
    p = preset(name)
    return {"bank": p["bank"], "index": p["index"], "name": name}


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("amsynth") / "data"
    run_script(SCRIPT, "--out", out, "--sources", "amsynth", "--splits", "train=amsynth:0.6;valid=amsynth:0.4",
               "--fonts", FONT, "--synthetic_per_family", "0", "--pitch_step", "24", "--velocities", "50,127",
               "--max_notes_per_instrument", "2", "--source_instruments", "amsynth=2", "--seed", "1",
               "--workers", "1", timeout=300)
    return out


def test_parameter_mapping_matches_the_plugin():
    """Every parameter at 0/0.3/1 and every 50th preset: the plugin displays what amsynth's law gives for the value."""
    r = subprocess.run([sys.executable, "-c", "import sys, source_amsynth as s; sys.exit(min(s.check_mapping(), 1))"],
                       cwd=ROOT / "standins", capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and " 0 mismatches" in r.stdout, r.stdout[-2000:]


def test_families_from_names():
    f = source_amsynth.preset_family
    assert f("WetBassXit") == f("Oberbass2") == f("Pluck Bass") == "bass"
    assert f("Synth Strings 1") == f("Synth Cello") == "string" and f("Kinda12String") == "guitar"
    assert f("Cozy Rhodes") == f("Whazz EP") == f("SandKeys2") == f("PianoX-15") == "keyboard"
    assert f("Vibraphone") == f("Digi Bell 3") == "mallet" and f("Organ1") == "organ" and f("Lead3") == "synth_lead"
    for name in ("Bass Pad", "Brass FX", "Organic", "KeyWest", "Drum Bass", "YouPickWhich", "Lead Bass", "MetalPipe"):
        assert f(name) is None, name
    counts = {}
    for inst in source_amsynth.instruments(FAMILIES, None, 0):
        counts[inst["family"]] = counts.get(inst["family"], 0) + 1
        assert inst["unit"] == source_amsynth.words(inst["params"]["name"]) and inst["source"] == "synthetic"
    assert set(counts) == set(FAMILIES) - {"reed"} and min(counts.values()) >= 15, counts


def test_cli_files_and_labels(cli_run):
    info = json.loads((cli_run / "dataset_info.json").read_text())
    examples = {s: json.loads((cli_run / s / "examples.json").read_text()) for s in ("train", "valid")}
    assert sum(len(e) for e in examples.values()) >= 8
    families = set()
    for split, ex in examples.items():
        wavs = sorted((cli_run / split / "audio").glob("*.wav"))
        assert {w.stem for w in wavs} == set(ex)
        for w in wavs:
            i = sf.info(str(w))
            assert w.stat().st_size == 128044 and (i.samplerate, i.channels, i.frames) == (16000, 1, 64000)
            assert 0.5 < np.abs(sf.read(str(w))[0]).max() <= 1.0
        for name, e in ex.items():
            inst = info["instruments"][split][e["instrument_str"]]
            family = source_amsynth.preset_family(inst["preset_name"].split("/", 1)[1])
            assert inst["lineage"] == "amsynth" and name.startswith(f"{family}_synthetic_")
            assert e["instrument_family_str"] == family == FAMILIES[e["instrument_family"]]
            assert e["instrument_source_str"] == "synthetic" and name.endswith(f"-{e['pitch']:03d}-{e['velocity']:03d}")
            families.add(family)
    assert len(families) >= 6
    units = {s: {v["unit"] for v in info["instruments"][s].values()} for s in examples}
    assert units["train"] and units["valid"] and not units["train"] & units["valid"]


def f0_cents(y, pitch):
    f0 = np.median(librosa.yin(y[SR // 2: 5 * SR // 2], fmin=30, fmax=2000, sr=SR, frame_length=2048))
    return 1200 * np.log2(f0 / (440 * 2 ** ((pitch - 69) / 12)))


def test_pitch_and_bit_identical():
    notes = [(57, 100), (45, 127)]
    a = source_amsynth.render_notes(params("Synth Strings 1"), notes, SR, 4.0, 3.0, 0)
    b = source_amsynth.render_notes(params("Synth Strings 1"), notes, SR, 4.0, 3.0, 1)
    for ya, yb, (pitch, _) in zip(a, b, notes):
        assert ya is not None and len(ya) == 64000 and np.array_equal(ya, yb)
        assert abs(f0_cents(ya, pitch)) < 100
        env = np.sqrt((ya[: 64000].reshape(40, -1) ** 2).mean(1))
        assert env[10:29].min() > 0.3 * env.max() and env[-1] < 0.2 * env.max()   # held, released at 3 s


def third_octave_db(y):
    power = np.abs(np.fft.rfft(y[: 3 * SR])) ** 2
    freqs = np.fft.rfftfreq(3 * SR, 1 / SR)
    edges = 40 * 2 ** (np.arange(23) / 3)
    db = 10 * np.log10([power[(freqs >= lo) & (freqs < hi)].sum() + 1e-12 for lo, hi in zip(edges[:-1], edges[1:])])
    return np.maximum(db - db.max(), -60)


def centroid(y):
    spec = np.abs(np.fft.rfft(y[SR // 10: 3 * SR]))
    return (spec * np.fft.rfftfreq(len(y[SR // 10: 3 * SR]), 1 / SR)).sum() / spec.sum()


def high_db(y):
    """Power above 1 kHz relative to the whole note, dB."""
    power = np.abs(np.fft.rfft(y[SR // 10: 3 * SR])) ** 2
    return 10 * np.log10(power[np.fft.rfftfreq(len(y[SR // 10: 3 * SR]), 1 / SR) > 1000].sum() / power.sum())


def test_presets_sound_different_and_cutoff_darkens():
    ys = {name: render(name, [(48, 100)])[0] for name in ("Synth Strings 1", "AllAroundBass", "Organ1")}
    levels = {name: third_octave_db(y) for name, y in ys.items()}
    names = list(levels)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert np.abs(levels[a] - levels[b]).mean() > 3, (a, b)         # dB per band, on average
    # the bank's filter_cutoff (-0.5..1.5, 16**v x the note frequency) set through the mapping: 0.0 is darker than 1.5
    dark, bright = (render("Synth Strings 1", [(48, 100)], {"filter_cutoff": c, "filter_env_amount": 0.0})[0]
                    for c in (0.0, 1.5))
    assert np.abs(dark).max() > 0.1 and centroid(dark) < 0.6 * centroid(bright)
    assert high_db(dark) < high_db(bright) - 15


def test_garbage_and_off_pitch_rejected():
    t = np.arange(64000) / SR
    env = np.minimum(1, t * 20) * (t < 3)

    def saw(f):
        return env * sum(np.sin(2 * np.pi * k * f * t) / k for k in range(1, 12) if k * f < 7000)
    assert source_amsynth.note_ok(saw(220.0), SR, 57)
    assert not source_amsynth.note_ok(saw(440.0), SR, 57)                      # an octave up
    assert not source_amsynth.note_ok(saw(220.0) + saw(110.0), SR, 57)         # a second oscillator an octave down
    assert not source_amsynth.note_ok(saw(220.0 * 2 ** (6 / 12)), SR, 57)      # a tritone off
    noise = np.random.default_rng(0).standard_normal(64000) * 0.3
    for bad in (noise, np.zeros(64000), np.full(64000, np.nan)):
        assert not source_amsynth.note_ok(bad, SR, 57)
    # a real preset whose louder second oscillator sounds 6 semitones up: every note rejected, none mislabelled
    assert source_amsynth.render_notes(params("HydroOrgan"), [(48, 100), (60, 100)], SR, 4.0, 3.0, 0) == [None, None]
