"""HW0 shared helpers: NSynth I/O, audio loading, chunked streaming into on-disk caches, the mel front end and the
CNN's input, metrics and figures.

Everything here is plain functions; the scripts (visualize_mel.py, train_ml.py, train_cnn.py, inference.py) read
top-down and call into this file. The CNN's training-time augmentation is in augment.py, the Task-2 features in
features.py.
"""
import functools
import hashlib
import json
import os
import re
import shutil
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
REPO = Path(__file__).resolve().parents[1]
DEMO_DIR = REPO / "hw0" / "demo"


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


def pitch_from_name(stem):
    """NSynth note_str 'guitar_acoustic_001-060-100' -> MIDI pitch 60, or None."""
    parts = stem.rsplit("-", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) <= 127 else None


UNALIGNED = "the pitch-aligned input channel (--pitch_channel) leaves those notes unshifted"


def note_pitches(paths, unknown="the harmonic features estimate it from the audio"):
    """MIDI pitch of each note from its file name; -1 (with a counted warning saying what the caller does then,
    `unknown`) where the name has none: features.harmonic_features estimates it from the audio, pitch_aligned
    leaves the note unshifted (UNALIGNED)."""
    pitches = [pitch_from_name(Path(p).stem) for p in paths]
    missing = [Path(p).name for p, m in zip(paths, pitches) if m is None]
    if missing:
        warn(f"{len(missing)} files have no pitch in their name (NSynth's <instrument>-<pitch>-<velocity>.wav), so "
             f"{unknown}: " + ", ".join(missing[:5])
             + (" ..." if len(missing) > 5 else ""))
    return np.array([-1 if m is None else m for m in pitches], dtype=np.int64)


def read_provenance(split_dir):
    """The 'provenance' string a renderer left in dataset_info.json (in the split folder or its parent)."""
    for d in (Path(split_dir), Path(split_dir).parent, Path(split_dir).parent.parent):
        info = d / "dataset_info.json"
        if info.is_file():
            try:
                return json.loads(info.read_text()).get("provenance", "unknown (no provenance in dataset_info.json)")
            except (json.JSONDecodeError, OSError):
                return "unknown (unreadable dataset_info.json)"
    return "unknown (no dataset_info.json)"


def data_name(folder):
    """A data folder's short name, for the default output folder of a run on it: its own name, or its parent's for
    an NSynth audio/ folder (PATH/nsynth-test/audio -> nsynth-test; the embedded demo set hw0/demo -> demo)."""
    folder = Path(folder).resolve()
    return folder.parent.name if folder.name == "audio" else folder.name


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
        try:   # each entry shrinks to its instrument_family as it is parsed: nsynth-train's 289,205 entries of 13
               # keys would take about a GB as Python dicts
            meta = json.loads(meta_file.read_text(),
                              object_hook=lambda obj: obj["instrument_family"] if "instrument_family" in obj else obj)
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
        fam = meta.get(p.stem)
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

def read_audio(path):
    """One wav -> (float32 mono 4 s at 16 kHz, or None if unusable; set of problem flags)."""
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


CHUNK = 256     # notes decoded and processed at a time: 64 MB of audio, twice (one chunk decodes while one computes)


def stream_audio(paths, problems, chunk_size=CHUNK, first_chunk=0, desc="decode"):
    """Decode wavs one chunk at a time: yields (first row, audio [n, 64000] float32) for chunks first_chunk, ...,
    so a split's audio is never in memory at once. Files are decoded on all cores, the next chunk while the caller
    works on this one. Every file's problems go into the dict `problems` as {row: [flag, ...]}; an unusable file
    comes back as zeros flagged "unreadable: ...", for report_problems to name and the caller to exclude."""
    from tqdm import tqdm
    starts = range(first_chunk * chunk_size, len(paths), chunk_size)
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool, \
            tqdm(total=len(paths), initial=min(first_chunk * chunk_size, len(paths)), desc=desc, unit="note",
                 disable=len(paths) < 64, leave=False) as bar:
        submit = lambda start: [pool.submit(read_audio, p) for p in paths[start:start + chunk_size]]  # noqa: E731
        pending = submit(starts[0]) if len(starts) else []
        for k, start in enumerate(starts):
            done, pending = pending, (submit(starts[k + 1]) if k + 1 < len(starts) else [])   # decode ahead
            audio = np.zeros((len(done), N_SAMPLES), dtype=np.float32)
            for i, future in enumerate(done):
                y, flags = future.result()
                if flags:
                    problems[start + i] = sorted(flags)
                if y is not None:
                    audio[i] = y
            yield start, audio
            bar.update(len(audio))


