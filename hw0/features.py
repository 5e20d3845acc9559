"""Task-2 features: what they are (reference_features: librosa's own functions, one file at a time) and the fast way
they are computed (pooled_features: one float64 STFT per note shared by every feature, numba for the two loops torch
does badly). 176 numbers per note: MFCC 20 + deltas + delta-deltas, spectral centroid, bandwidth, roll-off, flatness,
7-band contrast, 12 chroma, zero-crossing rate and RMS, each pooled by mean and std over time, + 6 envelope statistics.

train_ml.py and inference.py call extract_features on one chunk of decoded notes at a time (utils.cached_rows streams
a split through it into an on-disk cache).
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
