"""
amsynth's preset banks as an instrument source for standins/render_nsynth.py (--sources amsynth, source "synthetic").

What it renders: one instrument per named preset of the amsynth banks (/usr/share/amsynth/banks/*.bank: 28 banks,
3,482 presets, 3,301 distinct parameter sets; two-oscillator analogue-style subtractive patches), played by the
amsynth VST (/usr/lib/vst/amsynth_vst.so) inside DawDreamer. Each note is rendered by a freshly loaded plugin: the
preset's 41 parameters are set, note-on at 0 s, note-off at 3 s, 4 s rendered. A fresh plugin per note because
nothing else clears amsynth's reverb tail and voices between notes (a second render of the same processor starts
with the first one's tail); it costs ~0.3 s per note, almost all of it the plugin load.

Presets -> plugin parameters: a bank is plain text ("<preset> <name> NAME", then "<parameter> NAME VALUE" lines) with
values in amsynth's own units (e.g. filter_cutoff -0.5..1.5, osc2_pitch -12..12 semitones). The VST's 41 parameters
carry the same names; VST set_parameter takes value 0..1, which amsynth maps linearly onto [min, max] of the
parameter (Parameter::setNormalisedValue), so each value is set as (value - min) / (max - min) with min/max from
PARAMS below (amsynth's ParameterSpec table). Checked against the plugin: the display value get_parameter_text
reports after setting equals what amsynth's law (linear / exponential / power, PARAMS) gives for the bank value,
for every parameter of every 50th preset and for 0, 0.3 and 1 on each parameter (python standins/source_amsynth.py
--check prints that check first); and a lower filter_cutoff gives a darker note. Parameters a (older) bank leaves
out take amsynth's defaults. One deliberate change: portamento_time is set to 0 (a single note has no note to glide
from).

Families come from preset names only (split into words at CamelCase and digits; rules in NAME_RULES). A name with
pad/fx/noise/drum/perc/arp/sweep/chord (SKIP) is skipped, and so is one that names two families (except bass with
guitar/pluck words, which is bass) or none:
    bass -> bass   lead/solo -> synth_lead   brass -> brass   string/violin/cello -> string   organ -> organ
    piano/epiano/rhodes/keys/clav -> keyboard   bell/vibe/marimba/glock -> mallet   flute/pipe -> flute
    choir/vox/voice/vocal -> vocal   pluck/guitar -> guitar
509 of the 3,301 distinct presets are labelled (a preset stored twice is one instrument): keyboard 123, bass 76,
synth_lead 68, organ 54, mallet 52, guitar 38, vocal 28, string 25, brass 24, flute 21 (16 to 75 units per family;
`python standins/source_amsynth.py --families`). No reed family. Split unit = the preset name without numbers and
punctuation (lower case, as standins/source_zyn.py), so "PianoX-15" and "PianoX" share a unit. "distortion" quality:
a name with dist/overdrive/crunch/fuzz/grit or distortion_crunch >= 0.5.

Notes kept: not is_garbage (NaN, silence, click only, noise-like; render_common), pitch_ok (render_common) and the
stricter on_pitch (>= 85 % of the power on harmonics of the asked pitch, so a louder second oscillator an octave or
fifth below or a few semitones off fails; odd harmonics not negligible, so not an octave up) over 0.5-2.5 s, or over
0.05-2.05 s when the note has died away by 0.5 s; others are returned as None (dropped and counted as silent).
Presets whose second oscillator sounds at another pitch (osc2_range/osc2_pitch/osc2_detune), ring-modulated or
synced ones lose many or all notes that way (~25 % of the notes in a sample of 80 labelled presets); no transposition
is attempted.

Install:  apt-get install -y amsynth      pip install dawdreamer
Licences: amsynth (plugin and banks) GPL-2+; DawDreamer GPL-3 (imported only by the render child process).

Process isolation: the plugin renders in a child process of its own (this file run with --child, one per calling
process, fed JSON jobs on stdin; render_common.child_render), like the other DawDreamer sources. The child points
HOME and XDG_* at a temporary folder, so no user amsynth config (tuning files, banks) changes the sound.
Reproducibility: bit-identical. A freshly loaded plugin renders a note the same every time (checked for noise
oscillators and random LFOs too), and every note gets a fresh plugin, so a note does not depend on the notes, presets
or worker order before it. (amsynth's own randomness is not seeded from --seed; the seed only picks notes/presets.)
Sanity check by numbers: python standins/source_amsynth.py --check
"""
import importlib.util
import os
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