def report_problems(paths, problems, quiet=False):
    """Print the counted warnings for odd-but-usable files and name the unreadable ones (excluded from prediction and
    metrics); stop with one line if no file is usable. -> bool mask of usable files. quiet: the mask only, for a
    second pass over files already reported."""
    counts, names, bad = {}, {}, []
    for row, flags in sorted(problems.items()):
        for f in flags:
            kind = f.split(":")[0]
            counts[kind] = counts.get(kind, 0) + 1
            names.setdefault(kind, []).append(Path(paths[row]).name)
        if any(f.startswith("unreadable") for f in flags):
            bad.append((row, f"{Path(paths[row]).name} ({', '.join(flags)})"))
    usable = np.ones(len(paths), dtype=bool)
    usable[[row for row, _ in bad]] = False
    if not usable.any():                    # nothing to predict: one error line, no warnings before it
        die(f"none of the {len(paths)} wav files could be read (e.g. {bad[0][1]})")
    for kind, n in counts.items():
        if not kind.startswith("unreadable") and not quiet:
            warn(f"{n} files: {kind}: " + ", ".join(names[kind][:5]) + (" ..." if n > 5 else ""))
    if bad and not quiet:
        warn(f"{len(bad)} unreadable files excluded from prediction and metrics: " +
             "; ".join(b for _, b in bad[:10]) + (" ..." if len(bad) > 10 else ""))
    return usable


def load_audio(paths, labels, desc="decode"):
    """A short list of wavs (Task 1's nine notes, tests, benches) as one [N, 64000] float32 array; unreadable files
    are named and dropped with their labels. Splits go through stream_audio / cached_rows instead."""
    problems = {}
    audio = np.concatenate([a for _, a in stream_audio(paths, problems, max(len(paths), 1), desc=desc)])
    usable = report_problems(paths, problems)
    return audio[usable], [p for p, k in zip(paths, usable) if k], np.asarray(labels)[usable]


def file_list_key(paths, *settings):
    """Cache key: file names, sizes and mtimes plus the settings that shaped the cached arrays."""
    h = hashlib.sha1()
    for p in paths:
        st = os.stat(p)
        h.update(f"{p}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def file_sha256(path):
    """Hex sha256 of a file's bytes, read 1 MB at a time: a results JSON names the exact checkpoint it came from."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_json_atomic(path, obj):
    tmp = Path(f"{path}.tmp")
    tmp.write_text(json.dumps(obj))
    os.replace(tmp, path)


def cached_rows(kind, paths, labels, cache_dir, settings, row_fn, chunk_size=CHUNK, desc="", per_note=None,
                quiet=False):
    """Stream a split through row_fn (decoded audio [n, 64000] -> rows [n, ...]) one chunk at a time into an on-disk
    cache, cache_dir/hw0_<kind>_<key>/rows.npy, that training reads by random access (read_rows). The key covers the
    file list (names, sizes, mtimes) and `settings`. per_note: an array with one entry per path (e.g. MIDI pitches);
    row_fn then gets the chunk's entries as a second argument. quiet: no warnings about odd files (a second cache
    of the same files, whose first cache named them).

    Resumable and atomic: the cache is built in <name>.partial/, where progress.json records after every chunk how
    many chunks are safely on disk; an interrupted run continues from there, and the folder gets its final name only
    when complete. Rows of unreadable files stay zero and are excluded. -> dict(file, rows: usable row numbers in
    the file, labels and paths of those rows); labels come from today's listing (examples.json may have changed)."""
    key = file_list_key(paths, kind, settings)
    final = Path(cache_dir) / f"hw0_{kind}_{key}"
    partial = final.with_name(final.name + ".partial")
    manifest = [f"{os.path.realpath(p)}|{os.stat(p).st_size}|{os.stat(p).st_mtime_ns}" for p in paths]
    settings_key = file_list_key([], kind, settings)
    if not (final / "done.json").is_file():
        carve_from_bigger_cache(final, manifest, settings_key)
    if (final / "done.json").is_file():
        print(f"{kind}: cache hit {final}")
        problems = {int(r): f for r, f in json.loads((final / "done.json").read_text())["problems"].items()}
    else:
        def call(audio, start):
            return row_fn(audio) if per_note is None else row_fn(audio, per_note[start:start + len(audio)])
        probe = call(np.zeros((1, N_SAMPLES), dtype=np.float32), 0)            # what one note becomes
        shape, dtype = probe.shape[1:], probe.dtype
        progress = json.loads((partial / "progress.json").read_text()) if (partial / "progress.json").is_file() else {}
        if (progress.get("n"), progress.get("shape"), progress.get("dtype")) != (len(paths), list(shape), dtype.str):
            partial.mkdir(parents=True, exist_ok=True)
            progress = dict(n=len(paths), shape=list(shape), dtype=dtype.str, chunk_size=chunk_size, chunks_done=0,
                            problems={})
            # the .npy header and a sparse file: no row is written (nor held in memory) yet
            np.lib.format.open_memmap(partial / "rows.npy", mode="w+", dtype=dtype, shape=(len(paths),) + shape)
            write_json_atomic(partial / "progress.json", progress)
        elif progress["chunks_done"]:
            print(f"{kind}: resuming {partial} after {min(progress['chunks_done'] * progress['chunk_size'], len(paths))}"
                  f" of {len(paths)} notes")
        problems = {int(r): f for r, f in progress["problems"].items()}
        rows = np.load(partial / "rows.npy", mmap_mode="r")
        offset, row_bytes = rows.offset, rows[0].nbytes
        del rows
        chunk_size = progress["chunk_size"]
        with open(partial / "rows.npy", "r+b") as f:
            for start, audio in stream_audio(paths, problems, chunk_size, progress["chunks_done"],
                                             desc=f"{kind} {desc}".strip()):
                os.pwrite(f.fileno(), np.ascontiguousarray(call(audio, start), dtype=dtype).tobytes(),
                          offset + start * row_bytes)
                os.fsync(f.fileno())                  # the rows are on disk before progress says so
                progress["chunks_done"] += 1
                progress["problems"] = problems
                write_json_atomic(partial / "progress.json", progress)
        (partial / "files.txt").write_text("\n".join(manifest))
        write_json_atomic(partial / "done.json", dict(n=len(paths), problems=problems, settings_key=settings_key))
        if final.exists():                            # a stale, incomplete folder of the same key
            shutil.rmtree(final)
        os.rename(partial, final)
        print(f"{kind}: wrote cache {final} ({(final / 'rows.npy').stat().st_size / 1e6:.0f} MB)")
    usable = report_problems(paths, problems, quiet)
    rows = np.flatnonzero(usable)
    return dict(file=final / "rows.npy", rows=rows, labels=np.asarray(labels)[rows],
                paths=[str(paths[i]) for i in rows])


