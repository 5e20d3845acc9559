"""HW1 utilities: course Slakh I/O, class maps, MIDI -> 5 s activity, MERT loading and feature extraction, metrics.

Everything the HW1 scripts share lives here; the scripts read top to bottom and call these small functions.
"""
import hashlib
import json
import math
import os
import sys
from pathlib import Path

import numpy as np

# never hang on an unreachable hub: short timeouts, set before huggingface_hub is imported
os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", "10")
os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", "30")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

import torch

REPO = Path(__file__).resolve().parents[1]
SR = 24000                      # MERT-v1 and the course clips are 24 kHz
CLIP_SECONDS = 5.0
CLIP_SAMPLES = int(SR * CLIP_SECONDS)   # 120000
DEFAULT_ENCODER = "m-a-p/MERT-v1-95M"
SPLITS = ("train", "validation", "test")

# ---------------------------------------------------------------------------------------------------------------------
# class maps (built-in copies equal to the course's JSON files, quirks included)

CLASS_NAMES = ["Piano", "Percussion", "Organ", "Guitar", "Bass", "Strings", "Voice", "Wind Instruments", "Synth"]


def _course_program_map():
    """idx2instrument_class.json as released: MIDI program "0".."127" (0-based, as pretty_midi) and "128" (drums)."""
    spans = [(0, 7, "Piano"), (8, 15, "Percussion"), (16, 23, "Organ"), (24, 31, "Guitar"), (32, 39, "Bass"),
             (40, 51, "Strings"), (52, 54, "Voice"), (55, 55, "Strings"), (56, 79, "Wind Instruments"),
             (80, 103, "Synth"), (104, 107, "Strings"), (108, 108, "Piano"), (109, 109, "Wind instruments"),
             (110, 110, "Strings"), (111, 111, "Wind instruments"), (112, 119, "Percussion"), (120, 127, "Synth"),
             (128, 128, "Percussion")]
    return {str(p): name for lo, hi, name in spans for p in range(lo, hi + 1)}


COURSE_PROGRAM_TO_CLASS = _course_program_map()            # note the released typo "Wind instruments" at 109 and 111
COURSE_CLASS_TO_IDX = {name: i for i, name in enumerate(CLASS_NAMES)}
COURSE_IDX_TO_CLASS = {str(i): name for i, name in enumerate(CLASS_NAMES)}


def _read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        sys.exit(f"error: {path}: file not found")
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        sys.exit(f"error: {path}: not valid JSON ({e})")


def load_class_names(class_map_dir=None):
    """The 9 class names in label order: built-in, or from class_idx2MIDIClass.json in class_map_dir."""
    if class_map_dir is None:
        return list(CLASS_NAMES)
    path = Path(class_map_dir) / "class_idx2MIDIClass.json"
    idx2 = _read_json(path)
    n = len(CLASS_NAMES)
    if not (isinstance(idx2, dict) and sorted(idx2) == sorted(map(str, range(n)))
            and all(isinstance(v, str) for v in idx2.values())):
        sys.exit(f"error: {path}: expected the course's object with keys '0'..'{n - 1}' mapping label index -> "
                 f"class name, e.g. {{\"0\": \"Piano\", ...}}")
    return [idx2[str(i)] for i in range(n)]


def load_program_map(class_map_dir=None, verbose=True):
    """MIDI program (0..127, 128 = drums) -> label index, from the course JSONs or the built-in copies.

    The released idx2instrument_class.json maps programs 109 and 111 to "Wind instruments", which is not a class
    name; names are matched case-insensitively, so they count as "Wind Instruments" (a note says so once).
    """
    if class_map_dir is None:
        prog2name, name2idx, src = COURSE_PROGRAM_TO_CLASS, COURSE_CLASS_TO_IDX, "built-in course class map"
    else:
        d = Path(class_map_dir)
        prog2name = _read_json(d / "idx2instrument_class.json")
        name2idx = _read_json(d / "MIDIClassName2class_idx.json")
        src = str(d / "idx2instrument_class.json")
    if not (isinstance(prog2name, dict) and all(isinstance(v, str) and k.isdigit() for k, v in prog2name.items())):
        sys.exit(f"error: {src}: expected the course's JSON object {{\"<MIDI program>\": \"<class name>\"}}")
    if not (isinstance(name2idx, dict) and all(type(v) is int and 0 <= v < len(CLASS_NAMES) for v in name2idx.values())):
        sys.exit(f"error: {Path(class_map_dir or '.') / 'MIDIClassName2class_idx.json'}: expected the course's JSON "
                 f"object {{\"<class name>\": <label index 0-{len(CLASS_NAMES) - 1}>}}")
    folded = {name.lower(): int(i) for name, i in name2idx.items()}
    prog2idx, fixed = {}, {}
    for prog, name in prog2name.items():
        if name in name2idx:
            prog2idx[int(prog)] = int(name2idx[name])
        elif name.lower() in folded:
            prog2idx[int(prog)] = folded[name.lower()]
            fixed.setdefault(name, []).append(int(prog))
        else:
            sys.exit(f"error: {src}: program {prog} maps to '{name}', which is not a class in "
                     f"MIDIClassName2class_idx.json")
    missing = [p for p in range(129) if p not in prog2idx]
    if missing:
        sys.exit(f"error: {src}: no class for MIDI programs {missing} (expected keys '0'..'128')")
    if verbose:
        idx2name = {int(i): n for n, i in name2idx.items()}
        for name, progs in fixed.items():
            print(f"note: {src}: programs {', '.join(map(str, progs))} map to the misspelt '{name}'; "
                  f"counted as '{idx2name[folded[name.lower()]]}'")
    return prog2idx


