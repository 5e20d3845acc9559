"""
Extra instrument source for standins/render_nsynth.py: Csound 6 opcodes (waveguide, FM, FOF, modal, subtractive).

    python standins/render_nsynth.py --out DIR --sources csound --splits "train=csound:0.7;valid=csound:0.3" ...
    python standins/source_csound.py          # sanity check: peak, RMS envelope, centroid, f0 of a few notes per family

All of it is synthesis, so the NSynth source label is "synthetic" (NSynth labels how a sound was made).

    family      Csound units (= split units; parameters drawn at random per instrument)
    reed        wgclar, vco2 (pulse wave through a nasal band-pass, breath noise: double-reed-like)
    flute       wgflute, fmpercfl (FM flute; its carrier sits a fifth up, so notes are sent 7.02 semitones lower)
    brass       wgbrass, vco2 (saw through a moogladder whose cutoff opens with the envelope and velocity)
    string      wgbow, vco2 (detuned saw ensemble, slow attack)
    vocal       fof (5 formants of one of 20 voice/vowel sets of the Csound manual's formant table, vibrato,
                jitter), fmvoice
    guitar      pluck (Karplus-Strong), wgpluck2
    mallet      fmbell, mode (modal bar: marimba / vibraphone / glockenspiel / xylophone ratios, mallet hardness)
    keyboard    fmrhode, fmwurlie
    organ       fmb3, poscil (additive drawbars 16' .. 1' with tremolo)
    bass        pluck (dark), vco2 (saw / square through a decaying low-pass)
    synth_lead  vco2 (two detuned oscillators, resonant low-pass, vibrato), fmmetal
Csound's wg* and fm* opcodes are ports of STK's algorithms (Cook), so this source is close kin to
standins/source_stk.py: hold both out together when validating on an unseen source. Notes outside a unit's measured
range (RANGE), silent notes, NaN and noise-like renders come back as None (same checks as source_stk).

How: one .csd per instrument with every note as an i-statement in its own 4 s slot (p3 = note-off time, then a
linsegr release inside the slot), rendered by `csound -d -m0 -f -W -o out.wav x.csd` at sr=16000, nchnls=1,
0dbfs=1, and cut every 64,000 samples. Each note is its own instrument instance, so no state leaks between notes.

Install: apt-get install -y csound (the opcodes used are in the core package). Licence: LGPL-2.1+.
Reproducible: bit-identical for a seed (the orchestra's `seed` is drawn from seed and instrument).
"""
import shutil
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
import soundfile as sf

from render_common import is_garbage, pitch_ok, print_sanity_check

# formant table (Hz, dB, bandwidth Hz) of the Csound manual's FOF appendix: voice -> vowel -> 5 formants
FORMANTS = {
    "soprano": {"a": ([800, 1150, 2900, 3900, 4950], [0, -6, -32, -20, -50], [80, 90, 120, 130, 140]),
                "e": ([350, 2000, 2800, 3600, 4950], [0, -20, -15, -40, -56], [60, 100, 120, 150, 200]),
                "i": ([270, 2140, 2950, 3900, 4950], [0, -12, -26, -26, -44], [60, 90, 100, 120, 120]),
                "o": ([450, 800, 2830, 3800, 4950], [0, -11, -22, -22, -50], [70, 80, 100, 130, 135]),
                "u": ([325, 700, 2700, 3800, 4950], [0, -16, -35, -40, -60], [50, 60, 170, 180, 200])},
    "alto": {"a": ([800, 1150, 2800, 3500, 4950], [0, -4, -20, -36, -60], [80, 90, 120, 130, 140]),
             "e": ([400, 1600, 2700, 3300, 4950], [0, -24, -30, -35, -60], [60, 80, 120, 150, 200]),
             "i": ([350, 1700, 2700, 3700, 4950], [0, -20, -30, -36, -60], [50, 100, 120, 150, 200]),
             "o": ([450, 800, 2830, 3500, 4950], [0, -9, -16, -28, -55], [70, 80, 100, 130, 135]),
             "u": ([325, 700, 2530, 3500, 4950], [0, -12, -30, -40, -64], [50, 60, 170, 180, 200])},
    "tenor": {"a": ([650, 1080, 2650, 2900, 3250], [0, -6, -7, -8, -22], [80, 90, 120, 130, 140]),
              "e": ([400, 1700, 2600, 3200, 3580], [0, -14, -12, -14, -20], [70, 80, 100, 120, 120]),
              "i": ([290, 1870, 2800, 3250, 3540], [0, -15, -18, -20, -30], [40, 90, 100, 120, 120]),
              "o": ([400, 800, 2600, 2800, 3000], [0, -10, -12, -12, -26], [40, 80, 100, 120, 120]),
              "u": ([350, 600, 2700, 2900, 3300], [0, -20, -17, -14, -26], [40, 60, 100, 120, 120])},
    "bass": {"a": ([600, 1040, 2250, 2450, 2750], [0, -7, -9, -9, -20], [60, 70, 110, 120, 130]),
             "e": ([400, 1620, 2400, 2800, 3100], [0, -12, -9, -12, -18], [40, 80, 100, 120, 120]),
             "i": ([250, 1750, 2600, 3050, 3340], [0, -30, -16, -22, -28], [60, 90, 100, 120, 120]),
             "o": ([400, 750, 2400, 2600, 2900], [0, -11, -21, -20, -40], [40, 80, 100, 120, 120]),
             "u": ([350, 600, 2400, 2675, 2950], [0, -20, -32, -28, -36], [40, 80, 100, 120, 120])},
}
FOF = "\n".join(f"a{k} fof ampdb({{a{k}}} + 12 * (ivel - 1) * {int(k > 0)}), kf, {{f{k}}}, 0, {{b{k}}}, 0.003, 0.02, "
                f"0.007, 300, 1, 2, p3 + 1" for k in range(5)) + "\nasig = (a0 + a1 + a2 + a3 + a4) * 0.3"