def carve_from_bigger_cache(final, manifest, settings_key):
    """Write the cache `final` from a complete cache of the same kind and settings that already holds every one of
    these files (same real path, size and mtime), instead of decoding them again: a selection run trains one model
    per fold on subsets of one split (bench/hw0_select.py), and each fold's cache is then a copy, not a recompute."""
    wanted = {line: i for i, line in enumerate(manifest)}
    for done in sorted(final.parent.glob(final.name.rsplit("_", 1)[0] + "_*/done.json")):
        info = json.loads(done.read_text())
        files = done.with_name("files.txt")
        if info.get("settings_key") != settings_key or not files.is_file() or info["n"] < len(manifest):
            continue
        have = {line: i for i, line in enumerate(files.read_text().split("\n"))}
        if not all(line in have for line in wanted):
            continue
        src = np.load(done.with_name("rows.npy"), mmap_mode="r")
        partial = final.with_name(final.name + ".partial")
        partial.mkdir(parents=True, exist_ok=True)
        rows = np.lib.format.open_memmap(partial / "rows.npy", mode="w+", dtype=src.dtype,
                                         shape=(len(manifest),) + src.shape[1:])
        order = np.array([have[line] for line in manifest])
        for start in range(0, len(order), CHUNK):
            rows[start:start + CHUNK] = src[np.sort(order[start:start + CHUNK])][
                np.argsort(np.argsort(order[start:start + CHUNK]))]
        rows.flush()
        del rows, src
        new_row = {have[line]: i for line, i in wanted.items()}
        problems = {str(new_row[int(r)]): f for r, f in info["problems"].items() if int(r) in new_row}
        (partial / "files.txt").write_text("\n".join(manifest))
        write_json_atomic(partial / "done.json", dict(n=len(manifest), problems=problems, settings_key=settings_key,
                                                      carved_from=done.parent.name))
        if final.exists():                            # a stale, incomplete folder of the same key
            shutil.rmtree(final)
        os.rename(partial, final)
        print(f"{final.name}: {len(manifest)} notes copied from the cache {done.parent.name}")
        return


