"""HW0 shared helpers: NSynth I/O, audio loading, mel front end, Task-2 features, metrics and figures.

Everything here is plain functions; the scripts (visualize_mel.py, train_ml.py, train_cnn.py, inference.py) read
top-down and call into this file.
"""
import functools
import hashlib
import json
import os
import re
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numba
import numpy as np

FAMILIES = ["bass", "brass", "flute", "guitar", "keyboard", "mallet",
            "organ", "reed", "string", "synth_lead", "vocal"]
SR = 16000              # NSynth sample rate
N_SAMPLES = 4 * SR      # every NSynth note is 4 s long
DEMO_DIR = Path(__file__).resolve().parent / "demo"


def die(msg):
    """One-line actionable error instead of a traceback."""
    sys.exit(f"error: {msg}")


# ----------------------------------------------------------------------------------------------------------------
# dataset listing

def label_from_name(stem):
    """NSynth note_str 'guitar_acoustic_001-060-100' -> family index, or None.

    Split from the right: 'synth_lead_synthetic_003-...' has an underscore inside the family name."""
    try:
        inst, _pitch, _vel = stem.rsplit("-", 2)
        family, _source, _idx = inst.rsplit("_", 2)
    except ValueError:
        return None
    return FAMILIES.index(family) if family in FAMILIES else None


def read_provenance(split_dir):
    """The 'provenance' string a renderer left in dataset_info.json (in the split folder or its parent)."""
    for d in (Path(split_dir), Path(split_dir).parent, Path(split_dir).parent.parent):
        info = d / "dataset_info.json"
        if info.is_file():
            try:
                return json.loads(info.read_text()).get("provenance", "unknown")
            except (json.JSONDecodeError, OSError):
                return "unknown (unreadable dataset_info.json)"
    return "unknown (assumed real NSynth)"


def list_nsynth(path):
    """List an NSynth split folder (or its audio/ folder).

    Returns (wav_paths, labels) with label -1 where none can be derived. Labels come from examples.json when present,
    otherwise (and for wavs that examples.json does not list) from the file name."""
    path = Path(path)
    if not path.exists():
        die(f"{path} does not exist; pass an NSynth split folder holding examples.json and audio/*.wav")
    if not path.is_dir():
        die(f"{path} is not a folder; pass an NSynth split folder holding examples.json and audio/*.wav")
    split_dir = path.parent if path.name == "audio" and not (path / "audio").is_dir() else path
    audio_dir = split_dir / "audio" if (split_dir / "audio").is_dir() else split_dir
    try:
        entries = [p for p in audio_dir.iterdir() if p.suffix.lower() == ".wav"]
        wavs = sorted(p for p in entries if p.is_file())
    except PermissionError:
        die(f"cannot read folder {audio_dir}: permission denied; make it readable (chmod -R u+rX {audio_dir})")
    if len(wavs) < len(entries):
        odd = sorted(p.name for p in entries if not p.is_file())
        warn(f"{len(odd)} .wav entries in {audio_dir} are not files (broken link or folder), skipped: "
             + ", ".join(odd[:5]) + (" ..." if len(odd) > 5 else ""))
    if not wavs:
        die(f"no .wav files in {audio_dir}; expected NSynth notes in <split>/audio/<note_str>.wav")

    meta = {}
    meta_file = split_dir / "examples.json"
    if meta_file.is_file():
        try:
            meta = json.loads(meta_file.read_text())
            if not isinstance(meta, dict):
                raise ValueError("top level is not an object")
        except (ValueError, OSError) as e:
            die(f"{meta_file} is not valid NSynth metadata ({e}); fix or delete it to take labels from file names")
        stems = {p.stem for p in wavs}
        missing = [k for k in meta if k not in stems]
        if missing:
            warn(f"{len(missing)} notes listed in {meta_file} have no wav file (e.g. {missing[0]}); they are skipped")

    labels, n_unlabelled, bad_meta = [], 0, []
    for p in wavs:
        entry = meta.get(p.stem)
        fam = entry.get("instrument_family") if isinstance(entry, dict) else None
        if not (isinstance(fam, int) and not isinstance(fam, bool) and 0 <= fam < len(FAMILIES)):
            if p.stem in meta:
                bad_meta.append(p.stem)
            fam = label_from_name(p.stem)
        if fam is None:
            n_unlabelled += 1
            fam = -1
        labels.append(fam)
    if bad_meta:
        warn(f"{len(bad_meta)} entries of {split_dir / 'examples.json'} have no instrument_family in 0-10 (e.g. "
             f"{bad_meta[0]}); their labels come from the file names")
    if n_unlabelled:
        warn(f"{n_unlabelled} of {len(wavs)} files have no derivable instrument family; they are predicted but not "
             f"scored")
    return wavs, np.array(labels, dtype=np.int64)