VIB = "kf = ifreq * (1 + {vib} * oscili:k(1, {vibf}) * linseg:k(0, {vdel}, 0, 0.4, 1) + {jit} * randi:k(1, 9))\n"
FM = "asig {op} 0.3 + 0.6 * ivel, ifreq * {tr}, {c1}, {c2}, {vib}, {vibf}, 1, 1, 1, 1, 1"
# (family, unit, orchestra body computing asig from ifreq (Hz) and ivel (0..1), {parameter: (low, high) | [choices]})
UNITS = [
    ("reed", "wgclar", "asig wgclar 0.3 + 0.5 * ivel, ifreq, -{stiff}, {att}, 0.1, {noise}, {vibf}, {vib}, 1, 20",
     {"stiff": (0.15, 0.45), "att": (0.02, 0.15), "noise": (0.05, 0.3), "vibf": (4, 6), "vib": (0, 0.03)}),
    ("reed", "vco2", VIB + "asig vco2 0.4, kf, 2, {pw}\nasig += butbp(asig, {form}, {form} * 0.5) * {boost} + "
     "butbp(rand:a({noise}), ifreq * 3, ifreq)\nasig butterlp asig, limit(ifreq * (3 + 9 * ivel), 30, sr * 0.45)",
     {"pw": (0.15, 0.45), "form": (700, 1600), "boost": (1, 4), "noise": (0, 0.05), "att": (0.02, 0.08),
      "vib": (0, 0.006), "vibf": (4.5, 6), "vdel": (0.2, 0.6), "jit": (0, 0.002)}),    # double-reed-like pulse
    ("flute", "wgflute", "asig wgflute 0.3 + 0.5 * ivel, ifreq, {jet}, {att}, 0.1, {noise}, {vibf}, {vib}, 1, 20",
     {"jet": (0.22, 0.36), "att": (0.03, 0.15), "noise": (0.05, 0.25), "vibf": (4, 6), "vib": (0, 0.04)}),
    ("flute", "fmpercfl", FM.format(op="fmpercfl", tr=2 / 3, c1="{c1}", c2="{c2}", vib="{vib}", vibf="{vibf}"),
     {"c1": (0.5, 4), "c2": (0, 1), "vib": (0, 0.01), "vibf": (4, 6)}),
    ("brass", "wgbrass", "asig wgbrass 0.3 + 0.5 * ivel, ifreq, {tens}, {att}, {vibf}, {vib}, 1, 20",
     {"tens": (0.3, 0.5), "att": (0.02, 0.1), "vibf": (4, 6), "vib": (0, 0.01)}),
    ("brass", "vco2", VIB + "kcut linseg ifreq, {att}, ifreq * (2 + 8 * ivel * {bright}), 3, ifreq * (1.5 + 5 * ivel *"
     " {bright})\nasig moogladder vco2(0.5, kf), limit(kcut, 30, sr * 0.45), {res}",
     {"att": (0.03, 0.15), "bright": (0.4, 1), "res": (0, 0.3), "vib": (0, 0.005), "vibf": (4, 6), "vdel": (0.2, 0.6),
      "jit": (0, 0.002)}),
    ("string", "wgbow", "asig wgbow 0.3 + 0.5 * ivel, ifreq, {pres}, {pos}, {vibf}, {vib}, 1, 20",
     {"pres": (1.8, 3.2), "pos": (0.1, 0.2), "vibf": (4.5, 6), "vib": (0, 0.01)}),
    ("string", "vco2", VIB + "asig = vco2(0.3, kf * (1 - {det})) + vco2(0.3, kf) + vco2(0.3, kf * (1 + {det}))\n"
     "asig butterlp asig, limit(ifreq * (3 + 6 * ivel * {bright}), 30, sr * 0.45)",
     {"det": (0.001, 0.006), "bright": (0.3, 1), "vib": (0, 0.006), "vibf": (4.5, 6), "vdel": (0.1, 0.5),
      "jit": (0, 0.002), "att": (0.05, 0.3)}),
    ("vocal", "fof", VIB + FOF, {"voice": "formants", "vib": (0.004, 0.015), "vibf": (4.5, 6.5), "vdel": (0.1, 0.6),
                                 "jit": (0.001, 0.004), "att": (0.03, 0.15)}),
    ("vocal", "fmvoice", "asig fmvoice 0.3 + 0.6 * ivel, ifreq, {vowel}, {tilt}, {vib}, {vibf}, 1, 1, 1, 1, 1",
     {"vowel": (0, 64), "tilt": (0, 40), "vib": (0.002, 0.01), "vibf": (4.5, 6.5), "att": (0.03, 0.15)}),
    ("guitar", "pluck", "asig pluck 0.3 + 0.6 * ivel, ifreq, ifreq, 0, 1\n"
     "asig tone asig, ifreq * {bright} * (1 + ivel)", {"bright": (3, 20)}),
    ("guitar", "wgpluck2", "asig wgpluck2 {plk}, 0.3 + 0.6 * ivel, ifreq, {pick}, {refl}",
     {"plk": (0.05, 0.5), "pick": (0.05, 0.5), "refl": (0.1, 0.6)}),
    ("mallet", "fmbell", FM.format(op="fmbell", tr=1, c1="{c1}", c2="{c2}", vib="{vib}", vibf="{vibf}")
     + ", {sus}", {"c1": (0.5, 4), "c2": (0, 1), "vib": (0, 0.003), "vibf": (4, 6), "sus": (0.5, 4)}),
    ("mallet", "mode", "aexc mpulse 1, 0\naexc tone aexc, 500 + 7000 * {hard} * ivel\nasig = 0\n" + "\n".join(
        f"asig += mode(aexc, ifreq * {{r{k}}}, ifreq * {{r{k}}} * {{t60}} * {0.6 ** k} * 0.45) * "
        f"(ifreq * {{r{k}}} < sr * 0.45 ? {0.7 ** k} : 0)" for k in range(4)),
     {"bar": "ratios", "hard": (0.2, 1), "t60": (0.3, 3)}),
    ("keyboard", "fmrhode", FM.format(op="fmrhode", tr=1, c1="{c1}", c2="{c2}", vib="{vib}", vibf="{vibf}"),
     {"c1": (0.2, 1), "c2": (0, 1), "vib": (0, 0.005), "vibf": (4, 6)}),    # c1 > 1: sub-octave sideband
    ("keyboard", "fmwurlie", FM.format(op="fmwurlie", tr=1, c1="{c1}", c2="{c2}", vib="{vib}", vibf="{vibf}"),
     {"c1": (0.3, 2.5), "c2": (0, 1), "vib": (0, 0.005), "vibf": (4, 6)}),
    ("organ", "fmb3", FM.format(op="fmb3", tr=1, c1="{c1}", c2="{c2}", vib="{vib}", vibf="{vibf}"),
     {"c1": (0, 3), "c2": (0, 1), "vib": (0, 0.01), "vibf": (5, 7)}),
    ("organ", "poscil", "asig = 0\n" + "\n".join(
        f"asig += poscil(ifreq * {r} < sr * 0.45 ? {{d{k}}} : 0, ifreq * {r}, 1)"
        for k, r in enumerate([0.5, 1.5, 1, 2, 3, 4, 5, 6, 8])) + "\nasig *= 0.2 * (1 + {trem} * oscili:k(1, {tremf}))",
     {**{f"d{k}": (0, 1) for k in range(3, 9)}, "d0": (0, 0.4), "d1": (0, 0.3), "d2": (0.6, 1), "trem": (0, 0.3),
      "tremf": (0.8, 7)}),     # the 8' drawbar leads, or the sub-octave would carry the pitch
    ("bass", "pluck", "asig pluck 0.3 + 0.6 * ivel, ifreq, ifreq, 0, 1\nasig tone asig, ifreq * {bright} * (1 + ivel)",
     {"bright": (1.5, 6)}),
    ("bass", "vco2", "kcut expseg ifreq * (2 + 10 * ivel * {bright}), {fdec}, ifreq * 1.2 + 20\n"
     "asig moogladder vco2(0.5, ifreq, {wave}), limit(kcut, 30, sr * 0.45), {res}",
     {"wave": [0, 10, 12], "bright": (0.2, 1), "fdec": (0.1, 1.5), "res": (0, 0.6)}),
    ("synth_lead", "vco2", VIB + "asig = vco2(0.3, kf, {wave}) + vco2(0.3, kf * (1 + {det}), {wave})\n"
     "asig moogladder asig, limit(ifreq * (2 + 12 * ivel * {bright}), 30, sr * 0.45), {res}",
     {"wave": [0, 10, 12], "det": (0.001, 0.01), "bright": (0.2, 1), "res": (0, 0.7), "vib": (0, 0.01),
      "vibf": (4, 7), "vdel": (0, 0.5), "jit": (0, 0.002), "att": (0.003, 0.05)}),
    ("synth_lead", "fmmetal", FM.format(op="fmmetal", tr=1, c1="{c1}", c2="{c2}", vib="{vib}", vibf="{vibf}"),
     {"c1": (0.5, 3), "c2": (0, 1), "vib": (0, 0.01), "vibf": (4, 7)}),
]
BARS = {"marimba": [1, 3.99, 10.65, 20.3], "vibraphone": [1, 4.0, 10.0, 19.0], "glockenspiel": [1, 2.71, 5.15, 8.17],
        "xylophone": [1, 3.0, 6.2, 9.9]}
