"""HW0 shared helpers: NSynth I/O, audio loading, mel front end, Task-2 features, metrics and figures.

Everything here is plain functions; the scripts (visualize_mel.py, train_ml.py, train_cnn.py, inference.py) read
top-down and call into this file.
"""
import hashlib
import json
import os
import re
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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
# Task-2 features: one STFT per clip shared by every spectral feature, batched through librosa's own functions

FEAT_DEFAULTS = dict(sr=SR, n_fft=2048, hop_length=512, n_mels=128, n_mfcc=20)


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


def frame_features(y, cfg=FEAT_DEFAULTS):
    """[B, samples] -> [B, n_frame_features, frames], every spectral feature from one shared STFT."""
    import librosa
    S = np.abs(librosa.stft(y, n_fft=cfg["n_fft"], hop_length=cfg["hop_length"]))
    P = S ** 2
    sr, hop = cfg["sr"], cfg["hop_length"]
    mel = librosa.feature.melspectrogram(S=P, sr=sr, n_mels=cfg["n_mels"])
    mfcc = librosa.feature.mfcc(S=db_per_clip(mel), n_mfcc=cfg["n_mfcc"])
    rms = librosa.feature.rms(y=y, frame_length=cfg["n_fft"], hop_length=hop)
    feats = [mfcc, librosa.feature.delta(mfcc), librosa.feature.delta(mfcc, order=2),
             librosa.feature.spectral_centroid(S=S, sr=sr),
             librosa.feature.spectral_bandwidth(S=S, sr=sr),
             librosa.feature.spectral_rolloff(S=S, sr=sr),
             librosa.feature.spectral_flatness(S=S),
             np.stack([librosa.feature.spectral_contrast(S=s, sr=sr) for s in S]),   # its dB floor is batch-wide
             librosa.feature.chroma_stft(S=P, sr=sr, tuning=0.0),   # A440; a batch-wide tuning estimate would mix notes
             librosa.feature.zero_crossing_rate(y, frame_length=cfg["n_fft"], hop_length=hop),
             db_per_clip(rms ** 2)]                                 # = librosa.amplitude_to_db(rms) per clip
    return np.concatenate(feats, axis=-2)


def envelope_features(rms_db, hop_s):
    """Attack/decay statistics from the frame RMS in dB, [B, frames] -> [B, 6]."""
    peak = rms_db.argmax(axis=1)
    peak_db = rms_db.max(axis=1)
    above = rms_db >= (peak_db[:, None] - 3)               # attack: first frame within 3 dB of the peak
    attack = above.argmax(axis=1) * hop_s
    frames = np.arange(rms_db.shape[1])
    release_frame = min(int(round(3.0 / hop_s)), rms_db.shape[1] - 1)   # NSynth notes are released at 3 s
    slopes = np.zeros(len(rms_db))
    for b in range(len(rms_db)):
        seg = rms_db[b, peak[b]:release_frame]
        if len(seg) >= 3:
            slopes[b] = np.polyfit(frames[:len(seg)] * hop_s, seg, 1)[0]
    release_ratio = rms_db[:, release_frame] - peak_db
    lin = 10 ** (rms_db / 20)
    temporal_centroid = (lin * frames).sum(1) / (lin.sum(1) + 1e-9) * hop_s
    return np.stack([attack, peak * hop_s, slopes, release_ratio, temporal_centroid, peak_db], axis=1)


def pooled_features(y, cfg=FEAT_DEFAULTS):
    """[B, samples] -> [B, D] clip-level vector: mean and std over time of frame features + envelope statistics."""
    f = frame_features(y, cfg)
    env = envelope_features(f[:, -1, :], cfg["hop_length"] / cfg["sr"])
    return np.concatenate([f.mean(-1), f.std(-1), env], axis=1).astype(np.float32)


def extract_features(audio, cfg=FEAT_DEFAULTS, chunk=64, n_jobs=-1, desc="features"):
    """All clips, in parallel chunks across processes, with a progress bar."""
    from joblib import Parallel, delayed
    from tqdm import tqdm
    chunks = [audio[i:i + chunk] for i in range(0, len(audio), chunk)]
    jobs = Parallel(n_jobs=n_jobs, return_as="generator")(delayed(pooled_features)(c, cfg) for c in chunks)
    return np.concatenate(list(tqdm(jobs, total=len(chunks), desc=desc, leave=False)))


def cached_features(paths, labels, cache_dir, cfg=FEAT_DEFAULTS, desc="features"):
    """Features for an NSynth file list, cached on disk keyed by the file list and the feature settings."""
    key = file_list_key(paths, cfg, feature_names(cfg))
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
