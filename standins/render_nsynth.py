"""
Render an NSynth-format stand-in dataset ("jsonwav" layout) from General-MIDI SoundFonts plus synthetic patches.

    python standins/render_nsynth.py --out /work/data/nsynth_proxy

Layout (like NSynth):
    <out>/<split>/examples.json          {note_str: {13 NSynth keys}}
    <out>/<split>/audio/<note_str>.wav    4 s, 16 kHz, 16-bit mono PCM, canonical 44-byte header (128,044 bytes)
    <out>/dataset_info.json               provenance, fonts, split rule, instruments, counts, command
note_str = <family>_<source>_<NNN>-<pitch:03d>-<velocity:03d>, e.g. guitar_acoustic_001-060-100.

Each note: note-on at 0 s, note-off at 3 s, 4 s rendered (tinysoundfont, one SoundFont per Synth, reset before every
note, so a note never depends on the one before). Loudness is normalised like NSynth: every note's peak is set to a
random value in [0.55, 1.0), drawn from (seed, instrument, pitch, velocity). Silent renders (the preset has no
sample for that key) are dropped and counted. Pitches: MIDI 21..108 on a grid of --pitch_step with a random offset per
instrument (jitter), wherever the preset sounds -- far outside the acoustic range too, like NSynth.

Instruments and labels
    SoundFont instrument = (font file, bank, GM program). Family and source come from GM_TABLE below.
    Ambiguous programs (accordion, harmonica, harp, timpani, ethnic plucks ...) are off unless --include_ambiguous.
    Pads, effects, percussion (88-103, 112-127) and orchestra hit (55) are never used.
    The OPL-3 FM font synthesises every preset: its source is "synthetic" whatever the program.
    Synthetic instrument = a random patch of standins/synth_patches.py (source "synthetic"), --synthetic_per_family
    each.

Splits are instrument-disjoint and never split by font file: the unit that goes to one split is
    (sample lineage, GM program)  for SoundFonts  -- all fonts of a lineage and all banks of that program together
    (synthetic, family, k)        for synthetic patches.
Lineages: fluid = FluidR3_GM / FluidR3Mono / MuseScore_General (share the Fluid samples); timgm = TimGM6mb + csound's
sf_GMbank (shared samples); opl3 = OPL-3 FM; synthetic = the generator; any other font = its own lineage (file stem).
--splits "train=fluid,opl3,synthetic:0.8;valid=timgm:0.5,synthetic:0.1;test=timgm:0.5,synthetic:0.1"
means: per lineage and family, the units are shuffled (seeded) and cut into consecutive chunks with those fractions,
in split order (a lineage without a fraction takes 1.0). Fractions of one lineage must sum to <= 1.

Heuristic qualities (NSynth bit order bright, dark, distortion, fast_decay, long_release, multiphonic, nonlinear_env,
percussive, reverb, tempo-synced), computed from the rendered note (frame RMS envelope, hop 256):
    bright        mean spectral centroid over 0.1-2.9 s > 2500 Hz
    dark          mean spectral centroid over 0.1-2.9 s < 500 Hz
    distortion    program 29/30 (overdriven / distortion guitar) or a synthetic patch with drive
    fast_decay    envelope 1 s after the peak is 26 dB below the peak
    long_release  envelope 0.3-0.6 s after note-off is > 0.1 x the envelope just before note-off (and audible)
    nonlinear_env after the peak the envelope rises again by > 6 dB (tremolo, swells)
    percussive    peak within 20 ms and envelope at 0.3 s below half the peak
    multiphonic, reverb, tempo-synced: always 0 (tinysoundfont adds no reverb/chorus; no tempo-synced patches)
"""
import argparse
import json
import os
import shlex
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from render_common import clean_synth, key_seed, parse_splits, resolve_fonts, stereo_to_mono

