"""
Extra instrument source for standins/render_nsynth.py: the Synthesis ToolKit (STK 4.6) instrument models.

    python standins/render_nsynth.py --out DIR --sources stk --splits "train=stk:0.7;valid=stk:0.3" ...
    python standins/source_stk.py            # sanity check: peak, RMS envelope, centroid, f0 of a few notes per family

Every model is synthesised (physical waveguide, modal or FM models), so NSynth's rule -- a label says how the sound
was made, not what it imitates -- makes the source "synthetic" for all of them, acoustic-sounding ones included.

    family      STK models (SKINI controls drawn at random per instrument)
    reed        Clarinet, BlowHole, Saxofony
    flute       Flute, BlowBotl, PercFlut (FM; its carrier sits a fifth up, so notes are sent 7.02 semitones lower)
    brass       Brass
    string      Bowed
    vocal       VoicForm (vowels and hummed consonants, four voice sizes, little noise), FMVoices
    guitar      Plucked, StifKarp, Mandolin
    mallet      ModalBar (presets marimba, vibraphone, reso, beats, two-fixed), BandedWG (4 presets), TubeBell
    keyboard    Rhodey, Wurley
    organ       BeeThree
    bass        StifKarp (pickup near the end, long sustain), Plucked, Moog (low filter Q), Simple (dark pole)
    synth_lead  Moog, Simple, HevyMetl
An instrument = one model + its random control values; its split unit is the model name, so variants of one model
never straddle splits. Recorder is left out (its pitch does not follow the note at 16 kHz), Sitar and Whistle too.
Each model sounds in tune over a measured MIDI range (RANGE below); notes outside it, silent notes, NaN and
noise-like renders come back as None.

How: `stk-demo <Model> -s 16000 -om note.mat -if note.ski`, one short process per note. stk-demo's Voicer mutes a
voice at NoteOff (a hard cut) and a muted voice keeps its delay-line state into the next NoteOn (notes after the
first start mid-waveform), so every note gets a fresh process, is held to the end of the slot, and the release
after `off` is a per-instrument exponential fade applied here (like a sample player's release). Output is read
from STK's float64 MAT file, not its 16-bit WAV, to keep quiet models (ModalBar, Mandolin) noise-free.

Install: apt-get install -y stk faketime. Licence: STK's own MIT-style licence (Perry Cook, Gary Scavone).
Reproducible: bit-identical for a seed. STK seeds its noise generators with time(); faketime freezes that clock at
a value drawn from (seed, instrument, pitch, velocity), with TZ=UTC.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import scipy.io

from render_common import is_garbage, pitch_ok, print_sanity_check

RAWWAVES = Path("/usr/share/stk/rawwaves")

# (family, model, {SKINI control number: (low, high) uniform, or [choices]}); control numbers from /usr/include/stk/
SPECS = [
    ("reed", "Clarinet", {2: (40, 100), 4: (0, 40), 11: (20, 80), 1: (0, 30)}),      # reed stiffness, noise, vibrato
    ("reed", "BlowHole", {2: (30, 100), 4: (0, 40)}),            # tonehole/register vent stay closed (they re-tune)
    ("reed", "Saxofony", {2: (68, 92), 26: "aperture", 4: (0, 40), 11: (15, 40), 29: (20, 80), 1: (0, 30)}),
    ("flute", "Flute", {2: (56, 72), 4: (5, 50), 11: (20, 80), 1: (0, 40)}),          # jet delay, noise, vibrato
    ("flute", "BlowBotl", {4: (0, 50), 11: (20, 80), 1: (0, 40)}),
    ("flute", "PercFlut", {2: (20, 100), 4: (20, 100), 11: (20, 80), 1: (0, 30), 128: (40, 128)}),
    ("brass", "Brass", {11: (20, 80), 1: (0, 25)}),               # lip tension and slide re-tune the model
    ("string", "Bowed", {2: (30, 100), 4: (38, 64), 11: (20, 80), 1: (0, 12)}),      # bow pressure, position
    ("vocal", "VoicForm", {4: "phoneme", 2: (0, 15), 11: (30, 80), 1: (5, 30), 128: (40, 128)}),
    ("vocal", "FMVoices", {2: (0, 128), 4: (0, 20), 11: (30, 80), 1: (0, 40), 128: (40, 128)}),  # tilt > 20 aliases
    ("guitar", "Plucked", {}),
    ("guitar", "StifKarp", {4: (0, 128), 11: (60, 128), 1: (0, 10)}),   # pickup, sustain, stretch (> 10: inharmonic)
    ("guitar", "Mandolin", {2: (20, 128), 4: (10, 120), 11: (60, 128), 1: (0, 30), 128: (0, 128)}),
    ("mallet", "ModalBar", {16: [0, 1, 4, 6, 7], 2: (20, 128), 4: (10, 120), 8: (0, 60), 11: (20, 80), 1: (0, 40)}),
    ("mallet", "BandedWG", {16: [0, 1, 2, 3], 1: (100, 128)}),
    ("mallet", "TubeBell", {2: (20, 110), 4: (20, 110), 11: (20, 60), 1: (0, 20), 128: (40, 128)}),
    ("keyboard", "Rhodey", {2: (20, 110), 4: (20, 110), 11: (20, 60), 1: (0, 20), 128: (40, 128)}),
    ("keyboard", "Wurley", {2: (20, 110), 4: (20, 110), 11: (20, 60), 1: (0, 20), 128: (40, 128)}),
    ("organ", "BeeThree", {2: (0, 128), 4: (0, 128), 11: (20, 80), 1: (0, 60), 128: (40, 128)}),
    ("bass", "StifKarp", {4: (0, 50), 11: (90, 128), 1: (0, 10)}),
    ("bass", "Plucked", {}),
    ("bass", "Moog", {2: (5, 60), 4: (0, 40), 11: (20, 60), 1: (0, 10), 128: (64, 128)}),
    ("bass", "Simple", {2: (20, 70), 4: (100, 128), 11: (20, 80), 128: (64, 128)}),
    ("synth_lead", "Moog", {2: (30, 120), 4: (0, 100), 11: (20, 80), 1: (0, 40), 128: (64, 128)}),
    ("synth_lead", "Simple", {2: (50, 128), 4: (90, 128), 11: (20, 100), 128: (64, 128)}),
    ("synth_lead", "HevyMetl", {2: (20, 128), 4: (20, 128), 11: (20, 80), 1: (0, 40), 128: (40, 128)}),
]
# MIDI range over which each model sounds at the asked pitch (f0 by librosa.yin, 3-12 random instruments per model)
RANGE = {"Clarinet": (21, 96), "BlowHole": (21, 78), "Saxofony": (21, 96), "Flute": (36, 88), "BlowBotl": (21, 99),
         "PercFlut": (21, 98), "Brass": (60, 74), "Bowed": (21, 96), "VoicForm": (30, 78), "FMVoices": (48, 93),
         "Plucked": (21, 74), "StifKarp": (21, 72), "Mandolin": (24, 72), "ModalBar": (21, 99), "BandedWG": (21, 90),
         "TubeBell": (21, 96), "Rhodey": (21, 93), "Wurley": (21, 93), "BeeThree": (21, 84), "Moog": (21, 96),
         "Simple": (21, 70), "HevyMetl": (21, 93)}
# models that hold their tone while the note is on: one that dies after the attack did not speak, and its pitch is
# checked (pitch_ok)
SUSTAINED = {"Clarinet", "BlowHole", "Saxofony", "Flute", "BlowBotl", "PercFlut", "Brass", "Bowed", "VoicForm",
             "FMVoices", "BeeThree"}
# measured tuning error (semitones) of the waveguide models at 16 kHz, subtracted from the pitch sent; PercFlut's
# FM carrier is a fifth above the note
TUNE = {"BlowHole": ([21, 30, 39, 48, 57, 63, 69, 75, 78], [.09, .14, .24, .40, .68, .97, 1.38, 1.97, 2.31]),
        "Saxofony": ([21, 39, 48, 57, 63, 69, 75, 81, 87, 93, 96, 102], [-.03, -.09, -.13, -.26, -.37, -.52, -.71,
                                                                            -1.03, -1.41, -2.0, -2.29, -3.02]),
        "Bowed": ([21, 42, 54, 60, 66, 72, 78, 84, 90, 96], [.1, .2, .2, .3, .5, .7, 1.0, 1.55, 2.25, 3.4]),
        "Flute": ([36, 57, 72, 84, 90], [.4, .34, .43, .65, .94]),
        "PercFlut": ([21], [12 * np.log2(1.5)])}
# blown/bowed models squeak or stay mute at low pressure and overblow at high: velocity 0..127 is sent as lo..hi
VELOCITY = {"Brass": (70, 127), "Bowed": (50, 127), "Saxofony": (40, 85), "Clarinet": (35, 127), "BlowHole": (35, 127)}
PREROLL = 0.1   # controls settle (VoicForm's formant filters sweep to the new phoneme) before the note starts
# VoicForm CC 4: phoneme index (vowels eee..ooo, then rrr lll mmm nnn nng) + 32 x voice size (0.9, 1.0, 1.1, 1.2)
PHONEMES = list(range(15))
N_PER_FAMILY = 12


def available():
    if not shutil.which("stk-demo") or not (RAWWAVES / "sinewave.raw").exists():
        return "STK is not installed: apt-get install -y stk faketime"
    if not shutil.which("faketime"):
        return "faketime is missing (STK's noise seeds from the clock): apt-get install -y faketime"
    return None


def instruments(families, n_per_family, seed):
    n = N_PER_FAMILY if n_per_family is None else n_per_family
    out = []
    for family in families:
        specs = [s for s in SPECS if s[0] == family]
        for k in range(n if specs else 0):
            _, model, cc_ranges = specs[k % len(specs)]          # round robin: every model of the family appears
            rng = np.random.default_rng([seed, zlib.crc32(family.encode()), k])
            controls = {}
            for cc, spec in cc_ranges.items():
                if spec == "aperture":                # Saxofony speaks in tune only near stiffness + aperture = 124
                    controls[cc] = round(124 - controls[2] + float(rng.uniform(-4, 4)), 1)
                elif spec == "phoneme":
                    controls[cc] = int(rng.choice(PHONEMES)) + 32 * int(rng.integers(4))
                elif isinstance(spec, list):
                    controls[cc] = int(rng.choice(spec))
                else:
                    controls[cc] = round(float(rng.uniform(*spec)), 1)
            name = f"stk_{model}_{k:03d}"
            out.append({"family": family, "source": "synthetic", "unit": model, "name": name,
                        "params": {"model": model, "name": name, "controls": {str(c): v for c, v in controls.items()},
                                   "release_s": round(float(np.exp(rng.uniform(np.log(0.03), np.log(0.5)))), 3)}})
    return out


def _render_one(args):
    """One note in a fresh stk-demo process -> float64 array of n samples, held to the end (no release yet)."""
    model, controls, pitch, velocity, n, sr, clock, workdir = args
    stem = Path(workdir) / f"n{pitch}_{velocity}"
    sent = pitch - np.interp(pitch, *TUNE[model]) if model in TUNE else pitch
    lo, hi = VELOCITY.get(model, (0, 127))
    lines = ["ControlChange 0.0 1 44 0"]                        # the demo's reverb off
    lines += [f"ControlChange 0.0 1 {cc} {v}" for cc, v in controls.items()]
    lines += [f"NoteOn {PREROLL} 1 {sent:.2f} {lo + (hi - lo) * velocity / 127:.1f}",
              f"ControlChange {n / sr:.4f} 1 44 0", "ControlChange 0.001 1 44 0"]   # end of score just past n
    stem.with_suffix(".ski").write_text("\n".join(lines) + "\n")
    date = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(clock))
    subprocess.run(["faketime", "-f", date, "stk-demo", model, "-s", str(sr), "-om", str(stem.with_suffix(".mat")),
                    "-if", str(stem.with_suffix(".ski"))], cwd=workdir, env=dict(os.environ, TZ="UTC"),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    if not stem.with_suffix(".mat").exists():
        raise RuntimeError(f"stk-demo {model} wrote no output; check `stk-demo {model} -s {sr} -om x.mat -if x.ski`")
    y = scipy.io.loadmat(str(stem.with_suffix(".mat")))[stem.name].ravel().astype(np.float64)
    y = y[int(PREROLL * sr):]
    return np.pad(y, (0, max(0, n - len(y))))[:n]


def render_notes(params, notes, sr, dur, off, seed):
    model, n = params["model"], int(dur * sr)
    lo, hi = RANGE[model]
    controls = {int(c): v for c, v in params["controls"].items()}
    t = np.arange(n) / sr
    release = np.where(t < off, 1.0, np.exp(-(t - off) / params["release_s"]))
    todo = [k for k, (pitch, _) in enumerate(notes) if lo <= pitch <= hi]
    out = [None] * len(notes)
    with tempfile.TemporaryDirectory(prefix="stk_") as workdir, ThreadPoolExecutor(4) as pool:
        jobs = [(model, controls, notes[k][0], notes[k][1], n, sr,
                 978307200 + zlib.crc32(f"{seed}/{params['name']}/{notes[k][0]}/{notes[k][1]}".encode()) % 10 ** 8,
                 workdir) for k in todo]
        for k, y in zip(todo, pool.map(_render_one, jobs)):
            bad = is_garbage(y, sr, model in SUSTAINED) or (model in SUSTAINED and not pitch_ok(y, sr, notes[k][0]))
            out[k] = None if bad else y * release
    return out


if __name__ == "__main__":
    families = sys.argv[1].split(",") if len(sys.argv) > 1 else sorted({s[0] for s in SPECS})
    print_sanity_check(instruments, render_notes, families, 3)
