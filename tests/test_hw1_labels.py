"""HW1 label builder: course class maps (with their quirks) and MIDI -> 5 s activity, checked against the genuine
Slakh Track00001 MIDI in ../shared/reference when that folder exists."""
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hw1_fixtures as F  # noqa: E402

pretty_midi = pytest.importorskip("pretty_midi")
U = F.load_hw1_utils()
MAPS = F.REFERENCE / "hw1_label_maps"
TRACK1 = F.REFERENCE / "slakh_Track00001"
DRUMS7 = F.REFERENCE / "slakh_Track00007_S00_drums.mid"


def reference_activity(midis, class_of, drums, L, win=5.0):
    """Independent ground truth: window i is active for a class when a note has start < (i+1)*win and end > i*win."""
    act = np.zeros((9, L), dtype=int)
    for pm in midis:
        for inst in pm.instruments:
            if inst.is_drum and not drums:
                continue
            c = class_of("128" if inst.is_drum else str(inst.program))
            for n in inst.notes:
                for i in range(L):
                    if n.start < (i + 1) * win and (n.end > i * win or (n.end == n.start == i * win)):
                        act[c, i] = 1
    return act


@pytest.mark.skipif(not MAPS.is_dir(), reason="reference class maps not present")
def test_builtin_maps_equal_course_json():
    assert U.COURSE_PROGRAM_TO_CLASS == json.loads((MAPS / "idx2instrument_class.json").read_text())
    assert U.COURSE_CLASS_TO_IDX == json.loads((MAPS / "MIDIClassName2class_idx.json").read_text())
    assert U.COURSE_IDX_TO_CLASS == json.loads((MAPS / "class_idx2MIDIClass.json").read_text())
    assert U.load_class_names(MAPS) == U.CLASS_NAMES


def test_wind_instruments_typo_is_mapped_and_noted(tmp_path, capsys):
    d = MAPS if MAPS.is_dir() else F.write_course_maps(tmp_path / "maps")
    prog2idx = U.load_program_map(d)
    out = capsys.readouterr().out
    assert out.count("note:") == 1 and "109, 111" in out and "'Wind instruments'" in out
    wind = U.CLASS_NAMES.index("Wind Instruments")
    assert prog2idx[109] == prog2idx[111] == wind
    assert len(prog2idx) == 129 and prog2idx == U.load_program_map(None, verbose=False)
    assert prog2idx[128] == U.CLASS_NAMES.index("Percussion")


def test_unknown_class_name_is_one_line_error(tmp_path):
    d = F.write_course_maps(tmp_path / "maps")
    m = dict(U.COURSE_PROGRAM_TO_CLASS, **{"5": "Kazoo"})
    (d / "idx2instrument_class.json").write_text(json.dumps(m))
    with pytest.raises(SystemExit) as e:
        U.load_program_map(d, verbose=False)
    assert "program 5" in str(e.value) and "Kazoo" in str(e.value)


def test_window_overlap_rules():
    pm = pretty_midi.PrettyMIDI()
    piano, bass, drums = (pretty_midi.Instrument(0), pretty_midi.Instrument(33), pretty_midi.Instrument(0, is_drum=True))
    piano.notes = [pretty_midi.Note(100, 60, 0.0, 5.0)]        # ends exactly on the boundary -> window 0 only
    bass.notes = [pretty_midi.Note(100, 40, 9.9, 10.1),         # straddles 10 s -> windows 1 and 2
                  pretty_midi.Note(100, 40, 15.0, 16.2)]        # starts on the boundary -> window 3
    drums.notes = [pretty_midi.Note(100, 36, 2.0, 2.1)]
    pm.instruments += [piano, bass, drums]
    prog2idx = U.load_program_map(None, verbose=False)
    act, end = U.midi_activity(pm, prog2idx)
    assert act.shape == (9, math.ceil(end / 5)) == (9, 4)
    assert act[0].tolist() == [1, 0, 0, 0]
    assert act[4].tolist() == [0, 1, 1, 1]
    assert act.sum() == 4                                       # drums (program 0!) are neither Piano nor Percussion
    act_d, _ = U.midi_activity(pm, prog2idx, drums_as_percussion=True)
    assert act_d[1].tolist() == [1, 0, 0, 0] and act_d[0].tolist() == [1, 0, 0, 0]


@pytest.mark.skipif(not (TRACK1 / "MIDI").is_dir(), reason="reference Slakh Track00001 not present")
def test_genuine_slakh_track00001():
    prog2idx = U.load_program_map(None, verbose=False)
    midis = [U.load_midi(p) for p in sorted((TRACK1 / "MIDI").glob("S*.mid"))]
    act, end = U.midi_activity(midis, prog2idx)
    L = math.ceil(max(pm.get_end_time() for pm in midis) / 5)
    assert act.shape == (9, L) and L == 48
    names = U.CLASS_NAMES

    def class_of(key):
        return names.index(U.COURSE_PROGRAM_TO_CLASS[key].replace("Wind instruments", "Wind Instruments"))
    assert np.array_equal(act, reference_activity(midis, class_of, False, L))
    active = {names[c] for c in np.flatnonzero(act.any(1))}
    # rendered stems: guitars 30/26, drums, piano 1, bass 33, Choir Aahs 52 (Voice by program), organs 17/22;
    # S06 (program 103, Synth) was not rendered and must not appear
    assert active == {"Guitar", "Piano", "Bass", "Voice", "Organ"}
    assert act[names.index("Percussion")].sum() == 0
    act_d, _ = U.midi_activity(midis, prog2idx, drums_as_percussion=True)
    assert act_d[names.index("Percussion")].sum() > 0.8 * L
    assert np.array_equal(np.delete(act_d, 1, axis=0), np.delete(act, 1, axis=0))
    # all_src.mid still holds the unrendered synth stem: the labels must come from MIDI/Sxx.mid
    src, _ = U.midi_activity(U.load_midi(TRACK1 / "all_src.mid"), prog2idx)
    assert src[names.index("Synth")].sum() > 0


@pytest.mark.skipif(not DRUMS7.is_file(), reason="reference drum stem not present")
def test_genuine_drum_stem_is_not_piano():
    prog2idx = U.load_program_map(None, verbose=False)
    pm = U.load_midi(DRUMS7)
    assert pm.instruments[0].is_drum and pm.instruments[0].program == 0
    act, end = U.midi_activity(pm, prog2idx)
    assert act.shape[1] == math.ceil(end / 5) and act.sum() == 0
    act_d, _ = U.midi_activity(pm, prog2idx, drums_as_percussion=True)
    assert act_d[U.CLASS_NAMES.index("Piano")].sum() == 0 and act_d[1].sum() > 0


def test_unreadable_midi_is_one_line_error(tmp_path):
    bad = tmp_path / "Track00009.mid"
    bad.write_bytes(b"not a midi file")
    with pytest.raises(SystemExit) as e:
        U.load_midi(bad)
    assert str(bad) in str(e.value) and "\n" not in str(e.value)