from render_common import child_render, is_garbage, pick_per_family, pitch_ok, preset_words as words, serve_child

PLUGIN = Path("/usr/lib/vst/amsynth_vst.so")
BANKS = Path("/usr/share/amsynth/banks")

# name -> (default, min, max, step, law, base, offset): amsynth's parameter table; display value = offset + base*v
# (lin), offset + base**v (exp), offset + v**base (pow); VST value = (v - min) / (max - min)
PARAMS = {
    "amp_attack": (0, 0, 2.5, 0, "pow", 3, 0.0005), "amp_decay": (0, 0, 2.5, 0, "pow", 3, 0.0005),
    "amp_sustain": (1, 0, 1, 0, "lin", 1, 0), "amp_release": (0, 0, 2.5, 0, "pow", 3, 0.0005),
    "osc1_waveform": (2, 0, 4, 1, "lin", 1, 0), "filter_attack": (0, 0, 2.5, 0, "pow", 3, 0.0005),
    "filter_decay": (0, 0, 2.5, 0, "pow", 3, 0.0005), "filter_sustain": (1, 0, 1, 0, "lin", 1, 0),
    "filter_release": (0, 0, 2.5, 0, "pow", 3, 0.0005), "filter_resonance": (0, 0, 0.97, 0, "lin", 1, 0),
    "filter_env_amount": (0, -16, 16, 0, "lin", 1, 0), "filter_cutoff": (1.5, -0.5, 1.5, 0, "exp", 16, 0),
    "osc2_detune": (0, -1, 1, 0, "exp", 1.25, 0), "osc2_waveform": (2, 0, 4, 1, "lin", 1, 0),
    "master_vol": (0.67, 0, 1, 0, "pow", 2, 0), "lfo_freq": (0, 0, 7.5, 0, "pow", 2, 0),
    "lfo_waveform": (0, 0, 6, 1, "lin", 1, 0), "osc2_range": (0, -3, 4, 1, "exp", 2, 0),
    "osc_mix": (0, -1, 1, 0, "lin", 1, 0), "freq_mod_amount": (0, 0, 1.25992105, 0, "pow", 3, -1),
    "filter_mod_amount": (-1, -1, 1, 0, "lin", 1, 0), "amp_mod_amount": (-1, -1, 1, 0, "lin", 1, 0),
    "osc_mix_mode": (0, 0, 1, 0, "lin", 1, 0), "osc1_pulsewidth": (1, 0, 1, 0, "lin", 1, 0),
    "osc2_pulsewidth": (1, 0, 1, 0, "lin", 1, 0), "reverb_roomsize": (0, 0, 1, 0, "lin", 1, 0),
    "reverb_damp": (0, 0, 1, 0, "lin", 1, 0), "reverb_wet": (0, 0, 1, 0, "lin", 1, 0),
    "reverb_width": (1, 0, 1, 0, "lin", 1, 0), "distortion_crunch": (0, 0, 0.9, 0, "lin", 1, 0),
    "osc2_sync": (0, 0, 1, 1, "lin", 1, 0), "portamento_time": (0, 0, 1, 0, "lin", 1, 0),
    "keyboard_mode": (0, 0, 2, 1, "lin", 1, 0), "osc2_pitch": (0, -12, 12, 1, "lin", 1, 0),
    "filter_type": (0, 0, 4, 1, "lin", 1, 0), "filter_slope": (1, 0, 1, 1, "lin", 1, 0),
    "freq_mod_osc": (0, 0, 2, 1, "lin", 1, 0), "filter_kbd_track": (1, 0, 1, 0, "lin", 1, 0),
    "filter_vel_sens": (1, 0, 1, 0, "lin", 1, 0), "amp_vel_sens": (1, 0, 1, 0, "lin", 1, 0),
    "portamento_mode": (0, 0, 1, 0, "lin", 1, 0)}