# ---------------------------------------------------------------------------------------------------------------------
# MIDI -> activity in 5 s windows (as the course's piano-roll ground truth)

def load_midi(path):
    import pretty_midi
    try:
        return pretty_midi.PrettyMIDI(str(path))
    except Exception as e:
        sys.exit(f"error: {path}: cannot read MIDI ({e.__class__.__name__}: {str(e).splitlines()[0] if str(e) else ''})")


def midi_activity(midis, prog2idx, drums_as_percussion=False, n_classes=9, win=CLIP_SECONDS):
    """[n_classes, L] 0/1 activity from one or more pretty_midi.PrettyMIDI objects (e.g. a track's MIDI/Sxx.mid).

    L = ceil(midi_end_time / win); a class is active in window i when any of its notes overlaps
    [i*win, (i+1)*win). Drum instruments (is_drum; class map key 128) are skipped unless drums_as_percussion,
    matching the released labels; note pretty_midi gives drum tracks program 0, so is_drum must be tested first.
    """
    if not isinstance(midis, (list, tuple)):
        midis = [midis]
    end = max([pm.get_end_time() for pm in midis] + [0.0])
    L = max(1, math.ceil(end / win))
    act = np.zeros((n_classes, L), dtype=np.int64)
    for pm in midis:
        for inst in pm.instruments:
            if inst.is_drum and not drums_as_percussion:
                continue
            c = prog2idx[128 if inst.is_drum else int(inst.program)]
            for note in inst.notes:
                s = int(math.floor(note.start / win))
                e = max(int(math.ceil(note.end / win)), s + 1)   # strict overlap; a note ending at 5.0 s stays in window 0
                act[c, s:min(e, L)] = 1
    return act, end


# ---------------------------------------------------------------------------------------------------------------------
# course Slakh clips: <root>/{split}/<name>.npy (120000 float samples) and <root>/{split}_labels.json

def split_paths(root, split):
    return Path(root) / split, Path(root) / f"{split}_labels.json"


def read_labels(labels_path, n_classes=9):
    labels = _read_json(labels_path)
    if not isinstance(labels, dict):
        sys.exit(f"error: {labels_path}: expected a JSON object {{\"<name>.npy\": [{n_classes} ints]}}")
    out = {}
    for k, v in labels.items():
        if not (isinstance(v, list) and len(v) == n_classes and all(x in (0, 1) for x in v)):
            sys.exit(f"error: {labels_path}: key '{k}': expected a list of {n_classes} 0/1 ints, got {str(v)[:60]}")
        out[Path(k).name] = v
    return out


def list_clips(clip_dir):
    clip_dir = Path(clip_dir)
    if not clip_dir.is_dir():
        sys.exit(f"error: {clip_dir}: clip folder not found (expected <root>/{{train,validation,test}}/<name>.npy)")
    files = sorted(clip_dir.glob("*.npy"))
    if not files:
        sys.exit(f"error: {clip_dir}: no .npy clips found (expected 5 s mono clips at 24 kHz, {CLIP_SAMPLES} samples)")
    return files


def match_labels(files, labels, clip_dir, labels_path):
    """Keep the clips that have a label; report (with counts) clips without a key and keys without a clip."""
    names = {f.name for f in files}
    no_key = [f for f in files if f.name not in labels]
    no_file = sorted(k for k in labels if k not in names)
    if no_key:
        print(f"warning: {len(no_key)} of {len(files)} clips in {clip_dir} have no key in {labels_path}; "
              f"left out of training/metrics (e.g. {no_key[0].name})")
    if no_file:
        print(f"warning: {len(no_file)} of {len(labels)} keys in {labels_path} have no clip in {clip_dir}; "
              f"ignored (e.g. {no_file[0]})")
    kept = [f for f in files if f.name in labels]
    if not kept:
        sys.exit(f"error: no clip in {clip_dir} has a label in {labels_path} (keys must be '<name>.npy')")
    y = np.array([labels[f.name] for f in kept], dtype=np.float32)
    return kept, y, {"clips_without_key": len(no_key), "keys_without_clip": len(no_file)}


