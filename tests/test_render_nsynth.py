"""standins/render_nsynth.py (+ standins/synth_patches.py) through the CLI on a handful of notes (TimGM6mb from
pretty_midi)."""
import json
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import ROOT, run_script

pytest.importorskip("tinysoundfont")
pretty_midi = pytest.importorskip("pretty_midi")

SCRIPT = ROOT / "standins" / "render_nsynth.py"
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
    # the command re-runs from the repository root, quoted for a shell
    assert shlex.split(info["command"])[:4] == ["python", "standins/render_nsynth.py", "--out", str(data)]
    assert f"--splits '{SPLITS}'" in info["command"]


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
    sys.path.insert(0, str(ROOT / "standins"))
    import synth_patches
    for fam in FAMILIES:
        p = synth_patches.make_patch(fam, 11)
        y = synth_patches.render_note(p, 64, 100)
        assert y.shape == (64000,) and y.dtype == np.float32 and np.isfinite(y).all()
        assert np.abs(y[:48000]).max() > 1e-3, fam
        assert np.array_equal(y, synth_patches.render_note(synth_patches.make_patch(fam, 11), 64, 100))
        # note-off at 3 s: the last 0.5 s is quieter than the held part
        assert np.abs(y[56000:]).max() < np.abs(y[:48000]).max()


def test_pitch_focus_draws_that_share_of_each_instrument_from_the_range(tmp_path):
    run_script(SCRIPT, "--out", tmp_path, "--fonts", FONT, "--splits", "train=timgm", "--programs", "0,4",
               "--families", "keyboard", "--synthetic_per_family", "0", "--pitch_step", "3", "--velocities", "127",
               "--max_notes_per_instrument", "8", "--pitch_focus", "36-60:0.75", "--seed", "1", "--workers", "1",
               timeout=300)
    by_inst = {}
    for e in load(tmp_path, "train").values():
        by_inst.setdefault(e["instrument_str"], []).append(e["pitch"])
    assert len(by_inst) == 2
    for pitches in by_inst.values():
        assert len(pitches) == 8 and sum(36 <= p <= 60 for p in pitches) == 6
    bad = run_script(SCRIPT, "--out", tmp_path / "x", "--fonts", FONT, "--pitch_focus", "60-36", check=False)
    assert bad.returncode != 0 and "--pitch_focus '60-36' must look like" in bad.stderr


def test_merge_two_renders_into_one_root(tmp_path):
    common = ["--fonts", FONT, "--families", "keyboard,flute", "--pitch_step", "24", "--velocities", "127",
              "--seed", "2", "--workers", "1"]
    run_script(SCRIPT, "--out", tmp_path / "fonts", "--splits", "train=timgm:0.5;valid=timgm:0.5",
               "--programs", "0-7,72-79", "--synthetic_per_family", "0", *common, timeout=300)
    run_script(SCRIPT, "--out", tmp_path / "synth", "--splits", "train=synthetic:0.5;valid=synthetic:0.5",
               "--synthetic_per_family", "2", "--max_notes_per_instrument", "2", *common, timeout=300)
    run_script(ROOT / "standins" / "merge_nsynth.py", "--out", tmp_path / "all", tmp_path / "fonts", tmp_path / "synth")
    info = json.loads((tmp_path / "all" / "dataset_info.json").read_text())
    assert info["command"].startswith("python standins/merge_nsynth.py --out ")
    for split in ("train", "valid"):
        parts = [load(tmp_path / r, split) for r in ("fonts", "synth")]
        merged = load(tmp_path / "all", split)
        assert len(merged) == sum(len(p) for p in parts) == info["counts"][split]["notes"]
        wavs = sorted((tmp_path / "all" / split / "audio").glob("*.wav"))
        assert {w.stem for w in wavs} == set(merged)
        for name, e in merged.items():
            assert name.startswith(e["instrument_str"] + "-") and e["instrument_str"] in info["instruments"][split]
        # input 1's instruments are renumbered from 1000 and still point at their own audio
        for name, e in parts[1].items():
            new = name.replace(e["instrument_str"], e["instrument_str"].rsplit("_", 1)[0] + "_" +
                               f"{int(e['instrument_str'].rsplit('_', 1)[1]) + 1000:03d}")
            assert (tmp_path / "all" / split / "audio" / f"{new}.wav").read_bytes() == \
                (tmp_path / "synth" / split / "audio" / f"{name}.wav").read_bytes()
        assert info["counts"][split]["lineage"].keys() <= {"timgm", "synthetic"}
    bad = run_script(ROOT / "standins" / "merge_nsynth.py", "--out", tmp_path / "twice", tmp_path / "fonts",
                     tmp_path / "fonts", check=False)
    assert bad.returncode != 0 and "lineage 'timgm' is in both" in bad.stderr