def warn(msg):
    print(f"warning: {msg}", file=sys.stderr)


# ----------------------------------------------------------------------------------------------------------------
# audio loading

def _read_one(path):
    """-> (float32 mono 4 s at 16 kHz or None, problem flags)."""
    import soundfile as sf
    flags = set()
    try:
        with sf.SoundFile(str(path)) as f:
            sr, log = f.samplerate, f.extra_info
            y = f.read(dtype="float32", always_2d=True)
    except Exception as e:  # libsndfile raises several types for garbage files
        reason = (str(e).splitlines() or [type(e).__name__])[0].rsplit(": ", 1)[-1]   # drop the path libsndfile repeats
        return None, {f"unreadable: {reason[:80]}"}
    if y.shape[0] == 0:
        return None, {"unreadable: empty audio"}
    cut = re.search(r"^data\s*:\s*(\d+) \(should be (\d+)\)", log, re.M)    # libsndfile's note on a short data chunk
    if cut and int(cut.group(2)) < int(cut.group(1)):
        return None, {f"unreadable: truncated (header promises {cut.group(1)} data bytes, file holds {cut.group(2)})"}
    if y.shape[1] > 1:
        flags.add("multichannel (averaged to mono)")
    y = y.mean(axis=1)
    if not np.isfinite(y).all():
        return None, {"unreadable: NaN/inf samples"}
    if not y.any():
        flags.add("digital silence (all samples zero; scored as is)")
    if sr != SR:
        import librosa
        flags.add(f"sample rate {sr} Hz (resampled to {SR})")
        y = librosa.resample(y, orig_sr=sr, target_sr=SR, res_type="soxr_hq")
    if len(y) != N_SAMPLES:
        flags.add("length not 4 s (padded/trimmed)")
        y = np.pad(y, (0, max(0, N_SAMPLES - len(y))))[:N_SAMPLES]
    return y.astype(np.float32), flags


def load_audio(paths, labels, desc="decode"):
    """Decode wavs into one [N, 64000] float32 array. Odd-but-usable files are fixed with a counted warning;
    unreadable files are reported by name and dropped (with their labels), never silently."""
    from tqdm import tqdm
    audio = np.zeros((len(paths), N_SAMPLES), dtype=np.float32)
    keep = np.ones(len(paths), dtype=bool)
    counts, names, bad = {}, {}, []
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        for i, (y, flags) in enumerate(tqdm(pool.map(_read_one, paths), total=len(paths), desc=desc,
                                            disable=len(paths) < 64, leave=False)):
            for f in flags:
                counts[f.split(":")[0]] = counts.get(f.split(":")[0], 0) + 1
                names.setdefault(f.split(":")[0], []).append(Path(paths[i]).name)
            if y is None:
                keep[i] = False
                bad.append(f"{Path(paths[i]).name} ({', '.join(flags)})")
            else:
                audio[i] = y
    if not keep.any():                      # nothing to predict: one error line, no warnings before it
        die(f"none of the {len(paths)} wav files could be read (e.g. {bad[0]})")
    for f, n in counts.items():
        if not f.startswith("unreadable"):
            warn(f"{n} files: {f}: " + ", ".join(names[f][:5]) + (" ..." if n > 5 else ""))
    if bad:
        warn(f"{len(bad)} unreadable files excluded from prediction and metrics: " + "; ".join(bad[:10]) +
             (" ..." if len(bad) > 10 else ""))
    return audio[keep], [p for p, k in zip(paths, keep) if k], np.asarray(labels)[keep]


def load_split(path, desc="decode"):
    paths, labels = list_nsynth(path)
    return load_audio(paths, labels, desc=desc)