def read_split(root, split, n_classes=9, limit=None):
    """Clip paths and [N, 9] labels of one split of the course data."""
    clip_dir, labels_path = split_paths(root, split)
    files = list_clips(clip_dir)
    files, y, counts = match_labels(files, read_labels(labels_path, n_classes), clip_dir, labels_path)
    if limit:
        files, y = files[:limit], y[:limit]
    return files, y, counts


CLIP_FIX = f"expected a float32 array of {CLIP_SAMPLES} samples, saved with np.save(path, waveform.astype(np.float32))"


def _npy_header(path, n=CLIP_SAMPLES):
    """(number of samples, None), or (None, why the file can't be a clip), from the .npy header alone: nothing is
    unpickled and the samples are not read. A 1-D float array of another length is usable: it is zero-padded or
    trimmed (check_clips counts those)."""
    fmt = np.lib.format
    try:
        with open(path, "rb") as f:
            if f.read(len(fmt.MAGIC_PREFIX)) != fmt.MAGIC_PREFIX:
                return None, "not a NumPy .npy file (bad header)"
            f.seek(0)
            version = fmt.read_magic(f)
            read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, _, dtype = read_header(f)
            data_start = f.tell()
        size = os.path.getsize(path)
    except OSError as e:
        return None, f"unreadable ({e.__class__.__name__}: {e.strerror or e})"
    except ValueError as e:
        return None, f"not a NumPy .npy file (bad header: {' '.join(str(e).split())[:80]})"
    if dtype.hasobject:
        return None, "pickled (object) data, not loaded"
    if dtype.kind != "f":
        return None, f"dtype {dtype}, not a float waveform"
    if len(shape) != 1:
        return None, f"shape {tuple(shape)}, not a 1-D mono waveform"
    if shape[0] == 0:
        return None, "empty (0 samples)"
    if size < data_start + shape[0] * dtype.itemsize:
        return None, f"truncated ({size} of {data_start + shape[0] * dtype.itemsize} bytes)"
    return int(shape[0]), None


def read_clip(path, n=CLIP_SAMPLES):
    """(float32 [n] waveform, None), padded/trimmed to n samples; or (None, why it is unusable)."""
    why = _npy_header(path, n)[1]
    if why:
        return None, why
    try:
        x = np.load(path, allow_pickle=False)
    except Exception as e:
        return None, f"unreadable ({e.__class__.__name__}: {' '.join(str(e).split())[:80]})"
    if not np.isfinite(x).all():
        return None, "NaN or inf samples"
    x = x.astype(np.float32)
    if len(x) < n:
        x = np.pad(x, (0, n - len(x)))
    return x[:n], None


def load_clip(path, n=CLIP_SAMPLES):
    """float32 [n] waveform (padded/trimmed); exits with one line on an unusable file."""
    x, why = read_clip(path, n)
    if why:
        sys.exit(f"error: {path}: {why}; {CLIP_FIX}")
    return x


def check_clips(files, n=CLIP_SAMPLES, where="", samples=False):
    """Check every clip before any model work: its header (dtype, shape, size), and with samples=True its samples
    too (NaN/inf; that reads every file). -> ({path: why} of the unusable clips, number of usable clips that are not
    n samples long: zero-padded or trimmed, and counted in one warning)."""
    problems, n_fixed = {}, 0
    for f in files:
        length, why = _npy_header(f, n)
        if samples and not why:
            why = read_clip(f, n)[1]
        if why:
            problems[f] = why
        else:
            n_fixed += length != n
    if n_fixed:
        print(f"warning: {n_fixed} of {len(files)} clips{' in ' + str(where) if where else ''} are not {n} samples "
              f"long; zero-padded or trimmed to {n}")
    return problems, n_fixed


def report_excluded(files, problems, where, left_out_of="predictions and metrics"):
    """One warning naming the unusable clips (the first few, with why) and counting them; one error line when no
    clip is usable. -> the usable clips, in order."""
    kept = [f for f in files if f not in problems]
    bad = [(Path(f).name, problems[f]) for f in files if f in problems]
    if not kept:
        name, why = bad[0]
        sys.exit(f"error: none of the {len(files)} clips in {where} is usable (e.g. {name}: {why}); {CLIP_FIX}")
    if bad:
        shown = "; ".join(f"{name} ({why})" for name, why in bad[:5])
        print(f"warning: {len(bad)} of {len(files)} clips in {where} are unusable, excluded from {left_out_of}: "
              f"{shown}{f'; ... ({len(bad) - 5} more)' if len(bad) > 5 else ''}; {CLIP_FIX}")
    return kept