def test_waveshape_copy_adds_harmonics_keeps_envelope_and_links_the_rest(data, tmp_path):
    """standins/waveshape_nsynth.py on a rendered root: every training note (share 1) is rewritten but keeps its peak
    and its decay, and a harmonic-free decaying sine gains harmonics 9-16; valid/test and examples.json are the
    source's; share 0 only links; same seed, same bytes; a folder that is not a render is a one-line error."""
    tool = ROOT / "standins" / "waveshape_nsynth.py"
    run_script(tool, "--src", data, "--out", tmp_path / "ws", "--share", "1", "--seed", "4")
    out = tmp_path / "ws"
    assert load(out, "train") == load(data, "train")
    info = json.loads((out / "dataset_info.json").read_text())
    assert info["command"].startswith("python standins/waveshape_nsynth.py --src ")
    for split in ("valid", "test"):
        assert (out / split).resolve() == (data / split).resolve()
    level_db = lambda a, t: 20 * np.log10(np.abs(a[int(t * 16000):int(t * 16000) + 400]).max() + 1e-9)  # 25 ms peak
    checked = 0
    for name in load(data, "train"):
        x, sr = sf.read(data / "train" / "audio" / f"{name}.wav")
        y, sr_y = sf.read(out / "train" / "audio" / f"{name}.wav")
        assert sr_y == sr == 16000 and len(y) == len(x) == 64000
        if np.abs(x).max() < 1e-6:
            continue
        assert not (out / "train" / "audio" / f"{name}.wav").is_symlink()
        assert abs(np.abs(y).max() - np.abs(x).max()) < 2e-4                 # the note's peak level is kept
        for t in (1.5, 2.5):                       # and its decay: the level drop from 0.5 s, within 4 dB
            if level_db(x, t) > 20 * np.log10(np.abs(x).max()) - 50:    # above the waveshaper's -60 dB floor
                assert abs((level_db(y, t) - level_db(y, 0.5)) - (level_db(x, t) - level_db(x, 0.5))) < 4, (name, t)
        checked += 1
    assert checked >= 4
    # a pure decaying sine (no harmonics at all, like the dullest renders) gains harmonics 9-16 and keeps its decay
    sine_root, name = tmp_path / "sine", "keyboard_synthetic_000-048-127"
    (sine_root / "train" / "audio").mkdir(parents=True)
    (sine_root / "dataset_info.json").write_text(json.dumps({"provenance": "a test sine"}))
    (sine_root / "train" / "examples.json").write_text(json.dumps({name: {"pitch": 48}}))
    t = np.arange(64000) / 16000
    f0 = 440 * 2 ** ((48 - 69) / 12)
    sf.write(sine_root / "train" / "audio" / f"{name}.wav", 0.9 * np.sin(2 * np.pi * f0 * t) * 10 ** (-10 * t / 20),
             16000, subtype="PCM_16")
    run_script(tool, "--src", sine_root, "--out", tmp_path / "sine_ws", "--share", "1", "--seed", "0")
    x, _ = sf.read(sine_root / "train" / "audio" / f"{name}.wav")
    y, _ = sf.read(tmp_path / "sine_ws" / "train" / "audio" / f"{name}.wav")
    hz = np.fft.rfftfreq(16000, 1 / 16000)
    spectrum = lambda a: np.abs(np.fft.rfft(a[8000:24000] * np.hanning(16000))) ** 2      # 0.5-1.5 s
    upper_db = lambda a: 10 * np.log10(spectrum(a)[(hz > 8.5 * f0) & (hz < 16.5 * f0)].sum() / spectrum(a).sum())
    assert upper_db(x) < -70 and upper_db(y) > -45
    assert abs((level_db(y, 2.5) - level_db(y, 0.5)) - (level_db(x, 2.5) - level_db(x, 0.5))) < 2   # -20 dB kept
    run_script(tool, "--src", data, "--out", tmp_path / "ws2", "--share", "1", "--seed", "4")
    name = next(iter(load(data, "train")))
    assert (tmp_path / "ws2" / "train" / "audio" / f"{name}.wav").read_bytes() == \
        (out / "train" / "audio" / f"{name}.wav").read_bytes()
    run_script(tool, "--src", data, "--out", tmp_path / "none", "--share", "0")
    wavs = list((tmp_path / "none" / "train" / "audio").glob("*.wav"))
    assert wavs and all(w.is_symlink() and w.resolve() == (data / "train" / "audio" / w.name).resolve() for w in wavs)
    bad = run_script(tool, "--src", tmp_path / "ws" / "train", "--out", tmp_path / "bad", check=False)
    assert bad.returncode != 0 and "pass a root written by standins/render_nsynth.py" in bad.stderr


def test_ci_has_every_render_engine():
    """CI installs every engine (.ci/run sets CI_REQUIRE_ENGINES): there, a missing one fails instead of skipping
    the source tests. Elsewhere each source's available() is still a one-line install hint or None."""
    import importlib
    import os
    sys.path.insert(0, str(ROOT / "standins"))
    missing = {}
    for name in ("stk", "csound", "zyn", "faust", "lmms", "amsynth"):
        hint = importlib.import_module(f"source_{name}").available()
        assert hint is None or (isinstance(hint, str) and "\n" not in hint.strip())
        if hint:
            missing[name] = hint
    if os.environ.get("CI_REQUIRE_ENGINES"):
        assert not missing, missing