def cached_labels(paths, labels, cached_paths):
    """Labels for the rows of a cache hit, taken from the fresh listing (examples.json may have changed since the
    cache was written), and the same warning as load_audio for files the cache left out as unreadable."""
    fresh = {str(p): int(y) for p, y in zip(paths, labels)}
    cached = [str(p) for p in cached_paths]
    left_out = sorted(set(fresh) - set(cached))
    if left_out:
        warn(f"{len(left_out)} unreadable files excluded from prediction and metrics (decided when the cache was "
             f"written): " + ", ".join(Path(p).name for p in left_out[:10]) + (" ..." if len(left_out) > 10 else ""))
    return np.array([fresh[p] for p in cached], dtype=np.int64)


def file_list_key(paths, *settings):
    """Cache key: file names, sizes and mtimes plus the settings that shaped the cached arrays."""
    h = hashlib.sha1()
    for p in paths:
        st = os.stat(p)
        h.update(f"{p}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


# ----------------------------------------------------------------------------------------------------------------
# mel front end (torch.stft + librosa's mel filters; shared by train_cnn.py and inference.py)

MEL_DEFAULTS = dict(sr=SR, n_fft=1024, hop_length=256, n_mels=96, fmin=20.0, fmax=8000.0)


def log_mel(audio, mel_cfg, device="cpu", batch_size=256):
    """[N, samples] float32 -> natural-log mel power [N, n_mels, frames] float32 (torch tensor on CPU)."""
    import librosa
    import torch
    fb = torch.tensor(librosa.filters.mel(sr=mel_cfg["sr"], n_fft=mel_cfg["n_fft"], n_mels=mel_cfg["n_mels"],
                                          fmin=mel_cfg["fmin"], fmax=mel_cfg["fmax"]), device=device)
    window = torch.hann_window(mel_cfg["n_fft"], device=device)
    out = []
    with torch.inference_mode():
        for i in range(0, len(audio), batch_size):
            x = torch.as_tensor(audio[i:i + batch_size], device=device)
            spec = torch.stft(x, mel_cfg["n_fft"], mel_cfg["hop_length"], window=window, center=True,
                              pad_mode="constant", return_complex=True)
            power = spec.real ** 2 + spec.imag ** 2
            out.append(torch.log(fb @ power + 1e-10).cpu())
    return torch.cat(out)


# ----------------------------------------------------------------------------------------------------------------
# Task-2 features: one float64 STFT per clip shared by every spectral feature, equal to librosa's per-file values

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


def extract_features(audio, cfg=FEAT_DEFAULTS, chunk=8, desc="features"):
    """[N, samples] -> [N, D]: chunks of 8 clips (their spectra stay in cache), one chunk per core at a time, with a
    progress bar. Torch runs single-threaded inside a chunk: one chunk's ops are too small to split well."""
    import torch
    from tqdm import tqdm
    cores = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(cores) as pool, tqdm(total=len(audio), desc=desc, unit="clip", leave=False) as bar:
            parts = []
            for part in pool.map(lambda i: pooled_features(audio[i:i + chunk], cfg), range(0, len(audio), chunk)):
                parts.append(part)
                bar.update(len(part))
        return np.concatenate(parts)
    finally:
        torch.set_num_threads(cores)


def cached_features(paths, labels, cache_dir, cfg=FEAT_DEFAULTS, desc="features"):
    """Features for an NSynth file list, cached on disk keyed by the file list and the feature settings."""
    key = file_list_key(paths, cfg, feature_names(cfg), FEAT_VERSION)
    cache = Path(cache_dir) / f"hw0_features_{key}.npz"
    if cache.is_file():
        print(f"features: cache hit {cache}")
        z = np.load(cache)
        return z["X"], cached_labels(paths, labels, z["paths"]), [str(p) for p in z["paths"]]
    audio, paths, labels = load_audio(paths, labels, desc=f"decode {desc}")
    X = extract_features(audio, cfg, desc=desc)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, X=X, y=labels, paths=np.array([str(p) for p in paths]))
    print(f"features: wrote cache {cache}")
    return X, labels, [str(p) for p in paths]


# ----------------------------------------------------------------------------------------------------------------
# metrics and figures

def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def scores_of(pipeline, X):
    """Class scores [N, 11] from an sklearn pipeline: predict_proba where it exists, else softmaxed decision values.

    Columns are re-ordered onto all 11 families (a class absent from training gets score 0)."""
    est_classes = list(pipeline.classes_)
    raw = pipeline.predict_proba(X) if hasattr(pipeline, "predict_proba") else softmax(pipeline.decision_function(X))
    out = np.zeros((len(X), len(FAMILIES)), dtype=np.float32)
    out[:, est_classes] = raw
    return out