def provenance(*dirs):
    """The "provenance" string of a rendered dataset (dataset_info.json in the folder or its parents)."""
    for d in dirs:
        if d is None:
            continue
        d = Path(d).resolve()
        for cand in [d, *list(d.parents)[:2]]:
            p = cand / "dataset_info.json"
            if p.is_file():
                try:
                    return str(json.loads(p.read_text()).get("provenance", "unknown"))
                except (json.JSONDecodeError, UnicodeDecodeError):
                    return "unknown (unreadable dataset_info.json)"
    return "unknown (no dataset_info.json)"


def shown_path(path):
    """A path for printouts and results JSON: relative to the repository when inside it (never the absolute paths of
    the machine that made a result), otherwise as given."""
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def sha256_of(path, block=1 << 20):
    """Hex sha256 of a file's bytes, read in 1 MiB blocks (a fine-tuned checkpoint is hundreds of MB)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(block), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------------------------------
# MERT encoder (stock transformers HubertModel; no trust_remote_code)

# MERT-v1's hub repos, told apart by their architecture (hidden size, transformer layers). A checkpoint stores the hub
# id beside the local folder it was trained from, so it still finds its encoder on a machine without that folder.
HUB_IDS = {(768, 12): "m-a-p/MERT-v1-95M", (1024, 24): "m-a-p/MERT-v1-330M"}

# Keys that may differ between a MERT-v1 checkpoint and HubertModel without changing what the encoder computes.
# Anything else missing, unexpected or of the wrong shape means layers would run on random weights: we stop.
#  - masked_spec_embed: the learned mask vector of train-time time masking (SpecAugment); the forward pass never reads
#    it in eval mode, and fine-tuning trains it; its absence or presence does not change extracted features.
#  - final_proj.*, label_embs_concat: MERT's pre-training prediction head and codebook embeddings (fairseq export);
#    they sit on top of the last hidden state, which HubertModel returns without them.
HARMLESS_KEYS = ("masked_spec_embed", "final_proj.", "label_embs_concat")


def hub_id_for(hidden_size, n_layers):
    """The MERT-v1 hub id of an encoder of this shape, or None (not a MERT-v1 shape)."""
    return HUB_IDS.get((int(hidden_size), int(n_layers)))


def _encoder_help(hub_id):
    """The download hint; it always names a hub id, never a local folder."""
    hub_id = hub_id or DEFAULT_ENCODER
    local = "models/" + hub_id.split("/")[-1]
    return f"download it where there is network (hf download {hub_id} --local-dir {local}) and pass --encoder {local}"


def _hub_reachable(timeout=3.0):
    """Quick TCP probe of the hub, so an offline machine fails in seconds instead of minutes of retries."""
    import socket
    from urllib.parse import urlparse
    if os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy"):
        return True   # behind a proxy a direct probe says nothing; let huggingface_hub try
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    try:
        socket.create_connection((url.hostname, url.port or (443 if url.scheme == "https" else 80)), timeout).close()
        return True
    except OSError:
        return False


def looks_like_path(encoder):
    encoder = str(encoder)
    return os.path.isdir(encoder) or encoder.startswith((".", "/", "~")) or encoder.count("/") != 1


def local_dir_commit(folder):
    """The hub commit an `hf download --local-dir` folder came from (its download metadata), or None."""
    meta = Path(folder) / ".cache" / "huggingface" / "download" / "config.json.metadata"
    try:
        commit = meta.read_text().split("\n", 1)[0].strip()
    except OSError:
        return None
    return commit if len(commit) == 40 and all(c in "0123456789abcdef" for c in commit) else None


def _quiet_model_type_warning():
    """MERT's config says model_type "mert_model"; HubertModel reads it fine, and transformers warns about the
    mismatch on every load. Drop that one message only: every other transformers warning stays visible."""
    import logging
    log = logging.getLogger("transformers.configuration_utils")
    if not any(getattr(f, "drops_model_type_warning", False) for f in log.filters):
        drop = logging.Filter()
        drop.filter = lambda record: "to instantiate a model of type hubert" not in record.getMessage()
        drop.drops_model_type_warning = True
        log.addFilter(drop)


def _check_loading_info(info, encoder):
    """Stop with one line when the encoder's weights don't fill HubertModel (the layers would be random)."""
    bad = {what: [k for k in info.get(what, []) if not str(k).startswith(HARMLESS_KEYS)]
           for what in ("missing_keys", "mismatched_keys", "unexpected_keys")}
    bad["mismatched_keys"] = [k if isinstance(k, str) else k[0] for k in bad["mismatched_keys"]]
    if not any(bad.values()):
        return
    parts = [f"{len(v)} {what.replace('_', ' ')} ({', '.join(map(str, v[:3]))}{', ...' if len(v) > 3 else ''})"
             for what, v in bad.items() if v]
    sys.exit(f"error: encoder '{encoder}': its weights do not fit a MERT-v1/HuBERT encoder: {'; '.join(parts)}; "
             f"these layers would run on random weights. Re-download the model folder or pass the right --encoder")


def load_encoder(encoder, revision=None, device="cpu", hub_id=None):
    """(HubertModel, Wav2Vec2FeatureExtractor, resolved revision) from a local folder or a hub id.

    hub_id names the model in the download hint when encoder is a folder that can't be read."""
    from transformers import HubertModel, Wav2Vec2FeatureExtractor
    _quiet_model_type_warning()
    encoder = str(encoder)
    is_dir = os.path.isdir(encoder)
    # "models/MERT-v1-95M" is a hub id by its form; when ./models exists it is a missing local folder instead
    hint_id = hub_id or (None if looks_like_path(encoder) or os.path.isdir(encoder.split("/")[0]) else encoder)
    if not is_dir and looks_like_path(encoder):
        sys.exit(f"error: --encoder {encoder}: folder not found; {_encoder_help(hint_id)}")
    kw = {} if is_dir else {"revision": revision or "main"}
    offline = os.environ.get("HF_HUB_OFFLINE", "0").lower() not in ("0", "", "false", "no")
    model = fe = last = info = None
    for local_only in ([True] if (is_dir or offline) else [True, False]):   # hub cache first, network last
        if not local_only and not _hub_reachable():
            last = OSError("hub unreachable from this machine")
            break
        try:
            # ignore_mismatched_sizes: a wrong-shaped tensor is reported in info (and stops us below), not raised
            model, info = HubertModel.from_pretrained(encoder, local_files_only=local_only, output_loading_info=True,
                                                      ignore_mismatched_sizes=True, **kw)
            fe = Wav2Vec2FeatureExtractor.from_pretrained(encoder, local_files_only=local_only, **kw)
            break
        except OSError as e:   # not found: missing folder/files, not in the hub cache, hub unreachable -> try network
            last = e
            if "Unable to load weights" in str(e):   # a present but unreadable .bin: its own reason, no retry
                break
        except Exception as e:  # present but unreadable (torch too old for .bin, corrupt file): its own reason
            last = e
            break
    if fe is None:
        why = " ".join(str(last).split()) if last is not None and str(last) else "not found"
        where = f"encoder '{encoder}'" + ("" if is_dir else f" (revision {revision or 'main'})")
        if isinstance(last, OSError) and "Unable to load weights" not in why:
            sys.exit(f"error: cannot load MERT {where}"
                     f"{'' if is_dir else ', not in the local hub cache'}: {why[:160]}; {_encoder_help(hint_id)}")
        if "torch" in why and "2.6" in why:   # transformers >= 4.52 reads pytorch_model.bin only with torch >= 2.6
            sys.exit(f"error: cannot load MERT {where}: its weights are a pytorch_model.bin, which transformers "
                     f"reads only with torch >= 2.6 (torch.load security fix, CVE-2025-32434); this is torch "
                     f"{torch.__version__}: pip install -U 'torch>=2.6'")
        sys.exit(f"error: cannot load MERT {where}: {last.__class__.__name__}: {why[:200]}")
    _check_loading_info(info, encoder)
    if fe.sampling_rate != SR:
        sys.exit(f"error: encoder '{encoder}' expects {fe.sampling_rate} Hz audio; the course clips are {SR} Hz "
                 f"(use a MERT-v1 model)")
    commit = local_dir_commit(encoder) if is_dir else getattr(model.config, "_commit_hash", None)
    resolved = commit or revision or ("local" if is_dir else "main")
    return model.to(device), fe, resolved