# measured MIDI range over which each unit sounds at the asked pitch (f0 by librosa.yin over 2-4 random instruments)
RANGE = {"wgclar": (21, 104), "wgflute": (42, 85), "fmpercfl": (21, 94), "wgbrass": (62, 74), "wgbow": (21, 90),
         "fof": (21, 88), "fmvoice": (57, 100), "pluck": (21, 100), "wgpluck2": (21, 72), "fmbell": (21, 96),
         "mode": (21, 104), "fmrhode": (21, 96), "fmwurlie": (21, 84), "fmb3": (21, 93), "poscil": (21, 93),
         "vco2": (21, 96), "fmmetal": (21, 96)}
# measured tuning error (semitones) of the waveguide opcodes at 16 kHz, subtracted from the pitch sent
TUNE = {"wgflute": ([42, 48, 57, 66, 75, 84], [.75, .7, .6, .55, .56, .74]),     # +-0.4 with the jet
        "wgbow": ([21, 30, 39, 48, 57, 63, 69, 75, 81, 87, 90],
                  [.04, .07, .1, .19, .3, .43, .61, .87, 1.26, 1.87, 2.23]),
        "wgpluck2": ([21, 45, 54, 60, 66, 72], [.1, -.06, -.17, -.35, -.54, -.59])}
