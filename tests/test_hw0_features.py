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


# ---- harmonic features: timbre measured on the note's own harmonics, located from its pitch ----------------------

def harmonic_tone(pitch, amplitude, decay=lambda k: 0.0, stretch=0.0, n=30):
    """4 s of partials k = 1..n at k * f0 * sqrt(1 + stretch * k^2) with amplitude(k) and exp(-decay(k) t)."""
    t = np.arange(4 * SR) / SR
    f0 = 440.0 * 2 ** ((pitch - 69) / 12)
    y = np.zeros_like(t)
    for k in range(1, n + 1):
        f = k * f0 * np.sqrt(1 + stretch * k * k)
        if f < SR / 2 - 100 and amplitude(k):
            y += amplitude(k) * np.sin(2 * np.pi * f * t) * np.exp(-decay(k) * t)
    return (0.8 * y / np.abs(y).max()).astype(np.float32)


@pytest.fixture(scope="module")
def tones(tmp_path_factory):
    """Tones with known harmonics, read back from 16-bit wavs named as NSynth names its notes."""
    root = tmp_path_factory.mktemp("harm") / "s"
    (root / "audio").mkdir(parents=True)
    made = {"reed_synthetic_000-048-127": harmonic_tone(48, lambda k: 1 / k if k % 2 else 0),      # square wave
            "brass_synthetic_000-048-127": harmonic_tone(48, lambda k: 1 / k),                     # sawtooth
            "keyboard_synthetic_000-048-127": harmonic_tone(48, lambda k: 1 / k, stretch=1e-3),    # stretched
            "guitar_synthetic_000-048-127": harmonic_tone(48, lambda k: 1 / k, decay=lambda k: k),  # dull with time
            "flute_synthetic_000-084-127": harmonic_tone(84, lambda k: 1 / k),                     # 1,047 Hz
            "sawtooth_without_pitch": harmonic_tone(60, lambda k: 1 / k)}                          # 262 Hz, unnamed
    for name, y in made.items():
        sf.write(root / "audio" / f"{name}.wav", y, SR, subtype="PCM_16")
    paths, labels = utils.list_nsynth(root)
    audio, paths, _ = utils.load_audio(paths, labels)
    names = [p.stem for p in paths]
    return dict(zip(names, audio)), paths


def harmonics_of(tones, name, pitch=None):
    y = tones[0][name]
    pitch = utils.pitch_from_name(name) if pitch is None else pitch
    return dict(zip(features.harmonic_names(), features.harmonic_features(y[None], np.array([pitch]))[0]))


def test_harmonic_levels_follow_the_waveform(tones):
    square, saw = harmonics_of(tones, "reed_synthetic_000-048-127"), harmonics_of(tones, "brass_synthetic_000-048-127")
    # amplitudes 1/k: harmonic 3 is 20 log10(3) = 9.5 dB under harmonic 1, in both
    assert square["harm1_db"] - square["harm3_db"] == pytest.approx(9.54, abs=0.5)
    assert saw["harm1_db"] - saw["harm3_db"] == pytest.approx(9.54, abs=0.5)
    assert saw["harm1_db"] - saw["harm2_db"] == pytest.approx(6.02, abs=0.5)
    assert square["harm2_db"] < square["harm1_db"] - 60                  # a square wave has no even harmonics
    # odd (3, 5, ...) against even (2, 4, ...) power: a square wave's are all odd; a sawtooth's sums of 1/k^2
    # are pi^2/8 - 1 and pi^2/24 (the 24 harmonics measured cut both series short by under 0.1 dB)
    assert square["odd_even_db"] > 40
    assert saw["odd_even_db"] == pytest.approx(10 * np.log10((np.pi ** 2 / 8 - 1) / (np.pi ** 2 / 24)), abs=0.5)
    # harmonics 25-30 of the tone lie beyond the 24 measured: 0.55 % of its power, 22.6 dB under the rest
    assert saw["hnr_sustain_db"] == pytest.approx(22.6, abs=1.5) and saw["inharmonicity"] < 0.004


def test_stretched_partials_and_upper_harmonics_that_die_first_are_measured(tones):
    plain, stretched = (harmonics_of(tones, f"{f}_synthetic_000-048-127") for f in ("brass", "keyboard"))
    assert abs(plain["harm5_dev"]) < 0.004                              # a 3.9 Hz bin is 0.6 % of 654 Hz
    assert stretched["harm5_dev"] == pytest.approx(np.sqrt(1 + 25e-3) - 1, abs=0.004)   # +1.2 %
    assert stretched["stretch"] > 0.01 > plain["stretch"]
    dull = harmonics_of(tones, "guitar_synthetic_000-048-127")          # harmonic k decays at k / s = 8.7 k dB/s
    assert dull["harm4_decay"] - dull["harm1_decay"] == pytest.approx(-3 * 8.69, abs=3)
    assert dull["harm_centroid_slope"] < 0 and abs(plain["harm_centroid_slope"]) < 0.05


def test_harmonics_above_nyquist_read_absent_and_a_missing_pitch_is_estimated(tones, capsys):
    high = harmonics_of(tones, "flute_synthetic_000-084-127")          # 1,047 Hz: harmonics 1-7 under 8 kHz
    assert high["harm7_db"] > -40 and all(high[f"harm{k}_db"] == -100 for k in range(9, 25))
    _, paths = tones
    pitches = utils.note_pitches(paths)
    assert "1 files have no pitch in their name" in capsys.readouterr().err
    assert sorted(pitches) == [-1, 48, 48, 48, 48, 84]
    estimated = harmonics_of(tones, "sawtooth_without_pitch", pitch=-1)
    named = harmonics_of(tones, "sawtooth_without_pitch", 60)
    np.testing.assert_allclose(list(estimated.values()), list(named.values()))
