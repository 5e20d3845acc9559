"""Task-2 features: the fast batched path (features.pooled_features / extract_features) gives the numbers of librosa's
own feature functions called one file at a time (features.reference_features), on real wav files written by fixtures,
including the cases where a shortcut would show: exact silence, a very quiet note, and a high pure tone whose low
octave bands sit far below float32 FFT noise."""
import librosa
import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import SR, make_nsynth
from hw0 import features, utils


PURE_TONE = "synth_lead_synthetic_900-103-127"


@pytest.fixture(scope="module")
def notes(tmp_path_factory):
    """Fixture notes decoded from 16-bit wavs, plus signals that stress the numerics."""
    root = tmp_path_factory.mktemp("feat")
    make_nsynth(root / "s", families=["bass", "flute", "mallet", "organ", "vocal"], pitches=(36, 84),
                velocities=(25, 127))
    t = np.arange(4 * SR) / SR
    extra = {
        PURE_TONE: 0.9 * np.sin(2 * np.pi * 3136.0 * t) * np.exp(-0.5 * t),     # low bands at ~-150 dB
        "synth_lead_synthetic_901-057-100": np.where(t < 1, 0.5 * np.sin(2 * np.pi * 220.0 * t), 0.0),  # zeros
        "synth_lead_synthetic_902-060-010": 1e-4 * np.random.default_rng(0).standard_normal(len(t)),  # whisper
    }
    for name, y in extra.items():
        sf.write(root / "s" / "audio" / f"{name}.wav", y, SR, subtype="PCM_16")
    paths, labels = utils.list_nsynth(root / "s")
    audio, paths, _ = utils.load_audio(paths, labels)
    return audio, [p.stem for p in paths]


def test_features_equal_librosa_one_file_at_a_time(notes):
    audio, names = notes
    ours = features.extract_features(audio)
    reference = np.stack([features.reference_features(y) for y in audio])
    assert ours.shape == reference.shape == (len(audio), len(features.feature_names()))
    scale = np.abs(reference).max(axis=0) + 1e-6           # each feature's range over these notes
    error = np.abs(ours - reference) / scale
    worst_note, worst_feature = np.unravel_index(error.argmax(), error.shape)
    assert error.max() < 1e-3, (f"{names[worst_note]}: {features.feature_names()[worst_feature]} differs by "
                                f"{error.max():.1e} of its range")


def test_spectral_contrast_valleys_far_below_a_high_note_are_exact(notes):
    """A float32 FFT's rounding noise (~135 dB under the frame peak) would lift these valleys by up to 20 dB."""
    audio, names = notes
    y = audio[names.index(PURE_TONE)]
    first = features.feature_names().index("contrast0_mean")      # pooled names list the frame features in order
    contrast_rows = slice(first, first + 7)
    ours = features.frame_features(y[None])[0, contrast_rows]
    exact = librosa.feature.spectral_contrast(y=y.astype(np.float64), sr=SR, n_fft=2048, hop_length=512)
    np.testing.assert_allclose(ours, exact, atol=1e-2)         # dB


def test_features_of_a_note_do_not_depend_on_its_batch(notes):
    """librosa's batch-wide top_db floor and tuning estimate would leak between notes; ours are per note."""
    audio = notes[0].copy()
    audio[0] *= 1e-3                                           # one very quiet note among loud ones
    together = features.pooled_features(audio)
    alone = np.concatenate([features.pooled_features(audio[i:i + 1]) for i in range(len(audio))])
    np.testing.assert_allclose(together, alone, rtol=1e-4, atol=1e-4)


def test_extract_features_chunks_and_restores_torch_threads(notes):
    audio = notes[0]
    threads = torch.get_num_threads()
    np.testing.assert_allclose(features.extract_features(audio, chunk=3), features.pooled_features(audio), rtol=1e-4, atol=1e-5)
    assert torch.get_num_threads() == threads


def test_band_extremes_equal_sorting_with_ties():
    rng = np.random.default_rng(1)
    S = (rng.random((50, 1025)) ** 4).astype(np.float32)
    S[:10] = 0.0                                               # silent frames: every value tied
    S[10:20, :300] = 0.25                                      # ties inside the low bands
    bands = features.feature_filters(SR, 2048, 128)["bands"]
    peak, valley = features.band_extremes(S, bands)
    for b, (lo, hi, k) in enumerate(bands):
        ordered = np.sort(S[:, lo:hi], axis=1)
        np.testing.assert_allclose(peak[:, b], ordered[:, -k:].mean(1), rtol=1e-6)
        np.testing.assert_allclose(valley[:, b], ordered[:, :k].mean(1), rtol=1e-6)


def test_contrast_bands_are_librosas():
    """librosa.feature.spectral_contrast(linear=True) on a spectrogram = mean of our band peaks - valleys."""
    S = (np.random.default_rng(2).random((1025, 40)) ** 3).astype(np.float32)
    peak, valley = features.band_extremes(np.ascontiguousarray(S.T), features.feature_filters(SR, 2048, 128)["bands"])
    np.testing.assert_allclose((peak - valley).T, librosa.feature.spectral_contrast(S=S, sr=SR, linear=True),
                               rtol=1e-5, atol=1e-7)


def test_delta_operators_equal_librosa_delta():
    mfcc = np.random.default_rng(3).normal(size=(2, 20, 126)).astype(np.float32) * 30
    first, second = np.split(mfcc @ features.delta_operators(126), 2, axis=-1)
    np.testing.assert_allclose(first, librosa.feature.delta(mfcc), atol=1e-4)
    np.testing.assert_allclose(second, librosa.feature.delta(mfcc, order=2), atol=1e-4)


def test_envelope_decay_slope_is_the_least_squares_fit():
    rng = np.random.default_rng(4)
    rms_db = rng.normal(size=(30, 126)).cumsum(axis=1)
    rms_db[0] = 0.0                                            # flat: peak at frame 0
    rms_db[1, 120] = 99.0                                      # peak after the release: no decay segment
    hop_s = 512 / SR
    env = features.envelope_features(rms_db, hop_s)
    release = int(round(3.0 / hop_s))
    for b in range(len(rms_db)):
        seg = rms_db[b, rms_db[b].argmax():release]
        want = np.polyfit(np.arange(len(seg)) * hop_s, seg, 1)[0] if len(seg) >= 3 else 0.0
        assert env[b, 2] == pytest.approx(want, abs=1e-6)