def freeze_for_finetune(encoder, top_k=0):
    """Make the top k transformer layers (0 or >= n: everything above the CNN front end) trainable; the rest frozen.

    The CNN front end is frozen with its own switch (_freeze_parameters), not only requires_grad=False: otherwise
    HubertFeatureEncoder marks its input as requiring grad in training mode and autograd records the whole conv stack
    (7 conv layers at 24 kHz, the largest activations of the model) for a backward pass that updates nothing.
    Returns k, the number of trainable layers."""
    for p in encoder.parameters():
        p.requires_grad = False
    encoder.feature_extractor._freeze_parameters()
    layers = encoder.encoder.layers
    k = top_k if 0 < top_k <= len(layers) else len(layers)
    trainable = list(layers[len(layers) - k:])
    if k == len(layers):   # all: everything above the CNN front end (kept frozen, as in HuBERT/MERT fine-tuning)
        trainable += [encoder.feature_projection, encoder.encoder.pos_conv_embed, encoder.encoder.layer_norm]
        if getattr(encoder, "masked_spec_embed", None) is not None:   # SpecAugment mask vector (train-time masking)
            encoder.masked_spec_embed.requires_grad = True
    for m in trainable:
        for p in m.parameters():
            p.requires_grad = True
    return k


def param_groups(named_params, lr, weight_decay):
    """AdamW groups: weight decay on weight matrices / conv kernels only. Biases, LayerNorm/GroupNorm gains, the
    probe's layer-weight logits and the mask vector (all 1-D) are not decayed: decay would pull gains towards 0 and
    the layer weights towards uniform, which is not regularisation. Weight-norm magnitudes (weight_g /
    parametrizations...original0 of the positional conv) are gains too."""
    decay, no_decay = [], []
    for name, p in named_params:
        if not p.requires_grad:
            continue
        gain = p.ndim < 2 or name.endswith(("weight_g", "original0"))
        (no_decay if gain else decay).append(p)
    return [g for g in ({"params": decay, "lr": lr, "weight_decay": weight_decay},
                        {"params": no_decay, "lr": lr, "weight_decay": 0.0}) if g["params"]]