# units that hold their tone while the note is on: checked for dying after the attack and for pitch (pitch_ok)
SUSTAINED = {"reed/wgclar", "reed/vco2", "flute/wgflute", "flute/fmpercfl", "brass/wgbrass", "brass/vco2",
             "string/wgbow", "string/vco2", "vocal/fof", "vocal/fmvoice", "organ/fmb3", "organ/poscil"}
N_PER_FAMILY = 12

HEADER = """<CsoundSynthesizer>
<CsInstruments>
sr = {sr}
ksmps = 8
nchnls = 1
0dbfs = 1
seed {seed}
gisine ftgen 1, 0, 16384, 10, 1
gisigm ftgen 2, 0, 1024, 19, 0.5, 0.5, 270, 0.5
instr 1
ifreq = p4
ivel = p5
aenv linsegr 0, {att}, 1, p3 - {att}, 1, {release}, 0
{body}
out asig * aenv
endin
</CsInstruments>
<CsScore>
{score}
</CsScore>
</CsoundSynthesizer>
"""


def available():
    if not shutil.which("csound"):
        return "Csound is not installed: apt-get install -y csound"
    return None


def instruments(families, n_per_family, seed):
    n = N_PER_FAMILY if n_per_family is None else n_per_family
    out = []
    for family in families:
        units = [u for u in UNITS if u[0] == family]
        for k in range(n if units else 0):
            _, unit, _, ranges = units[k % len(units)]              # round robin: every unit of the family appears
            rng = np.random.default_rng([seed, zlib.crc32(family.encode()), k, 7])
            values = {}
            for name, spec in ranges.items():
                if spec == "formants":
                    voice, vowel = rng.choice(list(FORMANTS)), rng.choice(list("aeiou"))
                    f, a, b = FORMANTS[voice][vowel]
                    values.update({f"f{j}": f[j] for j in range(5)} | {f"a{j}": a[j] for j in range(5)}
                                  | {f"b{j}": b[j] for j in range(5)}, voice=f"{voice}-{vowel}")
                elif spec == "ratios":
                    bar = str(rng.choice(list(BARS)))
                    values.update({f"r{j}": r for j, r in enumerate(BARS[bar])}, bar=bar)
                elif isinstance(spec, list):
                    values[name] = int(rng.choice(spec))
                else:
                    values[name] = round(float(rng.uniform(*spec)), 4)
            values.setdefault("att", 0.003)                       # attack of the note envelope (linsegr)
            name = f"csound_{family}_{unit}_{k:03d}"
            out.append({"family": family, "source": "synthetic", "unit": unit, "name": name,
                        "params": {"family": family, "unit": unit, "name": name, "values": values,
                                   "release_s": round(float(np.exp(rng.uniform(np.log(0.03), np.log(0.5)))), 3)}})
    return out


