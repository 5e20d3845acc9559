"""Shared HW0 fixtures: tiny NSynth-format folders (examples.json + audio/*.wav, 16 kHz 16-bit mono, 4 s) whose
notes come from simple per-family recipes (harmonic series, envelopes, noise), so a model can learn them in seconds."""
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = ["bass", "brass", "flute", "guitar", "keyboard", "mallet",
            "organ", "reed", "string", "synth_lead", "vocal"]
SR = 16000


def note_audio(family, pitch, velocity, rng):
    """A 4 s note: harmonic amplitudes and envelope chosen per family, note-off at 3 s."""
    fam = FAMILIES.index(family)
    t = np.arange(4 * SR) / SR
    f0 = 440.0 * 2 ** ((pitch - 69) / 12)
    n_harm = [3, 12, 2, 8, 10, 4, 9, 11, 14, 16, 6][fam]
    decay = [3.0, 0.2, 0.1, 2.5, 1.5, 6.0, 0.0, 0.2, 0.3, 0.0, 0.1][fam]
    odd_only = fam in (7, 9)
    y = np.zeros_like(t)
    for h in range(1, n_harm + 1):
        if odd_only and h % 2 == 0:
            continue
        if f0 * h > SR / 2 - 200:
            break
        y += np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 6.28)) / h ** (0.5 + 0.1 * fam)
    if fam in (2, 10):                       # breath / formant-ish noise
        y += 0.3 * rng.standard_normal(len(t)) * (fam == 2)
        y *= 1 + 0.3 * np.sin(2 * np.pi * 5.5 * t)
    env = np.exp(-decay * t) * np.minimum(1, t / (0.002 + 0.05 * (fam in (1, 8, 10))))
    env[t > 3] *= np.exp(-8 * (t[t > 3] - 3))
    y = y * env
    return (0.3 + 0.6 * velocity / 127) * y / (np.abs(y).max() + 1e-9)


def note_str(family, inst_idx, pitch, velocity, source="acoustic"):
    return f"{family}_{source}_{inst_idx:03d}-{pitch:03d}-{velocity:03d}"


def make_nsynth(split_dir, families=FAMILIES, pitches=(48, 60, 72), velocities=(75, 127), inst_idx=0, seed=0,
                write_json=True):
    """Write an NSynth-format split folder; returns the list of note_str written."""
    rng = np.random.default_rng(seed)
    audio_dir = Path(split_dir) / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    meta = {}
    for family in families:
        for pitch in pitches:
            for vel in velocities:
                name = note_str(family, inst_idx, pitch, vel)
                sf.write(audio_dir / f"{name}.wav", note_audio(family, pitch, vel, rng), SR, subtype="PCM_16")
                meta[name] = dict(note_str=name, pitch=pitch, velocity=vel, sample_rate=SR,
                                  instrument_family=FAMILIES.index(family), instrument_family_str=family,
                                  instrument_source=0, instrument_source_str="acoustic")
    if write_json:
        (Path(split_dir) / "examples.json").write_text(json.dumps(meta))
    return list(meta)


def run_script(*args, check=True, timeout=600, cwd=ROOT):
    """Run a repository script through its CLI from the repository root (or cwd, e.g. a copy made by copy_hw0);
    returns the CompletedProcess."""
    proc = subprocess.run([sys.executable, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def copy_hw0(dst, checkpoints=None):
    """The repository's HW0 part copied to dst the way a hand-in holds it: dst/hw0/ (code and demo notes),
    dst/checkpoints/hw0/ and dst/results/, so that a script run there finds dst as its repository. checkpoints:
    {file name in the copy: shipped file name}; default: every shipped checkpoint under its own name. -> dst"""
    shipped = ROOT / "checkpoints" / "hw0"
    shutil.copytree(ROOT / "hw0", dst / "hw0", ignore=shutil.ignore_patterns("__pycache__"))
    (dst / "checkpoints" / "hw0").mkdir(parents=True)
    for name, src in (checkpoints or {f.name: f.name for f in shipped.iterdir() if f.is_file()}).items():
        shutil.copy(shipped / src, dst / "checkpoints" / "hw0" / name)
    shutil.copytree(ROOT / "results", dst / "results")
    return dst


def tree_state(*folders):
    """{file: sha256} of every file under the folders: equal before and after a run that wrote nothing there."""
    return {str(f): hashlib.sha256(f.read_bytes()).hexdigest()
            for d in folders for f in sorted(Path(d).rglob("*")) if f.is_file()}


@pytest.fixture(scope="session")
def nsynth_root(tmp_path_factory):
    """Three instrument-disjoint splits, like NSynth: train/valid/test use different instrument indices."""
    root = tmp_path_factory.mktemp("nsynth")
    make_nsynth(root / "nsynth-train", pitches=(36, 48, 60, 72, 84), inst_idx=0, seed=0)
    make_nsynth(root / "nsynth-valid", pitches=(42, 66), velocities=(100,), inst_idx=1, seed=1)
    # the real test split has no synth_lead notes: scoring must stay 11-way
    make_nsynth(root / "nsynth-test", families=[f for f in FAMILIES if f != "synth_lead"], pitches=(54, 78),
                velocities=(100,), inst_idx=2, seed=2)
    return root