def evaluate(scores, labels):
    """Top-1/top-3 accuracy and 11x11 confusion matrix on the labelled rows (label >= 0), 11-way even when a
    family (e.g. synth_lead in NSynth test) has no examples."""
    from sklearn.metrics import confusion_matrix, top_k_accuracy_score
    mask = labels >= 0
    y, s = labels[mask], scores[mask]
    if len(y) == 0:
        return {"top1": None, "top3": None, "n": 0, "n_unscored": int((~mask).sum()), "confusion_matrix": None}
    classes = list(range(len(FAMILIES)))
    return {"top1": float(top_k_accuracy_score(y, s, k=1, labels=classes)),
            "top3": float(top_k_accuracy_score(y, s, k=3, labels=classes)),
            "n": int(len(y)), "n_unscored": int((~mask).sum()),
            "confusion_matrix": confusion_matrix(y, s.argmax(1), labels=classes).tolist()}


def format_confusion(cm):
    width = max(6, max(len(str(v)) for row in cm for v in row) + 1)
    head = " " * 11 + "".join(f"{f[:width - 1]:>{width}}" for f in FAMILIES)
    rows = [f"{FAMILIES[i]:>10} " + "".join(f"{v:>{width}}" for v in row) for i, row in enumerate(cm)]
    return "\n".join(["confusion matrix (rows: true, columns: predicted)", head] + rows)


def print_metrics(name, metrics):
    if metrics["n"] == 0:
        print(f"{name}: no labelled files to score ({metrics['n_unscored']} predicted only)")
        return
    print(f"{name}: top-1 accuracy {metrics['top1']:.4f}  top-3 accuracy {metrics['top3']:.4f}  "
          f"({metrics['n']} notes scored" + (f", {metrics['n_unscored']} unlabelled not scored)" if
                                              metrics['n_unscored'] else ")"))


def save_confusion_png(cm, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay
    cm = np.asarray(cm)
    fig, ax = plt.subplots(figsize=(8, 7))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # rows of absent classes divide by zero
        norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    ConfusionMatrixDisplay(norm, display_labels=FAMILIES).plot(ax=ax, cmap="Blues", values_format=".2f",
                                                               xticks_rotation=45, colorbar=True)
    for t in ax.texts:
        t.set_fontsize(7)
    ax.set_title(title + "\n(row-normalised; rows: true family)")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_json(path, obj):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(obj, indent=1))


def merge_json(path, key, obj):
    """Set one key of a JSON file that several scripts write into (results/bench.json), keeping the other keys."""
    data = json.loads(Path(path).read_text()) if Path(path).is_file() else {}
    data[key] = obj
    write_json(path, data)


def command_line():
    return "python " + " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:])


# ----------------------------------------------------------------------------------------------------------------
# CNN input: cached log-mel, the log / no-log transform, device choice

def cached_log_mel(paths, labels, cache_dir, mel_cfg, desc="mel"):
    """Natural-log mel power [N, n_mels, frames] (float16 on disk), cached keyed by the file list and mel settings."""
    import torch
    key = file_list_key(paths, mel_cfg)
    cache = Path(cache_dir) / f"hw0_logmel_{key}.pt"
    if cache.is_file():
        print(f"mel: cache hit {cache}")
        z = torch.load(cache, weights_only=True)
        return z["logmel"].float(), cached_labels(paths, labels, z["paths"]), list(z["paths"])
    audio, paths, labels = load_audio(paths, labels, desc=f"decode {desc}")
    logmel = log_mel(audio, mel_cfg).half()          # float16, as a cache hit returns it: same run either way
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"logmel": logmel, "labels": torch.as_tensor(labels), "paths": [str(p) for p in paths]}, cache)
    print(f"mel: wrote cache {cache}")
    return logmel.float(), labels, [str(p) for p in paths]


