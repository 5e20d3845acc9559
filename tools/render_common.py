"""Pieces both renderers share: font lineages, stable seeds, the --splits rule, and a clean tinysoundfont synth."""
import os
import sys
import zlib
from pathlib import Path

import numpy as np

KNOWN_FONTS = {  # file name -> sample lineage (fonts of one lineage share samples: never split them apart)
    "FluidR3_GM.sf2": "fluid", "FluidR3_GS.sf2": "fluid", "FluidR3Mono_GM.sf3": "fluid",
    "MuseScore_General.sf3": "fluid", "MuseScore_General_Full.sf3": "fluid", "MuseScore_General.sf2": "fluid",
    "TimGM6mb.sf2": "timgm", "sf_GMbank.sf2": "timgm",
    "OPL-3_FM_128M.sf2": "opl3",
}


def key_seed(*parts):
    """Stable 32-bit seed from strings/ints (independent of scheduling and of the other instruments)."""
    return zlib.crc32("|".join(str(p) for p in parts).encode())


def parse_splits(spec):
    """'train=fluid,synthetic:0.8;valid=...' -> {lineage: [(split, frac), ...]} in split order, and split names."""
    by_lineage, names = {}, []
    for part in filter(None, spec.replace(" ", "").split(";")):
        name, eq, rhs = part.partition("=")
        if not eq or not name:
            sys.exit(f"error: --splits part '{part}' must look like 'train=fluid,synthetic:0.8'")
        names.append(name)
        for tok in filter(None, rhs.split(",")):
            lin, _, frac = tok.partition(":")
            by_lineage.setdefault(lin, []).append((name, float(frac) if frac else 1.0))
    for lin, lst in by_lineage.items():
        if sum(f for _, f in lst) > 1.0 + 1e-6:
            sys.exit(f"error: --splits gives lineage '{lin}' fractions summing to more than 1: {lst}")
    return by_lineage, names


def resolve_fonts(specs):
    """--fonts values (PATH or PATH=LINEAGE; None = every known font installed) -> sorted [(real path, lineage)],
    each file once even when reached through a link."""
    if specs is None:
        cands = [Path(d) / n for d in ("/usr/share/sounds/sf2", "/usr/share/sounds/sf3") for n in KNOWN_FONTS]
        specs = [str(p) for p in cands if p.exists()]
    fonts, seen = [], set()
    for spec in specs:
        path, _, lin = spec.partition("=")
        if not Path(path).is_file():
            sys.exit(f"error: SoundFont '{path}' not found (install the apt packages listed in tools/README.txt)")
        real = os.path.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        lin = lin or KNOWN_FONTS.get(Path(path).name) or KNOWN_FONTS.get(Path(real).name)
        if not lin:
            lin = Path(path).stem.lower()
            print(f"warning: unknown font {path}: treated as its own lineage '{lin}'")
        fonts.append((real, lin))
    return sorted(fonts, key=lambda x: (x[1], x[0]))


_SYNTHS = {}  # per worker process: font path -> (Synth, sfid); one SoundFont per Synth (a Synth mixes its fonts)


def clean_synth(font, sr):
    """The cached Synth for this font, in the state of a freshly loaded one.

    tsf_reset only fast-releases sounding voices (10 ms): reset, render them out, reset the channels again, so that
    nothing carries over from the previous note or part (checked bit-exact against a freshly loaded font)."""
    import tinysoundfont
    if font not in _SYNTHS:
        synth = tinysoundfont.Synth(samplerate=sr)
        _SYNTHS[font] = (synth, synth.sfload(font))
    synth, sfid = _SYNTHS[font]
    synth.soundfonts[sfid].reset()
    synth.generate(int(0.1 * sr))
    synth.soundfonts[sfid].reset()
    return synth, sfid


def stereo_to_mono(buf):
    """tinysoundfont's interleaved float32 stereo bytes -> mono float32."""
    return np.frombuffer(buf, dtype=np.float32).reshape(-1, 2).mean(1)
