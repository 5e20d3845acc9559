"""hw0/utils.py on real files: NSynth listing and label fallback, audio fixes, metrics equal to sklearn's."""
import json

import numpy as np
import pytest
import soundfile as sf
from sklearn.metrics import top_k_accuracy_score

from conftest import FAMILIES, make_nsynth
from hw0 import features, utils


@pytest.mark.parametrize("stem,family", [
    ("synth_lead_synthetic_003-060-100", "synth_lead"),
    ("guitar_acoustic_010-021-025", "guitar"),
    ("keyboard_electronic_001-108-127", "keyboard"),
    ("vocal_synthetic_003-048-050", "vocal"),
])
def test_label_from_name_splits_from_the_right(stem, family):
    assert utils.label_from_name(stem) == FAMILIES.index(family)


@pytest.mark.parametrize("stem", ["notes", "kazoo_acoustic_001-060-100", "guitar-060-100", "x_y-1"])
def test_label_from_name_rejects_underivable(stem):
    assert utils.label_from_name(stem) is None


def test_list_uses_examples_json_then_file_names(tmp_path, capsys):
    names = make_nsynth(tmp_path / "split", families=["bass", "synth_lead"], pitches=(60,), velocities=(100,))
    # examples.json wins over the file name: relabel one note, and list one note with no wav
    meta = json.loads((tmp_path / "split" / "examples.json").read_text())
    meta[names[0]]["instrument_family"] = FAMILIES.index("organ")
    meta["flute_acoustic_999-060-100"] = dict(instrument_family=2)
    (tmp_path / "split" / "examples.json").write_text(json.dumps(meta))
    sf.write(tmp_path / "split" / "audio" / "mystery.wav", np.zeros(64000), 16000, subtype="PCM_16")
    paths, labels = utils.list_nsynth(tmp_path / "split")
    got = {p.stem: int(y) for p, y in zip(paths, labels)}
    assert got == {names[0]: FAMILIES.index("organ"), names[1]: FAMILIES.index("synth_lead"), "mystery": -1}
    err = capsys.readouterr().err
    assert "1 notes listed" in err and "1 of 3 files have no derivable instrument family" in err
    # the audio/ folder itself is accepted too, and without examples.json labels come from names
    (tmp_path / "split" / "examples.json").unlink()
    paths2, labels2 = utils.list_nsynth(tmp_path / "split" / "audio")
    assert [p.stem for p in paths2] == [p.stem for p in paths]
    assert {p.stem: int(y) for p, y in zip(paths2, labels2)} == {
        names[0]: FAMILIES.index("bass"), names[1]: FAMILIES.index("synth_lead"), "mystery": -1}


def test_load_audio_fixes_odd_files_with_counted_warnings(tmp_path, capsys):
    t = np.arange(64000) / 16000
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    sf.write(tmp_path / "ok.wav", tone, 16000, subtype="PCM_16")
    sf.write(tmp_path / "stereo.wav", np.stack([tone, tone], 1), 16000, subtype="PCM_16")
    sf.write(tmp_path / "hi_rate.wav", np.sin(2 * np.pi * 440 * np.arange(176400) / 44100) * 0.5, 44100)
    sf.write(tmp_path / "short.wav", tone[:16000], 16000, subtype="PCM_16")
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x00garbage")
    paths = sorted(tmp_path.glob("*.wav"))
    audio, kept, labels = utils.load_audio(paths, np.arange(len(paths)))
    err = capsys.readouterr().err
    assert [p.name for p in kept] == ["hi_rate.wav", "ok.wav", "short.wav", "stereo.wav"]
    assert list(labels) == [1, 2, 3, 4]                       # labels stay aligned with the files kept
    assert audio.shape == (4, 64000) and audio.dtype == np.float32
    assert "1 files: multichannel" in err and "1 files: sample rate 44100" in err and "1 files: length" in err
    assert "1 unreadable files excluded" in err and "corrupt.wav (unreadable: Format not recognised" in err
    np.testing.assert_allclose(audio[3], audio[1], atol=1e-4)  # stereo of identical channels == mono
    assert np.abs(audio[2, 16000:]).max() == 0                  # short clip zero-padded to 4 s
    # resampled 440 Hz tone still peaks at 440 Hz
    spec = np.abs(np.fft.rfft(audio[0]))
    assert abs(np.argmax(spec) * 16000 / 64000 - 440) < 2


def test_evaluate_matches_sklearn_and_stays_11_way():
    rng = np.random.default_rng(0)
    labels = rng.choice([f for f in range(11) if f != 9], size=200)     # no synth_lead, like NSynth test
    labels[:5] = -1                                                     # unlabelled: predicted, not scored
    scores = rng.random((200, 11))
    m = utils.evaluate(scores, labels)
    y, s = labels[5:], scores[5:]
    assert m["n"] == 195 and m["n_unscored"] == 5
    assert m["top1"] == pytest.approx(top_k_accuracy_score(y, s, k=1, labels=range(11)))
    assert m["top3"] == pytest.approx(top_k_accuracy_score(y, s, k=3, labels=range(11)))
    cm = np.array(m["confusion_matrix"])
    assert cm.shape == (11, 11) and cm.sum() == 195 and cm[9].sum() == 0


def test_features_have_the_documented_names(tmp_path):
    make_nsynth(tmp_path / "s", families=["bass", "flute"], pitches=(60,), velocities=(100,))
    paths, labels = utils.list_nsynth(tmp_path / "s")
    audio, _, _ = utils.load_audio(paths, labels)
    X = features.pooled_features(audio)
    assert X.shape == (2, len(features.feature_names())) and np.isfinite(X).all()
    # flute recipe has breath noise: flatter spectrum than the bass
    flat = features.feature_names().index("flatness_mean")
    assert X[1, flat] > X[0, flat]