def read_rows(file, idx):
    """Rows idx (any order) of a cached rows.npy, copied out of a memory map that is closed again at once: resident
    memory stays one batch, not the file, however often training samples it."""
    rows = np.load(file, mmap_mode="r")
    out = np.array(rows[idx])
    del rows
    return out


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


def shown_path(path):
    """A path for printouts and results JSON: relative to the repository when inside it (never the absolute paths of
    the machine that made a result), otherwise as given."""
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def command_line():
    return "python " + " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:])


# ----------------------------------------------------------------------------------------------------------------
# CNN input: cached log-mel, the log / no-log transform, the pitch-aligned channel, device choice

def cached_log_mel(paths, labels, cache_dir, mel_cfg, device="cpu", desc=""):
    """Natural-log mel power [n_mels, frames] per note, float16 on disk (the precision training and inference
    use: model_input rounds to it), streamed into a cached_rows cache keyed by the file list and mel settings."""
    return cached_rows("logmel", paths, labels, cache_dir, mel_cfg,
                       lambda audio: log_mel(audio, mel_cfg, device).half().numpy(), desc=desc)


def cached_features(paths, labels, cache_dir, desc=""):
    """The 176 Task-2 features per note (features.py), float32, streamed into a cached_rows cache keyed by the file
    list, the feature settings and features.FEAT_VERSION (7 MB per 10,000 notes, so callers read it whole)."""
    import features
    cfg = features.FEAT_DEFAULTS
    return cached_rows("features", paths, labels, cache_dir, (cfg, features.feature_names(cfg), features.FEAT_VERSION),
                       lambda audio: features.extract_features(audio, cfg), desc=desc)


def cached_task2_rows(paths, labels, cache_dir, harmonic_cfg, desc=""):
    """A split's Task-2 rows as train_ml.py fits them -> (X [usable notes, 176 (+ 59)], their labels): the pooled
    features' cache, then (harmonic_cfg not None) the harmonic features' cache of the same files and rows."""
    pooled = cached_features(paths, labels, cache_dir, desc)
    X = read_rows(pooled["file"], pooled["rows"])
    if harmonic_cfg:
        harmonics = cached_harmonics(paths, labels, cache_dir, harmonic_cfg, desc)
        X = np.concatenate([X, read_rows(harmonics["file"], pooled["rows"])], axis=1)
    return X, pooled["labels"]


def cached_harmonics(paths, labels, cache_dir, cfg, desc=""):
    """The 59 harmonic features per note (features.harmonic_features, pitch from each file name), float32, in their
    own cached_rows cache (keyed by cfg and features.HARMONIC_VERSION), so the 176 above are reused without them.
    Quiet about odd files: train_ml.py builds cached_features first, which names them once."""
    import features
    return cached_rows("harmonics", paths, labels, cache_dir, (cfg, features.harmonic_names(cfg),
                                                               features.HARMONIC_VERSION),
                       lambda audio, pitches: features.harmonic_features(audio, pitches, cfg), desc=desc,
                       per_note=note_pitches(paths), quiet=True)


def mel_stats(file, rows, log_input, peak_norm=False, chunk=2048):
    """Per-mel-bin mean and std of the network input over the given cache rows and all frames, in one streaming
    pass (chunks merged with Chan et al.'s pairwise update in float64). -> (mean, std) float32 tensors."""
    import torch
    n, mean, m2 = 0, 0.0, 0.0
    for i in range(0, len(rows), chunk):
        x = torch.from_numpy(read_rows(file, rows[i:i + chunk])).double()          # [b, mels, frames]
        x = peak_normalise(x) if peak_norm else x
        x = x if log_input else torch.exp(x)
        x = x.transpose(0, 1).reshape(x.shape[1], -1)                               # [mels, b * frames]
        k, chunk_mean = x.shape[1], x.mean(1)
        chunk_m2 = ((x - chunk_mean[:, None]) ** 2).sum(1)
        delta = chunk_mean - mean
        mean = mean + delta * k / (n + k)
        m2 = m2 + chunk_m2 + delta ** 2 * n * k / (n + k)
        n += k
    return mean.float(), (m2 / (n - 1)).sqrt().float() + 1e-5


def peak_normalise(logmel, top_db=80.0):
    """Each note's loudest mel bin set to 0 dB and everything more than top_db below it raised to -top_db (librosa's
    power_to_db top_db rule), so the input does not depend on the recording level: a gain shifts log-mel by a
    constant, but digital silence sits at log_mel's fixed -100 dB floor, which without the cut would move relative
    to the note."""
    import math
    x = logmel - logmel.amax(dim=(1, 2), keepdim=True)
    return x.clamp(min=-top_db * math.log(10) / 10)