OVERRIDE = {"portamento_time": 0.0}

SKIP = r"pad|fx|noise|drum|perc|arp|sweep|chord|kick|two voices"   # "two voices": synth polyphony, not singing
NAME_RULES = [   # (regex on the lower-case words of the name, family)
    (r"bass(?!oon)", "bass"),
    (r"\blead|\bsolo", "synth_lead"),
    (r"brass", "brass"),
    (r"string|violin|cello", "string"),
    (r"organ(?!ic)", "organ"),
    (r"piano|\be ?p\b|rhodes|\bkeys\b|\bclav", "keyboard"),
    (r"\bbells?\b|\bvibes?\b|\bvibraphone|marimba|glock", "mallet"),
    (r"flute|(?<!metal )(?<!hanging )(?<!rusty )\bpipes?\b(?! leak)", "flute"),   # not struck/noisy pipes
    (r"choir|\bvox\b|\bvoices?\b|\bvocal", "vocal"),
    (r"pluck|guitar", "guitar"),
]
DISTORTION = r"dist|overdrive|crunch|fuzz|grit"


def name_words(name):
    """Name split at CamelCase and digits, lower case: "WetBassXit" -> "wet bass xit", "EPiano2" -> "e piano"."""
    name = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    name = re.sub(r"([A-Z])([A-Z][a-z])", r"\1 \2", name)
    return words(name)


def preset_family(name):
    """Family of a preset from its name, or None when it can't be labelled conservatively."""
    n = name_words(name)
    if re.search(SKIP, n):
        return None
    if re.search(r"12 ?string", name.lower()):
        return "guitar"
    found = {family for rule, family in NAME_RULES if re.search(rule, n)}
    if "bass" in found and found <= {"bass", "guitar"}:
        return "bass"
    return found.pop() if len(found) == 1 else None


def read_banks():
    """-> [{"bank": file name, "index": k, "name": str, "values": {parameter: value}}] for every preset, in file
    order (banks sorted by name)."""
    presets = []
    for path in sorted(BANKS.glob("*.bank")):
        index = -1
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("<preset> <name>"):
                index += 1
                presets.append({"bank": path.name, "index": index, "name": line[len("<preset> <name>"):].strip(),
                                "values": {}})
            elif line.startswith("<parameter>") and index >= 0:
                _, key, value = line.split()
                presets[-1]["values"][key] = float(value)
    return presets


def full_values(values):
    """All 41 parameters in amsynth's units: the bank's values, amsynth's defaults for missing ones, OVERRIDE."""
    return {k: float(OVERRIDE.get(k, values.get(k, spec[0]))) for k, spec in PARAMS.items()}


def normalised(key, value):
    _, lo, hi = PARAMS[key][:3]
    return (min(max(value, lo), hi) - lo) / (hi - lo)


def display_value(key, value):
    """What amsynth shows (its control value) for a parameter value: for checking the mapping against the plugin."""
    _, lo, hi, step, law, base, offset = PARAMS[key]
    value = min(max(value, lo), hi)
    if step:
        value = lo + round((value - lo) / step) * step
    return offset + (base * value if law == "lin" else base ** value if law == "exp" else value ** base)


def available():
    if not PLUGIN.is_file() or not BANKS.is_dir():
        return f"amsynth not found ({PLUGIN}, {BANKS}): apt-get install -y amsynth"
    if importlib.util.find_spec("dawdreamer") is None:
        return "python package 'dawdreamer' missing: pip install dawdreamer"
    return None


