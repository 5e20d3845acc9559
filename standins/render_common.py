"""Pieces the renderers share: font lineages, stable seeds, the --splits rule, a clean tinysoundfont synth, the
child-process protocol of the DawDreamer sources, and the checks that drop a broken physical-model note."""
import json
import os
import re
import subprocess
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
            sys.exit(f"error: SoundFont '{path}' not found (install the apt packages listed in standins/README.txt)")
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


# ---- an engine in a child process of its own (standins/source_zyn.py, source_faust.py: the two plugins abort when they
# share a process), one per calling process, fed one job at a time: a JSON line in, a JSON header + float32 out ----
_CHILDREN = {}  # engine script -> its running child process


def child_render(script, job, engine, what):
    """Render one job in `python <script> --child` (started on first use) -> float64 array [notes, samples]; an error
    there is raised here as '<what>: <error>'."""
    child = _CHILDREN.get(script)
    if child is None or child.poll() is not None:
        child = _CHILDREN[script] = subprocess.Popen([sys.executable, str(script), "--child"], stdin=subprocess.PIPE,
                                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    child.stdin.write((json.dumps(job) + "\n").encode())
    child.stdin.flush()
    header = child.stdout.readline()
    if not header:
        raise RuntimeError(f"the {engine} render process died (exit {child.wait()}); "
                           f"see its output with: python standins/{Path(script).name} --check")
    header = json.loads(header)
    if "error" in header:
        raise RuntimeError(f"{what}: {header['error']}")
    ys = np.frombuffer(child.stdout.read(4 * header["shape"][0] * header["shape"][1]), np.float32)
    return ys.reshape(header["shape"]).astype(np.float64)


def serve_child(render_job):
    """The child side of child_render: answer every job line on stdin with render_job(job) (float32 [notes,
    samples]) or the error it raised."""
    protocol = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)                       # whatever the engine prints must not reach the protocol pipe
    for line in sys.stdin:
        try:
            ys = render_job(json.loads(line))
            protocol.write((json.dumps({"shape": list(ys.shape)}) + "\n").encode() + ys.tobytes())
        except Exception as e:  # noqa: BLE001 -- reported to the parent, which raises it
            protocol.write((json.dumps({"error": f"{type(e).__name__}: {e}"}) + "\n").encode())
        protocol.flush()


def preset_words(name):
    """Lower-case letters only ("Saw Strings 2", "Percussion1-5b" -> "saw strings", "percussion b"): a synth
    preset's split unit, so numbered variants and copies in other banks never straddle splits."""
    return re.sub(r"\s+", " ", re.sub(r"[^a-z]+", " ", name.lower())).strip()


def pick_per_family(by_family, n_per_family, seed):
    """{family: [instrument, ...]} -> one list, family by family in name order, each family cut to a seeded random
    n_per_family (None: all) kept in their original order."""
    out = []
    for family in sorted(by_family):
        items = by_family[family]
        if n_per_family is not None and n_per_family < len(items):
            rng = np.random.default_rng([seed, zlib.crc32(family.encode())])
            items = [items[i] for i in sorted(rng.choice(len(items), n_per_family, replace=False))]
        out += items
    return out


def print_sanity_check(instruments, render_notes, families, per_family):
    """`python standins/source_<name>.py`: peak, spectral centroid, an f0 estimate (librosa.yin) against the asked pitch
    and the RMS envelope of a few notes per family, to check a source by numbers."""
    import librosa
    sr, pitches = 16000, [36, 48, 60, 72, 84]
    for inst in instruments(families, per_family, 0):
        ys = render_notes(inst["params"], [(p, 100) for p in pitches], sr, 4.0, 3.0, 0)
        for p, y in zip(pitches, ys):
            if y is None:
                print(f"{inst['family']:10s} {inst['name']:28s} {p:3d}  None")
                continue
            env = np.sqrt((y[: 64000].reshape(16, -1) ** 2).mean(1))
            spec = np.abs(librosa.stft(y[1600:46400], n_fft=1024))
            cen = float((spec * librosa.fft_frequencies(sr=sr, n_fft=1024)[:, None]).sum() / spec.sum())
            f0 = np.median(librosa.yin(y[4800:40000], fmin=25, fmax=4000, sr=sr, frame_length=4096))
            print(f"{inst['family']:10s} {inst['name']:28s} {p:3d}  peak {np.abs(y).max():.3f}  centroid {cen:5.0f} Hz"
                  f"  f0 {librosa.hz_to_midi(f0):5.1f}  RMS env " + " ".join(f"{e / env.max():.2f}" for e in env))


def pitch_ok(y, sr, pitch):
    """Held part is harmonic on the asked pitch: most power lies near its harmonics 1-12 (within 0.15 f0 + 2 % per
    harmonic number, room for vibrato), and not all of it on every 2nd or every 3rd harmonic (a tube or string that
    jumped up an octave or a twelfth)."""
    seg = y[sr // 2: int(2.5 * sr)]
    power = np.abs(np.fft.rfft(seg * np.hanning(len(seg)))) ** 2
    h = np.fft.rfftfreq(len(seg), 1 / sr) / (440.0 * 2 ** ((pitch - 69) / 12))      # frequency in multiples of f0
    k = np.round(h)
    harmonic = (h > 0.5) & (h < 12.5) & (np.abs(h - k) < 0.15 + 0.02 * k)
    if power[harmonic].sum() < 0.5 * power[(h > 0.5) & (h < 12.5)].sum():
        return False
    return all(power[harmonic & (k % d != 0)].sum() > 0.01 * power[harmonic & (k % d == 0)].sum() for d in (2, 3))


def is_garbage(y, sr, sustained=False):
    """NaN, silence, an onset click only, a sustained model that died, or a flat (noise-like) spectrum."""
    if not np.all(np.isfinite(y)) or np.abs(y).max() < 1e-5:
        return True
    hop = sr // 10
    env = np.sqrt((y[: len(y) // hop * hop].reshape(-1, hop) ** 2).mean(1))          # 0.1 s frames
    if env[1:10].max() < 1e-3 * env.max() or (sustained and env[10:29].mean() < 0.1 * env.max()):
        return True
    seg = y[int(0.1 * sr): int(2.9 * sr)]
    seg = seg[: len(seg) // 1024 * 1024].reshape(-1, 1024)
    power = (np.abs(np.fft.rfft(seg * np.hanning(1024), axis=1)) ** 2).mean(0) + 1e-20
    return bool(np.exp(np.log(power).mean()) / power.mean() > 0.3)   # spectral flatness: 1 = white noise
