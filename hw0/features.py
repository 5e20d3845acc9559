"""Task-2 features: what they are (reference_features: librosa's own functions, one file at a time) and the fast way
they are computed (pooled_features: one float64 STFT per note shared by every feature, numba for the two loops torch
does badly). 176 numbers per note: MFCC 20 + deltas + delta-deltas, spectral centroid, bandwidth, roll-off, flatness,
7-band contrast, 12 chroma, zero-crossing rate and RMS, each pooled by mean and std over time, + 6 envelope statistics.

harmonic_features adds 59 numbers measured on the note's own harmonics, located from its MIDI pitch (the NSynth file
name carries it: utils.note_pitches): the level of each harmonic relative to all of them, how fast each decays, how
far each sits from k * f0, harmonic-to-noise ratios, odd/even balance and onsets. They describe timbre relative to the
pitch, which mel statistics mix with the pitch itself (README "Numbers" has what they bought on genuine notes).

train_ml.py and inference.py call extract_features (and harmonic_features) on one chunk of decoded notes at a time
(utils.cached_rows streams a split through them into an on-disk cache).
"""
import functools
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

SR = 16000              # NSynth sample rate (as utils.SR)

FEAT_DEFAULTS = dict(sr=SR, n_fft=2048, hop_length=512, n_mels=128, n_mfcc=20)
FEAT_VERSION = 2   # part of the feature cache key: bump when the computation changes, even within float rounding


def feature_names(cfg=FEAT_DEFAULTS):
    frame = ([f"mfcc{i}" for i in range(cfg["n_mfcc"])] + [f"dmfcc{i}" for i in range(cfg["n_mfcc"])] +
             [f"ddmfcc{i}" for i in range(cfg["n_mfcc"])] + ["centroid", "bandwidth", "rolloff", "flatness"] +
             [f"contrast{i}" for i in range(7)] + [f"chroma{i}" for i in range(12)] + ["zcr", "rms_db"])
    pooled = [f"{n}_{s}" for s in ("mean", "std") for n in frame]
    return pooled + ["attack_time", "peak_time", "decay_slope", "release_ratio", "temporal_centroid", "peak_db"]


def db_per_clip(power, top_db=80.0):
    """librosa.power_to_db(power) for each clip of a batch [B, ...] on its own: librosa's top_db floor is relative to
    the maximum of the whole array, which would make one note's features depend on the others in its batch."""
    db = 10.0 * np.log10(np.maximum(1e-10, power))
    peak = db.reshape(len(db), -1).max(axis=1).reshape((-1,) + (1,) * (db.ndim - 1))
    return np.maximum(db, peak - top_db)


@functools.lru_cache(maxsize=4)
def feature_filters(sr, n_fft, n_mels):
    """Bin frequencies, mel and chroma filter banks (torch) and spectral-contrast bands, built once per setting."""
    import librosa
    import torch
    freq = librosa.fft_frequencies(sr=sr, n_fft=n_fft)
    # librosa.feature.spectral_contrast's octave sub-bands (fmin 200 Hz, 6 bands, quantile 0.02) as
    # (first bin, end bin, bins averaged at each side), reproducing its edge rules
    edges = np.concatenate([[0.0], 200.0 * 2.0 ** np.arange(7)])
    bands = []
    for k, (f_low, f_high) in enumerate(zip(edges[:-1], edges[1:])):
        idx = np.flatnonzero((freq >= f_low) & (freq <= f_high))
        lo = idx[0] - 1 if k > 0 else idx[0]             # each band also takes the bin just below it,
        hi = len(freq) if k == 6 else idx[-1] + 1        # the top band runs to Nyquist,
        n_side = max(int(np.rint(0.02 * (hi - lo))), 1)
        bands.append((int(lo), int(hi) if k == 6 else int(hi) - 1, n_side))   # the others drop their last bin
    freq = torch.as_tensor(freq, dtype=torch.float32)
    return dict(freq=freq, freq_powers=torch.stack([torch.ones_like(freq), freq, freq ** 2], 1),   # [bins, 3]
                # mel and chroma (A440, no tuning estimate) filter banks side by side: one matrix product for both
                mel_chroma=torch.as_tensor(np.concatenate([librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels),
                                                           librosa.filters.chroma(sr=sr, n_fft=n_fft, tuning=0.0)]).T),
                window=torch.as_tensor(librosa.filters.get_window("hann", n_fft)),
                bands=np.array(bands, dtype=np.int64))