def labelled_presets():
    """Every distinct parameter set once (first bank/position wins), with its family (None: unlabelled)."""
    seen, out = set(), []
    for p in read_banks():
        key = tuple(sorted(full_values(p["values"]).items()))
        if key in seen:
            continue
        seen.add(key)
        out.append(dict(p, family=preset_family(p["name"])))
    return out


def instruments(families, n_per_family, seed):
    by_family = {}
    for p in labelled_presets():
        if p["family"] in families:
            distortion = bool(re.search(DISTORTION, name_words(p["name"]))) or \
                full_values(p["values"])["distortion_crunch"] >= 0.5
            by_family.setdefault(p["family"], []).append({
                "family": p["family"], "source": "synthetic", "unit": words(p["name"]),
                "name": f"{p['bank']}#{p['index']}/{p['name']}",
                "params": {"bank": p["bank"], "index": p["index"], "name": p["name"], "distortion": distortion}})
    return pick_per_family(by_family, n_per_family, seed)


def on_pitch(seg, sr, pitch):
    """Stricter than pitch_ok for two-oscillator patches: >= 85 % of the power in 0.3-12.5 x f0 within 0.1 f0 (+1 %
    per harmonic number) of harmonics 1-12, so a second oscillator an octave/fifth below or a few semitones away
    fails; and the odd harmonics hold >= 10 % of the even ones' power (not an oscillator an octave up)."""
    power = np.abs(np.fft.rfft(seg * np.hanning(len(seg)))) ** 2
    h = np.fft.rfftfreq(len(seg), 1 / sr) / (440.0 * 2 ** ((pitch - 69) / 12))
    k = np.round(h)
    band = (h > 0.3) & (h < 12.5)
    harmonic = band & (k >= 1) & (np.abs(h - k) < 0.1 + 0.01 * k)
    if power[band].sum() <= 0 or power[harmonic].sum() < 0.85 * power[band].sum():
        return False
    return bool(power[harmonic & (k % 2 == 1)].sum() >= 0.1 * power[harmonic & (k % 2 == 0)].sum())


