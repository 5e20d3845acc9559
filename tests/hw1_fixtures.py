"""Fixture builders shared by the HW1 test modules: a tiny HuBERT-architecture encoder with MERT's conv strides,
a tiny course-format Slakh set synthesised with numpy, and a short test track (flac + multi-instrument mid)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
HW1 = REPO / "hw1"
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
SR = 24000
N = 120000
CLASS_NAMES = ["Piano", "Percussion", "Organ", "Guitar", "Bass", "Strings", "Voice", "Wind Instruments", "Synth"]
_CACHE = {}


def run(script, *args, check=True, cwd=None, env=None, hw1_dir=HW1):
    """Run an HW1 script through its CLI; offline, so nothing waits on the network. env: extra variables;
    hw1_dir: another copy of hw1/ (e.g. inside a hand-in-like layout)."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1",
               OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"), MPLBACKEND="Agg", **(env or {}))
    p = subprocess.run([sys.executable, str(Path(hw1_dir) / script), *map(str, args)], capture_output=True, text=True,
                       env=env, cwd=cwd or REPO, timeout=600)
    if check and p.returncode != 0:
        raise AssertionError(f"{script} {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def run_spawned(script, *args, hw1_dir=HW1, env=None):
    """Run an HW1 script as Windows and macOS do: multiprocessing's spawn start method, so each clip-reading worker
    process imports the script file again (as __mp_main__) before it can read a clip."""
    runner = ("import multiprocessing, runpy, sys\n"
              "multiprocessing.set_start_method('spawn')\n"
              "script = sys.argv[1]\n"
              "sys.path.insert(0, str(__import__('pathlib').Path(script).parent))\n"
              "sys.argv = sys.argv[1:]\n"
              "runpy.run_path(script, run_name='__main__')\n")
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1",
               OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"), MPLBACKEND="Agg", **(env or {}))
    return subprocess.run([sys.executable, "-c", runner, str(Path(hw1_dir) / script), *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=600)


def make_overflowing_encoder(tmp_path_factory):
    """The tiny encoder with its feature projection scaled by 1e6: activations of ~1e5, fine in fp32 (the LayerNorm
    after it brings them back to ~1) but beyond float16's 65504, so fp16 autocast turns them into inf, then NaN."""
    if "overflow" not in _CACHE:
        import torch
        from transformers import HubertModel, Wav2Vec2FeatureExtractor
        src = make_tiny_encoder(tmp_path_factory)
        d = tmp_path_factory.mktemp("tiny_mert_overflow")
        model = HubertModel.from_pretrained(src)
        with torch.no_grad():
            model.feature_projection.projection.weight.mul_(1e6)
        model.save_pretrained(d)
        Wav2Vec2FeatureExtractor.from_pretrained(src).save_pretrained(d)
        _CACHE["overflow"] = d
    return _CACHE["overflow"]


def make_tiny_encoder(tmp_path_factory):
    """HubertModel (2 layers of width 32, MERT's conv stack: 320x downsampling -> 75 Hz at 24 kHz) plus a 24 kHz
    Wav2Vec2FeatureExtractor, saved into one folder; built once per pytest run."""
    if "encoder" not in _CACHE:
        import torch
        from transformers import HubertConfig, HubertModel, Wav2Vec2FeatureExtractor
        d = tmp_path_factory.mktemp("tiny_mert")
        torch.manual_seed(0)
        cfg = HubertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                           conv_dim=(32,) * 7, conv_stride=(5, 2, 2, 2, 2, 2, 2), conv_kernel=(10, 3, 3, 3, 3, 2, 2),
                           conv_bias=False, feat_extract_norm="group", num_conv_pos_embeddings=16,
                           num_conv_pos_embedding_groups=2, vocab_size=32)
        HubertModel(cfg).save_pretrained(d)
        Wav2Vec2FeatureExtractor(sampling_rate=SR, feature_size=1, do_normalize=True, padding_value=0.0,
                                 return_attention_mask=False).save_pretrained(d)
        _CACHE["encoder"] = d
    return _CACHE["encoder"]


def hub_cache_with(cache, repo_id, model_dir, commit="0123456789abcdef0123456789abcdef01234567"):
    """An offline Hugging Face hub cache (HF_HUB_CACHE layout) holding model_dir's files as repo_id at `commit`,
    refs/main pointing to it: what `hf download repo_id` leaves behind, without a network."""
    import shutil
    repo = Path(cache) / ("models--" + repo_id.replace("/", "--"))
    snap = repo / "snapshots" / commit
    snap.mkdir(parents=True, exist_ok=True)
    for f in Path(model_dir).iterdir():
        if f.is_file():
            shutil.copy(f, snap / f.name)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return Path(cache)


def write_course_maps(d):
    """The three course class-map JSONs, written from hw1/utils.py's built-in copies (typo included)."""
    U = load_hw1_utils()
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    (d / "idx2instrument_class.json").write_text(json.dumps(U.COURSE_PROGRAM_TO_CLASS))
    (d / "MIDIClassName2class_idx.json").write_text(json.dumps(U.COURSE_CLASS_TO_IDX))
    (d / "class_idx2MIDIClass.json").write_text(json.dumps(U.COURSE_IDX_TO_CLASS))
    return d


def make_large_split_set(root, source, n_train):
    """A course-layout set whose train split has n_train clips, each a link to one of source's train clips (cheap on
    disk), and source's validation split: a job big enough for the CPU warning without hundreds of real files."""
    root, source = Path(root), Path(source)
    (root / "train").mkdir(parents=True)
    labels = json.loads((source / "train_labels.json").read_text())
    names = sorted(labels)
    big = {}
    for i in range(n_train):
        name = names[i % len(names)]
        link = root / "train" / f"Link{i:05d}.npy"
        os.symlink((source / "train" / name).resolve(), link)
        big[link.name] = labels[name]
    (root / "train_labels.json").write_text(json.dumps(big))
    os.symlink((source / "validation").resolve(), root / "validation")
    (root / "validation_labels.json").write_text((source / "validation_labels.json").read_text())
    return root


def synth_clip(label, rng, n=N, sr=SR):
    """Sum of per-class sounds (harmonic tones with class-specific pitch range, timbre and envelope; noise bursts
    for Percussion). Not music, but each class leaves its own trace in the waveform."""
    t = np.arange(n) / sr
    x = np.zeros(n)
    spec = {0: (200, 800, 6, 3.0), 2: (150, 600, 5, 0.0), 3: (150, 700, 8, 1.5), 4: (40, 110, 3, 0.5),
            5: (200, 900, 10, 0.0), 6: (180, 500, 4, 0.0), 7: (250, 1000, 3, 0.2), 8: (100, 1200, 12, 0.0)}
    for c, on in enumerate(label):
        if not on:
            continue
        if c == 1:   # percussion: decaying noise bursts on a grid
            env = np.zeros(n)
            for start in range(0, n, int(sr * rng.uniform(0.2, 0.5))):
                k = np.arange(n - start)
                env[start:] += np.exp(-k / (0.03 * sr))
            x += 0.5 * rng.standard_normal(n) * env
            continue
        lo, hi, n_harm, decay = spec[c]
        f0 = rng.uniform(lo, hi)
        vib = 1 + (0.01 * np.sin(2 * np.pi * 5 * t) if c in (5, 6) else 0)
        tone = sum(np.sin(2 * np.pi * f0 * h * t * vib) / h ** (1.5 if c != 2 else 0.7)
                   for h in range(1, n_harm + 1) if not (c == 7 and h % 2 == 0))
        env = np.exp(-decay * (t % 1.0)) if decay else np.ones(n)
        x += 0.3 * tone * env
    x += 0.01 * rng.standard_normal(n)
    return (x / max(1e-6, np.abs(x).max()) * 0.8).astype(np.float32)


def make_slakh_set(root, sizes=(16, 12, 10), seed=0):
    """Course layout: <root>/{train,validation,test}/<name>.npy + <root>/{split}_labels.json + dataset_info.json."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    for split, n in zip(("train", "validation", "test"), sizes):
        (root / split).mkdir(parents=True, exist_ok=True)
        labels = {}
        for i in range(n):
            lab = (rng.random(9) < 0.4).astype(int)
            if not lab.any():
                lab[rng.integers(9)] = 1
            name = f"Track{i:05d}_{split}.npy"
            np.save(root / split / name, synth_clip(lab, rng))
            labels[name] = [int(v) for v in lab]
        (root / f"{split}_labels.json").write_text(json.dumps(labels))
    (root / "dataset_info.json").write_text(json.dumps({"provenance": "synthetic test fixture (numpy tones)"}))
    return root


def make_test_track(track_dir, name="Track00001", sr=44100):
    """A 12.3 s multi-instrument MIDI (piano, bass, strings, drums) and its stereo flac at 44.1 kHz.
    Expected 5 s activity (L = 3): Piano [1,0,1], Bass [1,1,0], Strings [0,1,0], Percussion only with drums."""
    import pretty_midi
    import soundfile as sf
    track_dir = Path(track_dir)
    track_dir.mkdir(parents=True, exist_ok=True)
    pm = pretty_midi.PrettyMIDI()
    spec = [(0, False, [(0.5, 3.0, 60), (10.0, 12.3, 64)]),      # Piano: windows 0 and 2; ends the track at 12.3 s
            (33, False, [(4.0, 6.0, 40)]),                       # Bass: crosses the 5 s boundary -> windows 0, 1
            (48, False, [(7.0, 7.5, 67), (9.0, 10.0, 69)]),     # Strings: a note ending exactly at 10.0 -> window 1
            (0, True, [(t, t + 0.1, 36) for t in np.arange(0.0, 12.0, 0.5)])]   # drums (program 0!)
    for prog, drum, notes in spec:
        inst = pretty_midi.Instrument(program=prog, is_drum=drum)
        inst.notes = [pretty_midi.Note(velocity=100, pitch=p, start=float(s), end=float(e)) for s, e, p in notes]
        pm.instruments.append(inst)
    pm.write(str(track_dir / f"{name}.mid"))
    audio = pm.synthesize(fs=sr)
    audio = 0.5 * audio / max(1e-6, np.abs(audio).max())
    sf.write(track_dir / f"{name}.flac", np.stack([audio, 0.5 * audio], axis=1), sr)
    return track_dir / f"{name}.flac", track_dir / f"{name}.mid"


EXPECTED_TRACK = {"Piano": [1, 0, 1], "Bass": [1, 1, 0], "Strings": [0, 1, 0]}


def _load_hw1_module(name):
    """hw1/<name>.py as a uniquely named module (hw0 has its own utils.py and model.py)."""
    if name not in _CACHE:
        import importlib.util
        spec = importlib.util.spec_from_file_location(f"hw1_{name}_under_test", HW1 / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        _CACHE[name] = mod
    return _CACHE[name]


def load_hw1_utils():
    return _load_hw1_module("utils")


def load_hw1_model():
    return _load_hw1_module("model")