@numba.njit(nogil=True)
def power_and_magnitude(spec, power, magnitude):
    """|X|^2 and |X| into float32 [frames, bins] from a complex128 spectrum in one pass (torch needs four)."""
    for t in range(spec.shape[0]):
        for f in range(spec.shape[1]):
            p = spec[t, f].real ** 2 + spec[t, f].imag ** 2
            power[t, f] = p
            magnitude[t, f] = np.sqrt(p)


@numba.njit(nogil=True)
def band_extremes(S, bands):
    """Spectral contrast's peak and valley: for each row of S [rows, bins] and each band (lo, hi, k), the mean of
    the k largest and of the k smallest values in S[row, lo:hi]. One pass a band keeping the k extremes in order;
    torch.topk (a partial sort per row and side) took more time than everything else in frame_features together."""
    peak = np.empty((S.shape[0], len(bands)), np.float32)
    valley = np.empty((S.shape[0], len(bands)), np.float32)
    k_max = bands[:, 2].max()
    top = np.empty(k_max, np.float32)       # descending: top[k - 1] is the smallest kept
    bottom = np.empty(k_max, np.float32)    # ascending: bottom[k - 1] is the largest kept
    for r in range(S.shape[0]):
        for b in range(len(bands)):
            lo, hi, k = bands[b, 0], bands[b, 1], bands[b, 2]
            top[:k] = -np.inf
            bottom[:k] = np.inf
            for i in range(lo, hi):
                v = S[r, i]
                if v > top[k - 1]:
                    j = k - 1
                    while j > 0 and top[j - 1] < v:
                        top[j] = top[j - 1]
                        j -= 1
                    top[j] = v
                if v < bottom[k - 1]:
                    j = k - 1
                    while j > 0 and bottom[j - 1] > v:
                        bottom[j] = bottom[j - 1]
                        j -= 1
                    bottom[j] = v
            peak[r, b] = top[:k].mean()
            valley[r, b] = bottom[:k].mean()
    return peak, valley


@functools.lru_cache(maxsize=4)
def delta_operators(n_frames):
    """[frames, 2 * frames] matrix M with mfcc @ M = librosa.feature.delta of order 1 and 2 side by side. The deltas
    are linear in the signal, so librosa applied to the identity gives their matrix once; a product per batch then
    replaces its per-row Savitzky-Golay edge fits, which took as long as the whole STFT."""
    import librosa
    eye = np.eye(n_frames, dtype=np.float32)
    return np.concatenate([librosa.feature.delta(eye), librosa.feature.delta(eye, order=2)], axis=1)