def warmup_cosine(step, total, warmup):
    """LR factor: linear warm-up over `warmup` steps, then cosine decay to 0 at `total` (for LambdaLR)."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))


def prepare(fe, waves, device):
    """Feature-extractor preprocessing (zero-mean/unit-var per clip when the extractor's config says so)."""
    inp = fe([w for w in waves], sampling_rate=SR, return_tensors="pt")
    return inp["input_values"].to(device)


def pooled_states(model, input_values, pooling="mean"):
    """All hidden states (n_layers + 1), pooled over time -> [B, S, D] (mean) or [B, S, 2D] (meanstd), S states."""
    out = model(input_values, output_hidden_states=True)
    h = torch.stack(out.hidden_states, dim=1)          # [B, S, T, D]
    h = h.float()
    if pooling == "mean":
        return h.mean(dim=2)
    if pooling == "meanstd":
        return torch.cat([h.mean(dim=2), h.std(dim=2)], dim=-1)
    raise ValueError(f"unknown pooling {pooling}")


def head_logits(head, z):
    """The probe head in fp32, outside any autocast: training, threshold tuning and inference all get these same
    logits for the same features (under bf16/fp16 autocast the head would round differently from inference)."""
    with torch.autocast(z.device.type, enabled=False):
        return head(z.float())


def pick_device(name):
    """--device auto|cpu|cuda[:N] -> torch.device, with one line instead of a traceback when it can't be used."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        sys.exit(f"error: --device {name} is not a torch device; use cpu, cuda or cuda:N")
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit(f"error: --device {name} asked for, but no CUDA GPU is visible to torch; use --device cpu")
    return device


def amp_dtype_for(device_type, capability=None):
    """Autocast dtype for the encoder: bf16 on CUDA GPUs with native bf16 (compute capability >= 8.0: A100, RTX 30xx,
    L4, H100...), fp16 below (T4, V100, RTX 20xx emulate bf16 slowly; fp16 needs a GradScaler when training), None
    (fp32) on CPU, where autocast would only slow the matrix work down."""
    if device_type != "cuda":
        return None
    return torch.bfloat16 if capability is not None and tuple(capability) >= (8, 0) else torch.float16


PRECISIONS = ("auto", "fp32", "fp16", "bf16")     # --precision; auto = amp_dtype_for's rule


def amp_dtype(device, precision="auto"):
    """Autocast dtype (None = fp32) for --precision: auto picks by device (amp_dtype_for), the others force it."""
    if precision != "auto":
        return {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]
    device = torch.device(device)
    cap = torch.cuda.get_device_capability(device) if device.type == "cuda" else None
    return amp_dtype_for(device.type, cap)


def precision_name(device, precision="auto"):
    return {None: "fp32", torch.bfloat16: "bf16 autocast", torch.float16: "fp16 autocast"}[amp_dtype(device, precision)]


def autocast(device, precision="auto"):
    device = torch.device(device)
    dtype = amp_dtype(device, precision)
    return torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None)


def check_finite(z, where, precision_used, n_total=None):
    """Stop with one line when pooled MERT features hold NaN/inf (fp16 overflows at 65504: a T4's fp16 autocast can
    turn a large activation into inf), before they reach the feature cache, the probe or the thresholds."""
    z = torch.as_tensor(z)
    bad = int((~torch.isfinite(z.reshape(len(z), -1))).any(1).sum()) if len(z) else 0
    if bad:
        of = f" of {n_total}" if n_total else ""
        fix = ("rerun with --precision fp32" if precision_used != "fp32" else
               "the encoder itself produces them in fp32: check the --encoder weights (re-download the folder)")
        sys.exit(f"error: {where}: {bad}{of} clips give NaN/inf MERT features under {precision_used}; {fix}")


# ---------------------------------------------------------------------------------------------------------------------
# an auto-picked CPU: loud when the job is long (a CUDA build of torch that can't see the GPU falls back silently)

CPU_WARN_CLIPS = 300    # clip passes above which --device auto on a CPU warns; a quick --limit run stays quiet
CPU_CLIPS_PER_S = {768: 0.49, 1024: 0.135}   # measured: frozen MERT-v1-95M / -330M extraction, 2 CPU cores


def encoder_width(encoder):
    """Hidden size of an encoder before loading it: its folder's config.json, else a known hub id (default 768)."""
    try:
        return int(json.loads((Path(encoder) / "config.json").read_text())["hidden_size"])
    except (OSError, ValueError, KeyError, TypeError):
        return next((w for (w, _), hub in HUB_IDS.items() if hub == str(encoder)), 768)


def warn_cpu_fallback(requested, device, n_clip_passes, encoder, what="clips through MERT"):
    """--device auto that found no GPU, for a job of more than CPU_WARN_CLIPS clip passes: a loud warning with the
    projected hours and the fix. An explicit --device cpu is a choice and stays quiet."""
    if requested != "auto" or torch.device(device).type != "cpu" or n_clip_passes <= CPU_WARN_CLIPS:
        return
    threads = torch.get_num_threads()
    rate = CPU_CLIPS_PER_S.get(encoder_width(encoder), CPU_CLIPS_PER_S[768]) * max(1, threads) / 2
    hours = n_clip_passes / rate / 3600
    bar = "!" * 100
    build = f"built for CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
    print(f"{bar}\nWARNING: --device auto found no CUDA GPU (torch {torch.__version__}, {build}); this runs on the "
          f"CPU:\n"
          f"  {n_clip_passes} {what} at about {rate:.2f} clips/s ({threads} CPU threads): about {hours:.1f} hours.\n"
          f"  On a machine with an NVIDIA GPU: check that `nvidia-smi` lists it, then install the PyTorch wheel for\n"
          f"  its CUDA version from https://pytorch.org/get-started/locally/ (PyPI's default torch wheel needs a "
          f"recent\n"
          f"  driver), or keep the machine's preinstalled torch if it is >= 2.6.\n"
          f"  To run on the CPU anyway, pass --device cpu (no warning).\n{bar}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------------------
# clip loading in worker processes (the next batch is read while the encoder runs on this one)

class ClipDataset(torch.utils.data.Dataset):
    """Clip i -> (i, float32 waveform or None, None or why it is unusable): a worker can't sys.exit for the main
    process, so the reason travels back and the main process decides."""

    def __init__(self, files):
        self.files = list(files)

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        return (i, *read_clip(self.files[i]))


def _as_list(items):
    return items


def clip_batches(files, index_batches, workers=0, problems=None):
    """Yield (indices, [waveforms]) for each list of indices, read ahead by `workers` processes (0: in-process).
    An unusable clip stops the run with one line, or, given a problems dict, is left out of its batch and recorded
    there as {path: why} (a batch whose clips are all unusable is not yielded)."""
    loader = torch.utils.data.DataLoader(ClipDataset(files), batch_sampler=index_batches, num_workers=workers,
                                         collate_fn=_as_list, prefetch_factor=2 if workers else None)
    for batch in loader:
        for i, _, why in batch:
            if why and problems is None:
                sys.exit(f"error: {files[i]}: {why}; {CLIP_FIX}")
            if why:
                problems[files[i]] = why
        good = [(i, x) for i, x, why in batch if not why]
        if good:
            yield [i for i, _ in good], [x for _, x in good]


def default_workers():
    return min(4, max(1, (os.cpu_count() or 1) - 1))


@torch.no_grad()
def extract_pooled(model, fe, files_or_waves, pooling="mean", batch_size=8, device="cpu", desc="extract", workers=0,
                   out_dtype=np.float16, problems=None, precision="auto", where=None):
    """Pooled hidden states for a list of clip paths (or waveforms) -> numpy [N, n_layers + 1, D'] (float16: the
    frozen-probe cache format; float32 for a fine-tuned encoder, whose thresholds were tuned on unrounded features).
    Given a problems dict, unusable clips are recorded there ({path: why}) and have no row; otherwise they stop the
    run. Rows follow the order of the usable clips. NaN/inf features (e.g. fp16 overflow) stop the run with one line
    naming `where` (default desc) and how many clips."""
    from tqdm import tqdm
    model.eval()
    n = len(files_or_waves)
    index_batches = [list(range(i, min(i + batch_size, n))) for i in range(0, n, batch_size)]
    if n and isinstance(files_or_waves[0], (str, Path)):
        chunks = (waves for _, waves in clip_batches(files_or_waves, index_batches, workers, problems))
    else:
        chunks = ([files_or_waves[i] for i in idx] for idx in index_batches)
    feats = []
    for waves in tqdm(chunks, total=len(index_batches), desc=desc, unit="batch", leave=False):
        with autocast(device, precision):
            z = pooled_states(model, prepare(fe, waves, device), pooling)
        feats.append(z.float().cpu().numpy())
    if not feats:
        return np.zeros((0, model.config.num_hidden_layers + 1,
                         model.config.hidden_size * (2 if pooling == "meanstd" else 1)), dtype=out_dtype)
    feats = np.concatenate(feats, axis=0)
    check_finite(feats, where or desc, precision_name(device, precision), n)
    with np.errstate(over="ignore"):
        out = feats.astype(out_dtype)
    if not np.isfinite(out).all():     # finite in fp32 but beyond float16's range: the cache can't hold them
        bad = int((~np.isfinite(out.reshape(len(out), -1))).any(1).sum())
        sys.exit(f"error: {where or desc}: {bad} of {n} clips give MERT features beyond float16's range (|x| > "
                 f"65504), which the float16 feature cache can't hold; check the --encoder weights")
    return out


def cache_key(encoder, revision, pooling, files, precision="fp32"):
    """Cache identity: encoder id/revision, pooling, the precision it ran in, clip length and the exact file list
    (name, size, mtime)."""
    items = [[Path(f).name, os.path.getsize(f), os.stat(f).st_mtime_ns] for f in files]
    blob = json.dumps({"encoder": str(encoder), "revision": str(revision), "pooling": pooling, "precision": precision,
                       "n_samples": CLIP_SAMPLES, "files": items}, sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------------------------------
# metrics

def choose_thresholds(probs, y):
    """Per-class threshold maximising F1 (predict prob >= t); 0.5 for a class without positives or negatives."""
    from sklearn.metrics import precision_recall_curve
    th = []
    for c in range(y.shape[1]):
        if y[:, c].min() == y[:, c].max():
            th.append(0.5)
            continue
        p, r, t = precision_recall_curve(y[:, c], probs[:, c])
        f1 = 2 * p[:-1] * r[:-1] / np.maximum(p[:-1] + r[:-1], 1e-12)
        th.append(float(t[int(np.argmax(f1))]))
    return np.array(th, dtype=np.float32)


def f1_scores(y, pred):
    from sklearn.metrics import f1_score
    return {"macro_f1": float(f1_score(y, pred, average="macro", zero_division=0)),
            "micro_f1": float(f1_score(y, pred, average="micro", zero_division=0)),
            "per_class_f1": [float(v) for v in f1_score(y, pred, average=None, zero_division=0)]}


def save_bar(values, names, path, title, ylabel):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(values) + 2), 3.5))
    ax.bar(range(len(values)), values, color="tab:blue")
    ax.set_xticks(range(len(values)))
    ax.set_xticklabels(names, rotation=45 if len(names) > 0 and max(len(str(n)) for n in names) > 3 else 0,
                       ha="right" if max(len(str(n)) for n in names) > 3 else "center")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# whole-track figure: one panel, each (class, 5 s window) cell coloured by agreement with the MIDI ground truth