ap = argparse.ArgumentParser(description=__doc__.split("\n")[1], formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--out", required=True, help="output dataset root")
ap.add_argument("--fonts", nargs="*", default=None,
                help="SoundFont paths, optionally PATH=LINEAGE; default: every known GM font installed "
                     "under /usr/share/sounds/sf2 and sf3")
ap.add_argument("--splits", default="train=fluid,opl3,synthetic:0.8;valid=timgm:0.5,synthetic:0.1;"
                                    "test=timgm:0.5,synthetic:0.1", help="split rule, see the module docstring")
ap.add_argument("--synthetic_per_family", type=int, default=40, help="synthetic patches per family (0: none)")
ap.add_argument("--sources", default="",
                help="extra instrument sources, each its own lineage (name it in --splits): some of stk, csound, "
                     "zyn, faust, lmms, amsynth, sfz, philharmonia (standins/source_<name>.py; install steps in "
                     "standins/README.txt)")
ap.add_argument("--sfz_libs", default="",
                help="for --sources sfz: fetched sample libraries, PATH[=FAMILY[:SOURCE]],... (a library folder, a "
                     "folder of them, or PROGRAM.sfz=FAMILY); see standins/source_sfz.py")
ap.add_argument("--philharmonia_dir", default="",
                help="for --sources philharmonia: the fetched philharmonia-samples folder (holding audio/)")
ap.add_argument("--source_instruments", default="",
                help="instruments per family for each extra source, e.g. 'stk=12,zyn=8' (default: the module's own)")
ap.add_argument("--banks", default="0,8,16", help="SoundFont banks to use (GM variations live in 8 and 16)")
ap.add_argument("--programs", default="", help="restrict to these GM programs, e.g. '0,24-31' (default: all mapped)")
ap.add_argument("--families", default="", help="restrict to these families, comma separated (default: all 11)")
ap.add_argument("--include_ambiguous", action="store_true", help="also render the ambiguous programs of GM_TABLE")
ap.add_argument("--pitch_min", type=int, default=21)
ap.add_argument("--pitch_max", type=int, default=108)
ap.add_argument("--pitch_step", type=int, default=3, help="pitch grid step; each instrument gets a random offset")
ap.add_argument("--velocities", default="25,50,75,100,127")
ap.add_argument("--max_notes_per_instrument", type=int, default=0,
                help="random subset of the (pitch, velocity) grid per instrument (0: all)")
ap.add_argument("--pitch_focus", default="",
                help="LO-HI:FRAC -- that fraction of each instrument's --max_notes_per_instrument subset is drawn from "
                     "MIDI LO..HI (e.g. '36-60:0.5': NSynth has plenty of notes there), the rest from the other pitches")
ap.add_argument("--lineage_notes", default="",
                help="per-lineage override of --max_notes_per_instrument, e.g. 'timgm=18,synthetic=20'")
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
args = ap.parse_args()

SR = 16000
DUR, OFF = 4.0, 3.0
FAMILIES = ["bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "reed", "string", "synth_lead", "vocal"]
SOURCES = ["acoustic", "electronic", "synthetic"]
QUALITIES = ["bright", "dark", "distortion", "fast_decay", "long_release", "multiphonic", "nonlinear_env",
             "percussive", "reverb", "tempo-synced"]

# GM program (0-based) -> (family, source, ambiguous). One table for the whole project's SoundFont renders.
GM_TABLE = {}
for _progs, _fam, _src, _amb in [
    ([0, 1, 3, 6], "keyboard", "acoustic", False),      # grand, bright, honky-tonk piano, harpsichord
    ([2, 4, 5, 7], "keyboard", "electronic", False),    # electric grand, Rhodes, DX EP, clavinet
    (range(8, 15), "mallet", "acoustic", False),        # celesta, glockenspiel, music box, vibes, marimba, xylo, bells
    ([15], "mallet", "acoustic", True),                 # dulcimer (hammered, but a zither)
    ([16, 17, 18], "organ", "electronic", False),       # drawbar, percussive, rock organ
    ([19, 20], "organ", "acoustic", False),             # church (pipe) organ, reed organ
    ([21, 23], "organ", "acoustic", True),              # accordion, bandoneon
    ([22], "reed", "acoustic", True),                   # harmonica
    ([24, 25], "guitar", "acoustic", False),            # nylon, steel
    (range(26, 32), "guitar", "electronic", False),     # jazz, clean, muted, overdrive, distortion, harmonics
    ([32], "bass", "acoustic", False),                  # acoustic (upright) bass
    (range(33, 38), "bass", "electronic", False),       # finger, pick, fretless, slap 1/2
    ([38, 39], "bass", "synthetic", False),             # synth bass 1/2
    (range(40, 46), "string", "acoustic", False),       # violin, viola, cello, contrabass, tremolo, pizzicato
    ([46], "string", "acoustic", True),                 # harp
    ([47], "mallet", "acoustic", True),                 # timpani
    ([48, 49], "string", "acoustic", False),            # string ensembles
    ([50, 51], "string", "synthetic", False),           # synth strings
    ([52, 53], "vocal", "acoustic", False),             # choir aahs, voice oohs
    ([54], "vocal", "synthetic", False),                # synth voice
    (range(56, 62), "brass", "acoustic", False),        # trumpet, trombone, tuba, muted tpt, horn, section
    ([62, 63], "brass", "synthetic", False),            # synth brass
    (range(64, 72), "reed", "acoustic", False),         # saxes, oboe, english horn, bassoon, clarinet
    (range(72, 80), "flute", "acoustic", False),        # piccolo, flute, recorder, pan, bottle, shakuhachi, whistle, ocarina
    (range(80, 88), "synth_lead", "synthetic", False),  # leads 1-8
    ([104, 105, 106, 107], "guitar", "acoustic", True),  # sitar, banjo, shamisen, koto
    ([108], "mallet", "acoustic", True),                # kalimba
    ([109, 111], "reed", "acoustic", True),             # bagpipe, shanai
    ([110], "string", "acoustic", True),                # fiddle
]:
    for _p in _progs:
        GM_TABLE[_p] = (_fam, _src, _amb)

SOURCE_OVERRIDE = {"opl3": "synthetic"}  # an FM chip synthesises every preset

# Extra sources: one module each, named standins/source_<name>.py; the source name is its lineage. A module provides
#   available() -> None, or a one-line install hint when its engine is missing
#   instruments(families, n_per_family, seed) -> [{"family", "source", "unit", "name", "params"}, ...]; an optional
#       "lineage" (a sample library's name) makes the lineage "<source>:<lineage>"
#       unit: instruments sharing a unit (same preset/model family) always go to the same split
#       params: JSON-able, everything render_notes needs to make this instrument again
#   render_notes(params, notes, sr, dur, off, seed) -> [mono float array of dur*sr samples, or None if silent] per
#       (pitch, velocity) in notes; note-on at 0 s, note-off at `off` s; safe to call in any process (an engine that
#       can't share a process with another renders in a child process of its own)
#   optional, for recorded samples: playable(params, pitch, velocity) -> bool (notes are drawn among these only),
#   note_info(params, pitch, velocity) -> JSON-able dict (which recording, how far resampled; kept per note in
#   dataset_info.json), provenance() -> str and fetch_list() -> [str] (dataset_info.json)
EXTRA_SOURCES = ("stk", "csound", "zyn", "faust", "lmms", "amsynth", "sfz", "philharmonia")


def source_module(name):
    import importlib
    return importlib.import_module(f"source_{name}")   # standins/ is on sys.path (the script's folder)



def parse_ranges(s):
    out = set()
    for tok in filter(None, s.replace(" ", "").split(",")):
        a, _, b = tok.partition("-")
        out.update(range(int(a), int(b or a) + 1))
    return out



def assign_units(units, fracs, rng):
    """Shuffle units and cut them into consecutive chunks of the given fractions -> {unit: split}."""
    units = sorted(units)
    rng.shuffle(units)
    out, cum, start = {}, 0.0, 0
    for split, f in fracs:
        cum += f
        end = int(round(min(cum, 1.0) * len(units)))
        for u in units[start:end]:
            out[u] = split
        start = end
    return out


def qualities(y, family_hint):
    """Heuristic NSynth quality bits from a normalised note (see module docstring)."""
    hop = 256
    n = len(y) // hop
    frames = y[: n * hop].reshape(n, hop)
    env = np.sqrt((frames.astype(np.float64) ** 2).mean(1)) + 1e-9
    fr = lambda sec: min(n - 1, int(sec * SR / hop))  # noqa: E731
    pk = int(env.argmax())
    emax = env[pk]
    seg = y[int(0.1 * SR): int(2.9 * SR)]
    seg = seg[: len(seg) // 1024 * 1024].reshape(-1, 1024)
    spec = np.abs(np.fft.rfft(seg * np.hanning(1024), axis=1))
    freqs = np.fft.rfftfreq(1024, 1 / SR)
    cen = float((spec * freqs).sum() / (spec.sum() + 1e-9))
    pre = env[fr(2.9): fr(3.0) + 1].mean()
    post = env[fr(3.3): fr(3.6) + 1].mean()
    after = env[pk:]
    runmin = np.minimum.accumulate(after)
    q = {
        "bright": cen > 2500, "dark": cen < 500, "distortion": family_hint.get("distortion", False),
        "fast_decay": env[fr(pk * hop / SR + 1.0)] < emax * 0.05,
        "long_release": pre > 0.01 * emax and post > 0.1 * pre,
        "multiphonic": False,
        "nonlinear_env": bool(np.any((after > 2.0 * runmin) & (after > 0.2 * emax))),
        "percussive": pk * hop / SR < 0.02 and env[fr(0.3)] < 0.5 * emax,
        "reverb": False, "tempo-synced": False,
    }
    return [int(bool(q[k])) for k in QUALITIES]


def render_font_note(path, bank, program, pitch, velocity):
    synth, sfid = clean_synth(path, SR)
    synth.program_select(0, sfid, bank, program)
    synth.noteon(0, pitch, velocity)
    a = stereo_to_mono(synth.generate(int(OFF * SR)))
    synth.noteoff(0, pitch)
    b = stereo_to_mono(synth.generate(int((DUR - OFF) * SR)))
    return np.concatenate([a, b])


def render_instrument(task):
    """Render all notes of one instrument; returns (instrument_str, [records], n_silent)."""
    import synth_patches  # standins/ is on sys.path (the script's folder; spawn children inherit it)
    patch = synth_patches.make_patch(task["family"], task["patch_seed"]) if task["kind"] == "synthetic" else None
    hint = {"distortion": task["program"] in (29, 30) if task["kind"] == "font" else
            patch["distortion"] > 0 if patch else bool(task["params"].get("distortion", False))}
    out_dir = Path(task["out_dir"])
    if task["kind"] in EXTRA_SOURCES:       # a whole instrument in one call (engines render a score at once)
        module = source_module(task["kind"])
        ys = module.render_notes(task["params"], task["notes"], SR, DUR, OFF, task["seed"])
    records, silent = [], 0
    for k, (pitch, vel) in enumerate(task["notes"]):
        if task["kind"] in EXTRA_SOURCES:
            y = ys[k] if ys[k] is not None else np.zeros(int(DUR * SR))
        elif patch is None:
            y = render_font_note(task["font"], task["bank"], task["program"], pitch, vel)
        else:
            y = synth_patches.render_note(patch, pitch, vel, sr=SR, dur=DUR, off=OFF)
        y = np.asarray(y, dtype=np.float64)
        if len(y) != int(DUR * SR):
            raise ValueError(f"{task['kind']} instrument {task['instrument_str']}: note {pitch}/{vel} has "
                             f"{len(y)} samples, expected {int(DUR * SR)}")
        peak = float(np.abs(y).max())
        if not np.isfinite(peak) or peak < 1e-6:
            silent += 1
            continue
        rng = np.random.default_rng([task["seed"], task["key"], pitch, vel])
        y = y / peak * rng.uniform(0.55, 0.999)
        note_str = f"{task['instrument_str']}-{pitch:03d}-{vel:03d}"
        sf.write(out_dir / f"{note_str}.wav", y, SR, subtype="PCM_16")
        qual = qualities(y, hint)
        records.append({
            "note_str": note_str, "instrument": task["instrument"], "instrument_str": task["instrument_str"],
            "pitch": pitch, "velocity": vel, "sample_rate": SR, "qualities": qual,
            "qualities_str": [k for k, b in zip(QUALITIES, qual) if b],
            "instrument_family": FAMILIES.index(task["family"]), "instrument_family_str": task["family"],
            "instrument_source": SOURCES.index(task["source"]), "instrument_source_str": task["source"],
        })
        if task["kind"] in EXTRA_SOURCES and hasattr(module, "note_info"):
            records[-1]["note_info"] = module.note_info(task["params"], pitch, vel)   # -> dataset_info.json
    return task["instrument_str"], records, silent


def main():
    t0 = time.time()
    velocities = [int(v) for v in args.velocities.split(",")]
    families = [f for f in args.families.split(",") if f] or FAMILIES
    for f in families:
        if f not in FAMILIES:
            sys.exit(f"error: --families: unknown family '{f}', expected some of {FAMILIES}")
    programs = parse_ranges(args.programs) if args.programs else set(range(128))
    banks = sorted(parse_ranges(args.banks))
    split_rule, split_names = parse_splits(args.splits)
    try:
        lineage_caps = {k: int(v) for k, v in (t.split("=") for t in args.lineage_notes.split(",") if t)}
    except ValueError:
        sys.exit(f"error: --lineage_notes '{args.lineage_notes}' must look like 'timgm=18,synthetic=20'")

    focus = None
    if args.pitch_focus:
        try:
            span, frac = args.pitch_focus.split(":")
            lo, hi = (int(v) for v in span.split("-"))
            focus = (lo, hi, float(frac))
        except ValueError:
            sys.exit(f"error: --pitch_focus '{args.pitch_focus}' must look like '36-60:0.5'")
        if not (lo <= hi and 0 <= focus[2] <= 1):
            sys.exit(f"error: --pitch_focus '{args.pitch_focus}': need LO <= HI and a fraction in 0-1")

    # fonts -> lineage
    fonts = resolve_fonts(args.fonts)

    # enumerate candidate instruments (split unit first)
    import tinysoundfont
    insts = []
    for path, lin in fonts:
        if lin not in split_rule:
            continue
        synth = tinysoundfont.Synth(samplerate=SR)
        sfid = synth.sfload(path)
        for bank in banks:
            for prog in sorted(programs):
                if prog not in GM_TABLE or (GM_TABLE[prog][2] and not args.include_ambiguous):
                    continue
                name = synth.sfpreset_name(sfid, bank, prog)
                fam, src, _ = GM_TABLE[prog]
                if name is None or fam not in families:
                    continue
                insts.append({"kind": "font", "font": path, "lineage": lin, "bank": bank, "program": prog,
                              "preset_name": name, "family": fam, "source": SOURCE_OVERRIDE.get(lin, src),
                              "unit": (lin, fam, prog), "key": key_seed(Path(path).name, bank, prog)})
        del synth
    if "synthetic" in split_rule:
        for fam in families:
            for k in range(args.synthetic_per_family):
                insts.append({"kind": "synthetic", "font": None, "lineage": "synthetic", "bank": -1, "program": -1,
                              "family": fam, "source": "synthetic", "unit": ("synthetic", fam, k),
                              "patch_seed": key_seed("patch", args.seed, fam, k), "key": key_seed("synthetic", fam, k)})
    try:
        source_counts = {k: int(v) for k, v in (t.split("=") for t in args.source_instruments.split(",") if t)}
    except ValueError:
        sys.exit(f"error: --source_instruments '{args.source_instruments}' must look like 'stk=12,zyn=8'")
    for name in filter(None, args.sources.split(",")):
        if name not in EXTRA_SOURCES:
            sys.exit(f"error: --sources: unknown source '{name}', expected some of {list(EXTRA_SOURCES)}")
        if name not in split_rule:
            sys.exit(f"error: --sources {name}: name lineage '{name}' in --splits, e.g. 'train=...,{name}:0.8;...'")
        module = source_module(name)
        if name == "sfz":
            module.use_libraries(args.sfz_libs)
        if name == "philharmonia":
            module.use_folder(args.philharmonia_dir)
        missing = module.available()
        if missing:
            sys.exit(f"error: --sources {name}: {missing}")
        for inst in module.instruments(families, source_counts.get(name), args.seed):
            # a sample library is a lineage of its own ("sfz:karoryfer.growlybass"), so that a selection can leave
            # one out; the split rule still names the source ("sfz:0.8")
            lineage = f"{name}:{inst['lineage']}" if inst.get("lineage") else name
            insts.append({"kind": name, "font": None, "lineage": lineage, "bank": -1, "program": -1,
                          "preset_name": inst["name"], "family": inst["family"], "source": inst["source"],
                          "params": inst["params"], "unit": (name, inst["family"], inst["unit"]),
                          "key": key_seed(name, inst["family"], inst["name"])})
    if not insts:
        sys.exit("error: no instruments selected (check --fonts, --splits, --programs, --families, --sources)")

    # split assignment per (lineage, family)
    split_of = {}
    for lin, fracs in split_rule.items():
        for fam in families:
            units = {i["unit"] for i in insts if i["lineage"].split(":")[0] == lin and i["family"] == fam}
            split_of.update(assign_units(list(units), fracs, np.random.default_rng(key_seed("split", args.seed, lin, fam))))
    insts = [i for i in insts if i["unit"] in split_of]

    # names: NNN counts instruments within (family, source), over all splits, in a fixed order
    counter = Counter()
    for idx, inst in enumerate(insts):
        inst["instrument"] = idx
        inst["split"] = split_of[inst["unit"]]
        inst["instrument_str"] = f"{inst['family']}_{inst['source']}_{counter[(inst['family'], inst['source'])]:03d}"
        counter[(inst["family"], inst["source"])] += 1

    # notes per instrument: pitch grid with a random offset, all velocities, optional random subset
    tasks = []
    out = Path(args.out)
    for inst in insts:
        rng = np.random.default_rng([args.seed, inst["key"], 17])
        off = int(rng.integers(args.pitch_step))
        grid = [(p, v) for p in range(args.pitch_min + off, args.pitch_max + 1, args.pitch_step) for v in velocities]
        if inst["kind"] in EXTRA_SOURCES and hasattr(source_module(inst["kind"]), "playable"):
            module = source_module(inst["kind"])
            grid = [(p, v) for p, v in grid if module.playable(inst["params"], p, v)]
            # velocities that play the same recording at the same pitch are one note (peaks are normalised)
            seen, distinct = set(), []
            for p, v in grid:
                key = json.dumps(dict(module.note_info(inst["params"], p, v), layer=None), sort_keys=True)
                if key not in seen:
                    seen.add(key)
                    distinct.append((p, v))
            grid = distinct
        cap = lineage_caps.get(inst["lineage"], lineage_caps.get(inst["lineage"].split(":")[0],
                                                                 args.max_notes_per_instrument))
        if cap and len(grid) > cap:
            if focus:
                inside = [j for j, (p, _) in enumerate(grid) if focus[0] <= p <= focus[1]]
                outside = [j for j, (p, _) in enumerate(grid) if not focus[0] <= p <= focus[1]]
                k = min(len(inside), round(cap * focus[2]))
                k = max(k, cap - len(outside))
                picked = list(rng.choice(inside, k, replace=False)) + list(rng.choice(outside, cap - k, replace=False))
                grid = [grid[j] for j in sorted(picked)]
            else:
                grid = [grid[j] for j in sorted(rng.choice(len(grid), cap, replace=False))]
        (out / inst["split"] / "audio").mkdir(parents=True, exist_ok=True)
        tasks.append(dict(inst, notes=grid, seed=args.seed, out_dir=str(out / inst["split"] / "audio"),
                          patch_seed=inst.get("patch_seed", 0), params=inst.get("params", {}),
                          unit=list(inst["unit"])))
    # synthetic (slowest) first, so workers stay busy at the end; fonts grouped for the per-worker font cache
    tasks.sort(key=lambda t: (t["kind"] != "synthetic", t["font"] or "", t["instrument"]))
    n_total = sum(len(t["notes"]) for t in tasks)
    print(f"{len(tasks)} instruments, {n_total} notes to render into {out} with {args.workers} worker(s)")

    results = {}
    bar = tqdm(total=n_total, unit="note", desc="render")
    if args.workers > 1:
        import multiprocessing as mp
        with mp.get_context("spawn").Pool(args.workers) as pool:
            for inst_str, recs, silent in pool.imap_unordered(render_instrument, tasks):
                results[inst_str] = (recs, silent)
                bar.update(len(recs) + silent)
    else:
        for t in tasks:
            inst_str, recs, silent = render_instrument(t)
            results[inst_str] = (recs, silent)
            bar.update(len(recs) + silent)
    bar.close()

    # examples.json per split (sorted by note_str; "note" is a running id over all splits)
    counts = {s: {"notes": 0, "instruments": 0, "family": Counter(), "source": Counter(), "lineage": Counter()}
              for s in split_names}
    inst_info = {s: {} for s in split_names}
    silent_total = 0
    by_split = {s: [] for s in split_names}
    for inst in insts:
        recs, silent = results[inst["instrument_str"]]
        note_infos = {r["note_str"]: r.pop("note_info") for r in recs if "note_info" in r}
        silent_total += silent
        by_split[inst["split"]].extend(recs)
        c = counts[inst["split"]]
        c["instruments"] += 1
        c["notes"] += len(recs)
        c["family"][inst["family"]] += len(recs)
        c["source"][inst["source"]] += len(recs)
        c["lineage"][inst["lineage"]] += len(recs)
        inst_info[inst["split"]][inst["instrument_str"]] = {
            "lineage": inst["lineage"], "font": Path(inst["font"]).name if inst["font"] else None,
            "bank": inst["bank"], "program": inst["program"], "preset_name": inst.get("preset_name"),
            "unit": "/".join(str(u) for u in inst["unit"]), "notes": len(recs), "silent_dropped": silent}
        if note_infos:
            inst_info[inst["split"]][inst["instrument_str"]]["note_info"] = note_infos
    note_id = 0
    for s in split_names:
        ex = {}
        for r in sorted(by_split[s], key=lambda r: r["note_str"]):
            ex[r["note_str"]] = dict(note=note_id, **r)
            note_id += 1
        (out / s).mkdir(parents=True, exist_ok=True)
        with open(out / s / "examples.json", "w") as f:
            json.dump(ex, f, indent=1)
    info = {
        "provenance": "rendered proxy data from SoundFonts (not NSynth): standins/render_nsynth.py with tinysoundfont "
                      "and the synthetic patches of standins/synth_patches.py"
                      + "".join(f", {name} (standins/source_{name}.py)"
                                for name in filter(None, args.sources.split(",")))
                      + "".join(f"; {name}: {source_module(name).provenance()}"
                                for name in filter(None, args.sources.split(","))
                                if hasattr(source_module(name), "provenance")),
        "fetched": sorted(x for name in filter(None, args.sources.split(","))
                          if hasattr(source_module(name), "fetch_list") for x in source_module(name).fetch_list()),
        "command": shlex.join(["python", "standins/render_nsynth.py", *sys.argv[1:]]),
        "args": vars(args),
        "fonts": [{"path": p, "lineage": lin, "bytes": os.path.getsize(p)} for p, lin in fonts],
        "split_rule": {"spec": args.splits, "unit": "(lineage, family, GM program) for SoundFonts, (synthetic, family, "
                       "k) for synthetic patches; per lineage and family, units shuffled by seed and cut by fractions"},
        "sample_rate": SR, "duration_s": DUR, "note_off_s": OFF, "peak_range": [0.55, 1.0],
        "counts": {s: {"notes": c["notes"], "instruments": c["instruments"], "family": dict(sorted(c["family"].items())),
                       "source": dict(sorted(c["source"].items())), "lineage": dict(sorted(c["lineage"].items()))}
                   for s, c in counts.items()},
        "silent_dropped": silent_total,
        "instruments": inst_info,
        "render_time_s": round(time.time() - t0, 1),
    }
    with open(out / "dataset_info.json", "w") as f:
        json.dump(info, f, indent=1)
    for s, c in info["counts"].items():
        print(f"{s}: {c['notes']} notes, {c['instruments']} instruments, families {c['family']}")
    print(f"dropped {silent_total} silent renders; {time.time() - t0:.0f} s; wrote {out / 'dataset_info.json'}")


if __name__ == "__main__":
    main()