def frame_features(y, cfg=FEAT_DEFAULTS):
    """[B, samples] -> [B, n_frame_features, frames]: the numbers librosa's feature functions give one file at a time
    (bench/hw0_features.py asserts it), computed in torch from one STFT that every spectral feature shares."""
    import librosa
    import torch
    sr, n_fft, hop = cfg["sr"], cfg["n_fft"], cfg["hop_length"]
    fb = feature_filters(sr, n_fft, cfg["n_mels"])
    freq, tiny, half = fb["freq"], np.finfo(np.float32).tiny, n_fft // 2
    if n_fft % hop:
        raise ValueError(f"Task-2 features need n_fft a multiple of hop_length, got {n_fft} and {hop}")
    pad = torch.nn.functional.pad
    with torch.inference_mode():
        x = torch.tensor(np.asarray(y, dtype=np.float32))
        # the STFT in float64, as librosa computes it (its window is float64): a float32 FFT's rounding noise, about
        # 135 dB under the frame's peak, swamps spectral-contrast valleys far from a note and moves them by up to
        # 20 dB. One clip at a time, so its float64 frames and spectrum (2 MB each) stay in cache; float32 after.
        n_frames = 1 + x.shape[1] // hop
        P, S = torch.empty(len(x), n_frames, n_fft // 2 + 1), torch.empty(len(x), n_frames, n_fft // 2 + 1)
        windowed = torch.empty(n_frames, n_fft, dtype=torch.float64)           # reused: no fresh pages per clip
        for clip, clip_P, clip_S in zip(pad(x.double(), (half, half)), P.numpy(), S.numpy()):
            spec = torch.fft.rfft(torch.mul(clip.unfold(-1, n_fft, hop), fb["window"], out=windowed))
            power_and_magnitude(spec.numpy(), clip_P, clip_S)                  # |X|^2, |X|  [frames, bins]
        # centroid and bandwidth from the magnitude's first three moments over frequency (librosa normalises each
        # frame to unit sum and leaves all-zero frames at zero, hence the guarded division)
        m0, m1, m2 = (S @ fb["freq_powers"]).unbind(-1)
        m0_safe = torch.where(m0 < tiny, 1.0, m0)
        centroid = m1 / m0_safe
        bandwidth = ((m2 - 2 * centroid * m1 + centroid ** 2 * m0) / m0_safe).clamp_min(0).sqrt()
        # roll-off: first bin whose running magnitude sum reaches 85 % of the frame's (the sum is sorted)
        rolloff = freq[torch.searchsorted(S.cumsum(-1), 0.85 * m0[..., None])[..., 0].clamp_max(len(freq) - 1)]
        P_floor = P.clamp_min(1e-10)
        arithmetic_mean = P_floor.mean(-1)
        flatness = P_floor.log_().mean(-1).exp() / arithmetic_mean
        peak, valley = band_extremes(S.reshape(-1, S.shape[-1]).numpy(), fb["bands"])
        mel, chroma = (P @ fb["mel_chroma"]).split([cfg["n_mels"], 12], -1)
        chroma_max = chroma.amax(-1, keepdim=True)
        chroma = chroma / torch.where(chroma_max < tiny, 1.0, chroma_max)   # librosa's max-norm, silence left as is
        # rms over the same centred n_fft frames: energy of hop-long blocks, summed n_fft / hop blocks at a time
        padded = pad(x, (half, half + (-(x.shape[1] + n_fft)) % hop))         # zeros up to whole blocks
        blocks = padded.pow(2).reshape(len(x), -1, hop).sum(-1)
        rms = (blocks.unfold(-1, n_fft // hop, 1)[:, :n_frames].sum(-1) / n_fft).sqrt()
        # zero crossings as librosa counts them: |y| <= 1e-10 counts as positive, n_fft - 1 sample pairs a frame,
        # edge padding (which adds none, so count on the clip and clamp each frame's first and last pair to it)
        negative = x < -1e-10
        count = pad((negative[:, 1:] != negative[:, :-1]).cumsum(-1, dtype=torch.int32), (1, 0))   # before sample
        first = (torch.arange(n_frames) * hop - half).clamp(0, x.shape[1] - 1)
        end = (torch.arange(n_frames) * hop - half + n_fft - 1).clamp(0, x.shape[1] - 1)
        zcr = (count[:, end] - count[:, first]) / n_fft
    frames = lambda t: t.transpose(-1, -2).numpy() if t.ndim == 3 else t[:, None].numpy()   # noqa: E731
    mfcc = librosa.feature.mfcc(S=db_per_clip(frames(mel)), n_mfcc=cfg["n_mfcc"])
    n_bands = len(fb["bands"])
    contrast = (db_per_clip(peak.reshape(len(x), -1, n_bands).transpose(0, 2, 1)) -
                db_per_clip(valley.reshape(len(x), -1, n_bands).transpose(0, 2, 1)))
    feats = [mfcc, *np.split(mfcc @ delta_operators(mfcc.shape[-1]), 2, axis=-1),
             frames(centroid), frames(bandwidth), frames(rolloff), frames(flatness), contrast, frames(chroma),
             frames(zcr), db_per_clip(frames(rms) ** 2)]        # = librosa.amplitude_to_db(rms) per clip
    return np.concatenate(feats, axis=-2)


def envelope_features(rms_db, hop_s):
    """Attack/decay statistics from the frame RMS in dB, [B, frames] -> [B, 6]."""
    peak = rms_db.argmax(axis=1)
    peak_db = rms_db.max(axis=1)
    above = rms_db >= (peak_db[:, None] - 3)               # attack: first frame within 3 dB of the peak
    attack = above.argmax(axis=1) * hop_s
    frames = np.arange(rms_db.shape[1])
    release_frame = min(int(round(3.0 / hop_s)), rms_db.shape[1] - 1)   # NSynth notes are released at 3 s
    # decay: least-squares slope (dB/s) from the peak to the release, all clips at once; 0 under three frames
    in_decay = (frames >= peak[:, None]) & (frames < release_frame)
    n = in_decay.sum(axis=1)
    t = np.where(in_decay, (frames - peak[:, None]) * hop_s, 0.0)
    db = np.where(in_decay, rms_db, 0.0)
    covariance = n * (t * db).sum(1) - t.sum(1) * db.sum(1)
    variance = n * (t * t).sum(1) - t.sum(1) ** 2
    slopes = np.where(n >= 3, covariance / np.maximum(variance, 1e-12), 0.0)
    release_ratio = rms_db[:, release_frame] - peak_db
    lin = 10 ** (rms_db / 20)
    temporal_centroid = (lin * frames).sum(1) / (lin.sum(1) + 1e-9) * hop_s
    return np.stack([attack, peak * hop_s, slopes, release_ratio, temporal_centroid, peak_db], axis=1)


def pool_over_time(frames, cfg=FEAT_DEFAULTS):
    """[B, n_frame_features, frames] -> [B, D]: mean and std over time of each frame feature + envelope statistics of
    the last one (RMS in dB)."""
    env = envelope_features(frames[:, -1, :], cfg["hop_length"] / cfg["sr"])
    return np.concatenate([frames.mean(-1), frames.std(-1), env], axis=1).astype(np.float32)


def pooled_features(y, cfg=FEAT_DEFAULTS):
    """[B, samples] -> [B, D] clip-level vector: mean and std over time of frame features + envelope statistics."""
    return pool_over_time(frame_features(y, cfg), cfg)


def reference_features(y, cfg=FEAT_DEFAULTS):
    """The definition of the Task-2 features for one clip [samples] -> [D]: librosa's own feature functions on the
    waveform, each computing its own STFT, as a per-file loop would. pooled_features gives the same numbers many times
    faster; tests and bench/hw0_features.py check the two against each other."""
    import librosa
    sr, n_fft, hop = cfg["sr"], cfg["n_fft"], cfg["hop_length"]
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=cfg["n_mfcc"], n_fft=n_fft, hop_length=hop, n_mels=cfg["n_mels"])
    rms = librosa.feature.rms(y=y, frame_length=n_fft, hop_length=hop)
    frames = np.concatenate([
        mfcc, librosa.feature.delta(mfcc), librosa.feature.delta(mfcc, order=2),
        librosa.feature.spectral_centroid(y=y, sr=sr, n_fft=n_fft, hop_length=hop),
        librosa.feature.spectral_bandwidth(y=y, sr=sr, n_fft=n_fft, hop_length=hop),
        librosa.feature.spectral_rolloff(y=y, sr=sr, n_fft=n_fft, hop_length=hop),
        librosa.feature.spectral_flatness(y=y, n_fft=n_fft, hop_length=hop),
        librosa.feature.spectral_contrast(y=y, sr=sr, n_fft=n_fft, hop_length=hop),
        librosa.feature.chroma_stft(y=y, sr=sr, n_fft=n_fft, hop_length=hop, tuning=0.0),
        librosa.feature.zero_crossing_rate(y, frame_length=n_fft, hop_length=hop),
        librosa.amplitude_to_db(rms)])
    return pool_over_time(frames[None], cfg)[0]


def extract_features(audio, cfg=FEAT_DEFAULTS, chunk=8):
    """[N, samples] -> [N, D]: sub-chunks of 8 clips (their spectra stay in cache), one per core at a time. Torch runs
    single-threaded inside a sub-chunk: one sub-chunk's ops are too small to split well. The caller shows progress
    (utils.cached_rows and inference.py stream a split through here one chunk of notes at a time)."""
    import torch
    cores = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(cores) as pool:
            return np.concatenate(list(pool.map(lambda i: pooled_features(audio[i:i + chunk], cfg),
                                                range(0, len(audio), chunk))))
    finally:
        torch.set_num_threads(cores)


# ----------------------------------------------------------------------------------------------------------------
# harmonic features: timbre relative to the note's pitch

# 4,096-point STFT: 3.9 Hz bins, so even MIDI 21's harmonics (27.5 Hz apart) are 7 bins apart
HARMONIC_DEFAULTS = dict(sr=SR, n_fft=4096, hop_length=512, n_harmonics=24)
HARMONIC_VERSION = 1    # part of the harmonic cache key: bump when the computation changes
N_DECAY, N_DEV = 8, 10  # harmonics whose decay slope / frequency deviation are kept


def harmonic_names(cfg=HARMONIC_DEFAULTS):
    """Names of the 59 harmonic features, in harmonic_features' column order."""
    return ([f"harm{k}_db" for k in range(1, cfg["n_harmonics"] + 1)] +
            [f"harm{k}_decay" for k in range(1, N_DECAY + 1)] + [f"harm{k}_dev" for k in range(1, N_DEV + 1)] +
            ["hnr_sustain_db", "hnr_peak_db", "odd_even_db", "harm_centroid", "harm_centroid_std",
             "harm_centroid_peak", "harm_centroid_slope", "onset_h1_s", "onset_upper_s", "onset_lag_s",
             "tremolo_h1_db", "tremolo_db", "below_f0_db", "inharmonicity", "stretch", "decay_db_per_s",
             "sustain_s"])


def estimate_pitch(y, sr=SR):
    """MIDI pitch of a note whose file name does not say it: median YIN f0 over its loud frames (60 if silent)."""
    import librosa
    if not np.abs(y).max() > 1e-4:
        return 60
    f0 = librosa.yin(y, fmin=25.0, fmax=4200.0, sr=sr, frame_length=4096)
    rms = librosa.feature.rms(y=y, frame_length=4096, hop_length=512)[0][:len(f0)]
    return int(np.clip(np.round(librosa.hz_to_midi(np.median(f0[rms >= rms.max() / 10]))), 21, 108))


def _fit_line(t, v):
    """Least-squares slope of v [n, ...] over t [n] along the first axis, and the residual's std (0, 0 under three
    points)."""
    if len(t) < 3:
        return np.zeros(v.shape[1:]), np.zeros(v.shape[1:])
    tc, vc = t - t.mean(), v - v.mean(0)
    slope = np.tensordot(tc, vc, 1) / (tc @ tc)
    return slope, (vc - np.multiply.outer(tc, slope)).std(0)


def harmonic_features_one(P, midi, cfg=HARMONIC_DEFAULTS):
    """Power spectrogram [frames, bins] of one note, MIDI pitch -> [59]: features of its harmonics 1..K. Harmonic k is
    the strongest peak within 0.4 f0 of k * f0 (stretched piano partials and detuned synths stay inside). 'Sustain'
    runs from the loudest frame to the release at 3 s over frames within 40 dB of the peak. Harmonics above Nyquist
    read -100 dB, 0 slope and 0 deviation."""
    sr, n_fft, hop, K = cfg["sr"], cfg["n_fft"], cfg["hop_length"], cfg["n_harmonics"]
    f0, bin_hz = 440.0 * 2.0 ** ((midi - 69) / 12), sr / n_fft
    P = np.asarray(P, dtype=np.float64) + 1e-12
    n_frames, n_bins = P.shape
    total = P.sum(1)
    level_db = 10 * np.log10(total)
    peak = int(level_db.argmax())
    active = level_db > level_db[peak] - 40
    release = int(3.0 * sr / hop)
    sustain = np.zeros(n_frames, bool)
    sustain[peak:min(release, n_frames)] = True
    sustain &= active
    if sustain.sum() < 2:
        sustain = active.copy()
    t = np.flatnonzero(sustain) * hop / sr

    half = max(1, int(0.4 * f0 / bin_hz))
    centre = np.round(np.arange(1, K + 1) * f0 / bin_hz).astype(int)
    n_k = int((centre + half < n_bins - 1).sum())                      # harmonics below Nyquist
    window = np.clip(centre[:n_k, None] + np.arange(-half, half + 1), 0, n_bins - 1)   # [n_k, width]
    # a harmonic's power is the Hann window's main lobe, the 5 bins around its peak: a single bin reads up to 1.4 dB
    # low when the harmonic falls between two bins (scalloping), differently for every pitch. MIDI 21's harmonics
    # are 7 bins apart, so lobes never overlap. Lobe sums at the searched bins come from a running sum over bins
    top = min(n_bins, int(window.max()) + 3)                           # no bin above the last lobe is needed
    running = np.pad(P[:, :top].cumsum(1), ((0, 0), (1, 0)))
    lobe = running[:, np.minimum(window + 3, top)] - running[:, np.maximum(window - 2, 0)]   # [frames, n_k, width]
    H = np.full((n_frames, K), 1e-12)
    H[:, :n_k] = lobe.max(-1)                                          # [frames, K]
    dev = np.zeros(K)
    P_sus = P[sustain]
    at = P_sus[:, window].sum(0).argmax(-1)                            # each harmonic's peak bin over the sustain
    dev[:n_k] = (window[np.arange(n_k), at] * bin_hz - np.arange(1, n_k + 1) * f0) / (np.arange(1, n_k + 1) * f0)

    H_sus = H[sustain]
    mean_power = H_sus.mean(0)
    harmonic_power = mean_power[:n_k].sum() + 1e-12
    profile = np.full(K, -100.0)
    profile[:n_k] = np.maximum(10 * np.log10(mean_power[:n_k] / harmonic_power), -100.0)
    all_power = total[sustain].mean()
    hnr_sustain = 10 * np.log10(harmonic_power / max(all_power - harmonic_power, 1e-12))
    h_peak = H[peak, :n_k].sum()
    hnr_peak = 10 * np.log10(h_peak / max(total[peak] - h_peak, 1e-12))
    odd_even = 10 * np.log10((mean_power[2:n_k:2].sum() + 1e-12) / (mean_power[1:n_k:2].sum() + 1e-12))
    k = np.arange(1, K + 1)
    centroid = (H[:, :n_k] * k[:n_k]).sum(1) / (H[:, :n_k].sum(1) + 1e-12)     # in harmonic numbers, per frame
    H_db = 10 * np.log10(H_sus)
    # slopes (dB/s) of the whole note, of harmonics 1-8 (relative to the note's), of the centroid; residual wobble
    n_decay = min(N_DECAY, n_k)
    slopes, wobble = _fit_line(t, np.column_stack([level_db[sustain], centroid[sustain], H_db[:, :n_decay]]))
    decay, centroid_slope = slopes[0], slopes[1]
    decays = np.zeros(N_DECAY)
    decays[:n_decay] = slopes[2:] - decay                              # faster or slower than the whole note
    onset = lambda v: float(np.argmax(v >= v.max() / 2) * hop / sr)   # noqa: E731  first frame at half power
    onset_h1 = onset(H[:, 0])
    onset_upper = onset(H[:, 3:n_k].sum(1)) if n_k > 4 else onset_h1
    below_f0 = P_sus[:, :max(1, int(0.75 * f0 / bin_hz))].sum(1).mean()
    inharmonic = np.abs(dev[1:N_DEV]) if n_k > 2 else np.zeros(1)
    stats = [hnr_sustain, hnr_peak, odd_even, centroid[sustain].mean(), centroid[sustain].std(), centroid[peak],
             centroid_slope, onset_h1, onset_upper, onset_upper - onset_h1, wobble[2] if n_decay else 0.0,
             wobble[0], 10 * np.log10(below_f0 / all_power), inharmonic[:max(1, n_k - 1)].mean(),
             dev[1:min(N_DEV, n_k)].mean() if n_k > 2 else 0.0, decay, sustain.sum() * hop / sr]
    return np.concatenate([profile, decays, dev[:N_DEV], stats]).astype(np.float32)


def note_feature_names(cfg=FEAT_DEFAULTS, harmonic_cfg=HARMONIC_DEFAULTS):
    """The columns note_features returns: the pooled features, then the harmonic ones (harmonic_cfg None: none)."""
    return feature_names(cfg) + (harmonic_names(harmonic_cfg) if harmonic_cfg else [])


def note_features(audio, pitches, cfg=FEAT_DEFAULTS, harmonic_cfg=HARMONIC_DEFAULTS):
    """[N, samples] -> [N, 176 (+ 59)]: what a Task-2 checkpoint was trained on (harmonic_cfg None: pooled only)."""
    pooled = extract_features(audio, cfg)
    if harmonic_cfg is None:
        return pooled
    return np.concatenate([pooled, harmonic_features(audio, pitches, harmonic_cfg)], axis=1)


def harmonic_features(audio, pitches, cfg=HARMONIC_DEFAULTS, chunk=8):
    """[N, samples], [N] MIDI pitches (-1: estimate from the audio) -> [N, 59]. Sub-chunks of 8 notes, one per core
    at a time: a float32 torch STFT (librosa.stft's centring, zero padding and periodic Hann window), then each note's
    harmonics in numpy."""
    import torch
    n_fft, hop = cfg["n_fft"], cfg["hop_length"]
    window = torch.hann_window(n_fft)

    def sub_chunk(start):
        y = np.asarray(audio[start:start + chunk], dtype=np.float32)
        with torch.inference_mode():
            spec = torch.stft(torch.from_numpy(y), n_fft, hop, window=window, center=True, pad_mode="constant",
                              return_complex=True)
            power = spec.abs().square_().transpose(1, 2).double().contiguous().numpy()   # [notes, frames, bins]
        midi = [int(m) if m >= 0 else estimate_pitch(note, cfg["sr"])
                for m, note in zip(pitches[start:start + chunk], y)]
        return [harmonic_features_one(P, m, cfg) for P, m in zip(power, midi)]

    cores = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(cores) as pool:
            rows = [r for rows in pool.map(sub_chunk, range(0, len(audio), chunk)) for r in rows]
    finally:
        torch.set_num_threads(cores)
    return np.stack(rows) if rows else np.zeros((0, len(harmonic_names(cfg))), np.float32)