AGREEMENT = [("agree: inactive", "#ffffff"), ("TP: both active", "#4d4d4d"),
             ("FP: predicted, not in MIDI", "#e69f00"), ("FN: in MIDI, missed", "#0072b2")]   # colour-blind safe


def agreement(gt, pred):
    """[C, L] codes: 0 = both inactive, 1 = true positive, 2 = false positive, 3 = false negative."""
    gt, pred = np.asarray(gt).astype(bool), np.asarray(pred).astype(bool)
    return np.select([gt & pred, pred & ~gt, gt & ~pred], [1, 2, 3], 0)


def plot_track(gt, pred, names, path, title, win=CLIP_SECONDS):
    """Ground truth vs prediction in one panel (TP / FP / FN colours) on a 5 s grid; returns the TP/FP/FN counts."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch
    codes = agreement(gt, pred)
    n, L = codes.shape
    counts = {k: int((codes == c).sum()) for k, c in (("tp", 1), ("fp", 2), ("fn", 3))}
    fig, ax = plt.subplots(figsize=(min(40, max(8, 0.3 * L + 3)), 0.4 * n + 1.8))
    ax.imshow(codes, aspect="auto", interpolation="nearest", cmap=ListedColormap([c for _, c in AGREEMENT]),
              vmin=-0.5, vmax=3.5, extent=[0, L * win, n - 0.5, -0.5])
    ax.set_xticks(np.arange(L + 1) * win, minor=True)                    # the 5 s grid: one cell per window
    ax.set_yticks(np.arange(n + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="#bbbbbb", lw=0.6)
    ax.tick_params(which="minor", length=0)
    step = win * max(1, math.ceil(L / 20))                               # at most ~20 labelled ticks
    ax.set_xticks(np.arange(0, L * win + 1e-9, step))
    ax.set_yticks(range(n))
    ax.set_yticklabels(names)
    ax.set_xlabel(f"time (s), {win:g} s windows")
    handles = [Patch(facecolor=c, edgecolor="#888888", label=f"{label} ({counts[k]})" if k else label)
               for (label, c), k in zip(AGREEMENT, (None, "tp", "fp", "fn"))]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return counts