def augment(x, kinds, mel_cfg):
    """Log-mel-domain augmentation for train_cnn.py (and bench/hw0_train.py): x [B, M, T] natural-log mel power;
    each kind in `kinds` (gain, eq, reverb, noise, shift, pitch) is applied to a random half of the batch."""
    import math
    import torch
    B, M, T = x.shape
    pick = lambda: (torch.rand(B, 1, 1) < 0.5).float()
    db = math.log(10) / 10                                           # dB -> natural-log power
    if "gain" in kinds:
        x = x + pick() * torch.empty(B, 1, 1).uniform_(-12, 12) * db
    if "eq" in kinds:                                                # smooth random EQ curve, up to about +-6 dB
        f = torch.linspace(0, math.pi, M)[None, :, None]
        curve = sum(torch.randn(B, 1, 1) * torch.cos(k * f + torch.rand(B, 1, 1) * 6.28) for k in (1, 2, 3))
        x = x + pick() * curve * 2.0 * db
    if "reverb" in kinds:                                            # exponential tail per mel band (RT60 0.2-1.5 s)
        hop_s = mel_cfg["hop_length"] / mel_cfg["sr"]
        rt60 = torch.empty(B, 1).uniform_(0.2, 1.5)
        decay = torch.exp(-6.9 * hop_s / rt60)                      # power decay per frame: 60 dB in rt60
        wet = torch.empty(B, 1).uniform_(0.05, 0.5) * pick()[:, :, 0]
        power, tail, out = torch.exp(x), torch.zeros(B, M), []
        for t in range(T):
            tail = tail * decay + power[:, :, t] * (1 - decay)
            out.append(power[:, :, t] + wet * tail)
        x = torch.log(torch.stack(out, dim=2) + 1e-10)
    if "noise" in kinds:                                             # coloured noise 20-50 dB below the clip
        level = x.exp().mean(dim=(1, 2), keepdim=True).log() - torch.empty(B, 1, 1).uniform_(20, 50) * db
        tilt = torch.linspace(-1, 1, M)[None, :, None] * torch.randn(B, 1, 1) * 10 * db
        x = torch.logaddexp(x, level + tilt + torch.log(pick() + 1e-10))
    if "shift" in kinds:                                             # onset up to 0.3 s late
        shift = torch.randint(0, max(1, int(0.3 * mel_cfg["sr"] / mel_cfg["hop_length"])), (B,)) * pick().long().view(B)
        idx = (torch.arange(T)[None, :] - shift[:, None]).clamp(min=0)
        floor = x.amin(dim=(1, 2), keepdim=True)
        x = torch.where((torch.arange(T)[None, :] < shift[:, None])[:, None, :], floor,
                        torch.gather(x, 2, idx[:, None, :].expand(B, M, T)))
    if "pitch" in kinds:                                             # small spectral shift, +-2 mel bins
        k = int(torch.randint(-2, 3, (1,)))
        if k:
            rolled = torch.roll(x, k, dims=1)
            if k > 0:
                rolled[:, :k] = x[:, :1]
            else:
                rolled[:, k:] = x[:, -1:]
            m = pick()
            x = m * rolled + (1 - m) * x
    return x


def spec_mask(x):
    """SpecAugment on the normalised input: one frequency mask (<= 8 bins) and one time mask (<= 16 frames)."""
    import torch
    B, M, T = x.shape
    f0, fw = torch.randint(0, M, (B, 1)), torch.randint(0, 9, (B, 1))
    t0, tw = torch.randint(0, T, (B, 1)), torch.randint(0, 17, (B, 1))
    fm = (torch.arange(M)[None] >= f0) & (torch.arange(M)[None] < f0 + fw)
    tm = (torch.arange(T)[None] >= t0) & (torch.arange(T)[None] < t0 + tw)
    return x.masked_fill(fm[:, :, None] | tm[:, None, :], 0.0)


def model_input(logmel, log_input, mean, std):
    """The one place that turns log-mel into network input: log-mel (Task 3 default) or linear mel power (--no_log),
    then per-mel-bin standardisation with training-set statistics."""
    import torch
    logmel = logmel.half().float()     # the precision the training cache stores: inference sees exactly the same input
    x = logmel if log_input else torch.exp(logmel)
    return (x - mean[:, None]) / std[:, None]


def pick_device(name):
    import torch
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        torch.device(name)
    except RuntimeError:
        die(f"--device {name} is not a torch device; use cpu, cuda or cuda:N")
    if name.startswith("cuda") and not torch.cuda.is_available():
        die(f"--device {name} asked for, but no CUDA GPU is visible to torch; use --device cpu")
    return name