def model_input(logmel, log_input, mean, std, peak_norm=False, pitches=None, mel_cfg=None, pitch_ref=None):
    """The one place that turns log-mel into network input: log-mel (Task 3 default) or linear mel power (--no_log),
    then per-mel-bin standardisation with training-set statistics. peak_norm: see peak_normalise.
    pitch_ref (a MIDI pitch, with the notes' `pitches` and mel_cfg): a second channel, the same input moved along
    the frequency axis so that every note's fundamental sits at pitch_ref -> [B, 2, M, T] (see pitch_aligned)."""
    import torch
    logmel = logmel.half().float()     # the precision the training cache stores: inference sees exactly the same input
    if peak_norm:
        logmel = peak_normalise(logmel)
    x = logmel if log_input else torch.exp(logmel)
    x = (x - mean[:, None]) / std[:, None]
    if pitch_ref is None:
        return x
    return torch.stack([x, pitch_aligned(x, pitches, mel_cfg, pitch_ref)], dim=1)


def checkpoint_input(logmel, ckpt, pitches=None):
    """model_input with the settings a train_cnn.py checkpoint saved (pitches: the notes' MIDI pitches, needed when
    it was trained with --pitch_channel)."""
    if ckpt["pitch_ref"] and pitches is None:
        raise ValueError("this checkpoint's second input channel needs the notes' pitches")
    return model_input(logmel, ckpt["log_input"], ckpt["norm_mean"].cpu(), ckpt["norm_std"].cpu(), ckpt["peak_norm"],
                       pitches, ckpt["mel"], ckpt["pitch_ref"])


def pitch_aligned(x, pitches, mel_cfg, pitch_ref):
    """x [B, M, T] moved along the (mel) frequency axis, time untouched, so that each note's fundamental (MIDI
    `pitches` [B]) lands on pitch_ref: harmonic k of every note then sits in the same bins, whatever its pitch, the
    way the Task-2 harmonic features see it. A note of unknown pitch (< 0) stays where it is."""
    import torch
    pitches = torch.as_tensor(pitches).float()
    shift = torch.where(pitches >= 0, pitch_ref - pitches, torch.zeros_like(pitches))
    return resample_mel(x, shift, mel_cfg, stretch_time=False)


@functools.lru_cache(maxsize=8)
def mel_bin_hz(n_mels, fmin, fmax):
    """Centre frequencies of librosa's (Slaney) mel filters, the ones log_mel uses."""
    import librosa
    return librosa.mel_frequencies(n_mels + 2, fmin=fmin, fmax=fmax)[1:-1]


def resample_mel(x, semitones, mel_cfg, stretch_time=True):
    """Pitch shift by resampling, done on log-mel x [B, M, T]: resampling by r = 2**(semitones / 12) moves every
    frequency f to f * r and plays 1 / r times as long. Output bin at centre f reads the input at f / r (on the mel
    axis), output frame t reads input frame t * r, bilinearly; past the input's top bin or last frame is silence
    (the note's floor), below its bottom bin the bottom bin. stretch_time=False moves the frequencies only."""
    import librosa
    import torch
    import torch.nn.functional as F
    B, M, T = x.shape
    r = 2.0 ** (semitones.double() / 12)
    hz = mel_bin_hz(M, mel_cfg["fmin"], mel_cfg["fmax"])
    mel = librosa.hz_to_mel(hz)                                          # evenly spaced
    src_bin = (librosa.hz_to_mel(hz[None, :] / r.numpy()[:, None]) - mel[0]) / ((mel[-1] - mel[0]) / (M - 1))
    src_frame = torch.arange(T)[None, :] * (r.float()[:, None] if stretch_time else torch.ones(B, 1))
    # grid_sample's coordinates run from -1 (first row/column) to 1 (last); outside reads 0, the floor after the shift
    grid_f = torch.from_numpy(src_bin).float().clamp(min=0) / (M - 1) * 2 - 1                 # [B, M]
    grid_t = src_frame / (T - 1) * 2 - 1                                                       # [B, T]
    grid = torch.stack(torch.broadcast_tensors(grid_t[:, None, :], grid_f[:, :, None]), dim=-1)  # [B, M, T, (t, f)]
    floor = x.amin(dim=(1, 2), keepdim=True)
    return F.grid_sample((x - floor)[:, None], grid, align_corners=True)[:, 0] + floor


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
