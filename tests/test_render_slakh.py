"""standins/render_slakh.py through the CLI on a few short tracks (TimGM6mb from pretty_midi)."""
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import ROOT, run_script

pytest.importorskip("tinysoundfont")
pretty_midi = pytest.importorskip("pretty_midi")

SCRIPT = ROOT / "standins" / "render_slakh.py"
FONT = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
REF = Path(__file__).resolve().parents[2] / "shared" / "reference" / "hw1_label_maps"
CLASSES = ["Piano", "Percussion", "Organ", "Guitar", "Bass", "Strings", "Voice", "Wind Instruments", "Synth"]
SPLITS = ("train", "validation", "test")


def course_map():
    """program -> class index, from the genuine course file when present, else the GM ranges it encodes."""
    if (REF / "idx2instrument_class.json").exists():
        m = json.loads((REF / "idx2instrument_class.json").read_text())
        return {p: CLASSES.index(m[str(p)].replace("Wind instruments", "Wind Instruments")) for p in range(128)}
    ranges = [(0, 8, 0), (8, 16, 1), (16, 24, 2), (24, 32, 3), (32, 40, 4), (40, 52, 5), (52, 55, 6), (55, 56, 5),
              (56, 80, 7), (80, 104, 8), (104, 108, 5), (108, 109, 0), (109, 110, 7), (110, 111, 5), (111, 112, 7),
              (112, 120, 1), (120, 128, 8)]
    return {p: c for a, b, c in ranges for p in range(a, b)}


def render(out, workers):
    run_script(SCRIPT, "--out", out, "--fonts", FONT, "--splits", "train=timgm:0.6;validation=timgm:0.2;test=timgm:0.2",
               "--tracks", "train=3,validation=1,test=1", "--test_tracks", "1", "--track_len", "11,16",
               "--drum_prob", "0.7", "--seed", "5", "--workers", workers, timeout=300)
    return out


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return render(tmp_path_factory.mktemp("slakh") / "a", workers=2)


def test_layout_and_clips(data):
    for s in SPLITS:
        labels = json.loads((data / f"{s}_labels.json").read_text())
        files = sorted(p.name for p in (data / s).glob("*.npy"))
        assert labels and sorted(labels) == files
        for name, lab in labels.items():
            x = np.load(data / s / name)
            assert x.dtype == np.float32 and x.shape == (120000,)
            assert np.abs(x).max() > 1e-3 and np.abs(x).max() <= 1.0
            assert len(lab) == 9 and set(lab) <= {0, 1}
    info = json.loads((data / "dataset_info.json").read_text())
    assert info["provenance"].startswith("rendered proxy data")
    assert info["command"].startswith("python standins/render_slakh.py --out ")
    tt = sorted((data / "test_track").iterdir())
    assert [p.suffix for p in tt] == [".flac", ".mid"] and tt[0].stem == tt[1].stem
    y, sr = sf.read(str(tt[0]))
    pm = pretty_midi.PrettyMIDI(str(tt[1]))
    assert y.ndim == 1 and len(y) / sr >= pm.get_end_time() and len(pm.instruments) >= 2


def test_labels_match_midi(data):
    cmap = course_map()
    n_drum_tracks = 0
    for s in SPLITS:
        labels = json.loads((data / f"{s}_labels.json").read_text())
        for mid in (data / "midi" / s).glob("*.mid"):
            pm = pretty_midi.PrettyMIDI(str(mid))
            n_drum_tracks += any(i.is_drum for i in pm.instruments)
            clips = sorted(k for k in labels if k.startswith(mid.stem + "_"))
            assert len(clips) == int(pm.get_end_time() // 5)
            for k, clip in enumerate(clips):
                want = [0] * 9
                for inst in pm.instruments:
                    if inst.is_drum:
                        continue  # drum kits are not "Percussion" in the course release
                    if any(n.start < 5 * (k + 1) and n.end > 5 * k for n in inst.notes):
                        want[cmap[inst.program]] = 1
                assert labels[clip] == want, clip
    assert n_drum_tracks >= 1


def test_program_disjoint_splits(data):
    info = json.loads((data / "dataset_info.json").read_text())
    progs = {s: {p for c in info["split_rule"]["programs"][s]["timgm"].values() for p in c} for s in SPLITS}
    for a, b in (("train", "validation"), ("train", "test"), ("validation", "test")):
        assert not progs[a] & progs[b]
    for s in SPLITS:
        used = {i.program for m in (data / "midi" / s).glob("*.mid")
                for i in pretty_midi.PrettyMIDI(str(m)).instruments if not i.is_drum}
        assert used and used <= progs[s]


def test_deterministic(data, tmp_path):
    other = render(tmp_path / "b", workers=1)
    for s in SPLITS:
        assert (data / f"{s}_labels.json").read_bytes() == (other / f"{s}_labels.json").read_bytes()
        for p in (data / s).glob("*.npy"):
            assert p.read_bytes() == (other / s / p.name).read_bytes()
    for p in (data / "test_track").iterdir():
        assert p.read_bytes() == (other / "test_track" / p.name).read_bytes()