def render_notes(params, notes, sr, dur, off, seed):
    family, unit, values = params["family"], params["unit"], params["values"]
    body = next(u[2] for u in UNITS if u[0] == family and u[1] == unit).format(**values)
    lo, hi = RANGE[unit]
    todo = [k for k, (pitch, _) in enumerate(notes) if lo <= pitch <= hi]
    sent = {k: notes[k][0] - (np.interp(notes[k][0], *TUNE[unit]) if unit in TUNE else 0.0) for k in todo}
    score = "\n".join(f"i1 {j * dur} {off} {440 * 2 ** ((sent[k] - 69) / 12):.4f} {notes[k][1] / 127:.4f}"
                      for j, k in enumerate(todo)) + "\ne\n"
    orc_seed = zlib.crc32(f"{seed}/{params['name']}".encode()) % 2 ** 31 + 1
    csd = HEADER.format(sr=sr, seed=orc_seed, att=values["att"], release=params["release_s"], body=body, score=score)
    out = [None] * len(notes)
    if not todo:
        return out
    with tempfile.TemporaryDirectory(prefix="csound_") as workdir:
        (Path(workdir) / "x.csd").write_text(csd)
        proc = subprocess.run(["csound", "-d", "-m0", "--nodisplays", "-f", "-W", "-o", "out.wav", "x.csd"],
                              cwd=workdir, capture_output=True, text=True)
        if proc.returncode != 0 or not (Path(workdir) / "out.wav").exists():
            raise RuntimeError(f"csound failed for {params['name']}: {proc.stderr[-600:]}")
        y, _ = sf.read(Path(workdir) / "out.wav", dtype="float64")
    n = int(dur * sr)
    y = np.pad(y, (0, max(0, n * len(todo) - len(y))))
    for j, k in enumerate(todo):
        note = y[j * n: (j + 1) * n]
        held = f"{family}/{unit}" in SUSTAINED
        bad = is_garbage(note, sr, held) or (held and not pitch_ok(note, sr, notes[k][0]))
        out[k] = None if bad else note
    return out


if __name__ == "__main__":
    families = sys.argv[1].split(",") if len(sys.argv) > 1 else sorted({u[0] for u in UNITS})
    print_sanity_check(instruments, render_notes, families, 2)