def note_ok(y, sr, pitch):
    """Not garbage (render_common.is_garbage), and on the asked pitch (render_common.pitch_ok and on_pitch) over
    0.5-2.5 s, or over 0.05-2.05 s for a note that has died away by 0.5 s."""
    if y is None or is_garbage(y, sr):
        return False
    hop = sr // 10
    env = np.sqrt((y[: len(y) // hop * hop].reshape(-1, hop) ** 2).mean(1))
    if env[5:25].max() < 0.05 * env.max():       # decayed: check the early part (pitch_ok looks at 0.5-2.5 s)
        y = np.concatenate([np.zeros(sr // 2 - sr // 20), y])
    return pitch_ok(y, sr, pitch) and on_pitch(y[sr // 2: int(2.5 * sr)], sr, pitch)


def render_notes(params, notes, sr, dur, off, seed):
    """Render every note of one preset in the plugin's child process; None for a rejected note (see note_ok)."""
    job = {"bank": params["bank"], "index": int(params["index"]), "name": params["name"],
           "notes": [[int(p), int(v)] for p, v in notes], "sr": int(sr), "dur": float(dur), "off": float(off)}
    ys = child_render(__file__, job, "amsynth", f"amsynth preset {params['bank']}#{params['index']}")
    return [y if note_ok(y, sr, p) else None for y, (p, _) in zip(ys, notes)]


# ---- the plugin side: runs only in the child process (or in --check) ----
_banks = {}


def preset_values(bank, index, name):
    if bank not in _banks:
        _banks[bank] = [p for p in read_banks() if p["bank"] == bank]
    preset = _banks[bank][index]
    if preset["name"] != name:
        raise ValueError(f"{bank} preset {index} is '{preset['name']}', expected '{name}'")
    return full_values(preset["values"])


def fresh_plugin(sr):
    import dawdreamer
    engine = dawdreamer.RenderEngine(sr, 256)
    synth = engine.make_plugin_processor("amsynth", str(PLUGIN))
    engine.load_graph([(synth, [])])
    names = [d["name"] for d in synth.get_plugin_parameters_description()]
    if sorted(names) != sorted(PARAMS):
        raise RuntimeError(f"unexpected amsynth parameters: {sorted(set(names) ^ set(PARAMS))}")
    return engine, synth, names


def render_job(job):
    """-> float32 array (notes, dur * sr): each note from a freshly loaded plugin with the preset set."""
    sr, n_out = job["sr"], int(round(job["dur"] * job["sr"]))
    values = dict(preset_values(job["bank"], job["index"], job["name"]), **job.get("override", {}))   # tests
    out = np.zeros((len(job["notes"]), n_out), np.float32)
    for k, (pitch, velocity) in enumerate(job["notes"]):
        engine, synth, names = fresh_plugin(sr)
        for i, key in enumerate(names):
            synth.set_parameter(i, normalised(key, values[key]))
        synth.add_midi_note(pitch, velocity, 0.0, job["off"])
        engine.render(job["dur"])
        audio = engine.get_audio().mean(0)[:n_out]
        out[k, : len(audio)] = audio
    return out


def hermetic_home(tmp):
    for var in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        os.environ[var] = tmp


def child_main():
    with tempfile.TemporaryDirectory(prefix="amsynth_") as tmp:
        hermetic_home(tmp)
        serve_child(render_job)


def check_mapping():
    """Set parameters through the VST and compare the plugin's displayed values with PARAMS -> mismatch count."""
    _, synth, names = fresh_plugin(16000)
    bad = 0
    for i, key in enumerate(names):
        for x in (0.0, 0.3, 1.0):
            synth.set_parameter(i, x)
            lo, hi = PARAMS[key][1:3]
            want, got = display_value(key, lo + x * (hi - lo)), float(synth.get_parameter_text(i))
            bad += abs(want - got) > 2e-3 * max(1.0, abs(want))
    presets = read_banks()
    for p in presets[::50]:
        values = full_values(p["values"])
        for i, key in enumerate(names):
            synth.set_parameter(i, normalised(key, values[key]))
        for i, key in enumerate(names):
            want, got = display_value(key, values[key]), float(synth.get_parameter_text(i))
            if abs(want - got) > 2e-3 * max(1.0, abs(want)):
                bad += 1
                print(f"mismatch: {p['bank']}#{p['index']} {p['name']}: {key} {values[key]} -> {got}, want {want}")
    print(f"parameter mapping: {bad} mismatches ({len(names)} parameters x 3 values, {len(presets[::50])} presets)")
    return bad


def family_counts():
    from collections import Counter
    presets = labelled_presets()
    fams = Counter(p["family"] for p in presets if p["family"])
    units = {f: len({words(p["name"]) for p in presets if p["family"] == f}) for f in fams}
    print(f"{len(presets)} distinct presets, {sum(fams.values())} labelled:")
    for f, n in sorted(fams.items()):
        print(f"    {f:10s} {n:4d} presets  {units[f]:4d} units")


if __name__ == "__main__":
    if "--child" in sys.argv:
        child_main()
    elif "--families" in sys.argv:
        family_counts()
    elif "--check" in sys.argv:
        missing = available()
        if missing:
            sys.exit(missing)
        with tempfile.TemporaryDirectory(prefix="amsynth_") as tmp:
            hermetic_home(tmp)
            bad = check_mapping()
        from render_common import print_sanity_check
        family_counts()
        print_sanity_check(instruments, render_notes, sorted({f for _, f in NAME_RULES}), 2)
        sys.exit(1 if bad else 0)
    else:
        sys.exit("usage: python standins/source_amsynth.py --check | --families  (render_nsynth.py runs it as --child)")
