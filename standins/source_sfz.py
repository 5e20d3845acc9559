"""
Extra instrument source for standins/render_nsynth.py: real recorded multi-samples from public .sfz sample libraries.

    python standins/render_nsynth.py --out DIR --sources sfz --sfz_libs /work/data/libs \
        --splits "train=sfz:0.8;valid=sfz:0.1;test=sfz:0.1" --synthetic_per_family 0 ...
    python standins/source_sfz.py /work/data/libs          # sanity check: regions kept per program, pitch checks

--sfz_libs takes comma-separated entries PATH[=FAMILY[:SOURCE]]:
    a library folder (its name ends in one of the LIBRARIES keys below, e.g. sfzinstruments+karoryfer.growlybass):
        the programs listed for it in LIBRARIES, each one instrument;
    a folder holding such library folders (e.g. /work/data/libs): every known library in it;
    a .sfz file with =FAMILY (SOURCE defaults to acoustic): that program as one instrument.
Libraries reserved for independent evaluation (RESERVED) are refused.

What a note is. A program's .sfz is read like a sampler reads it: <control>/<global>/<master>/<group>/<region>
headers (each level inherits the ones above it), #define $VARS, #include, default_path, and the opcodes sample,
pitch_keycenter / key / lokey / hikey (numbers or note names like c#4, C4 = 60), lovel / hivel, tune (cents),
transpose, offset / end, loop_mode / loop_start / loop_end, ampeg_release. Kept are the regions a plain note-on at
the default controller values plays: trigger attack/first (not release, release_key or legato), the first round robin
(seq_position 1, lorand 0), locc/hicc conditions true at the <control> set_cc values (default 0), key-switched
regions only of the default switch (sw_default, else the lowest), and no sample whose path names a noise or special
articulation (SKIP_WORDS). One region per (pitch, velocity layer).

The library's pitch is verified on the audio: the sample's natural pitch is pitch_keycenter - transpose - tune/100,
pyin measures the held part (0.05-1.05 s after the onset) within 14 semitones of it. Within 0.6 semitone: kept at
the mapped pitch. 12 semitones away (libraries often map a bass an octave above where it sounds): kept at the
SOUNDING pitch (the mapped one +-12; recorded as octave_fix). Anything else (no stable pitch, a fifth off): dropped,
counted per program. A note (pitch P, velocity V) plays the region whose velocity layer holds V (else the nearest
layer) with the sample closest to P, resampled by at most MAX_SHIFT = 2 semitones (further there is no recording of
that note: the note is not requested; render_nsynth asks playable() before it draws its notes). dataset_info.json
records per note the sample, its natural pitch and the shift.

NSynth's protocol: 4 s at 16 kHz, note-on at 0, held to 3 s, then released: a sample longer than that gets a release
fade from 3.0 s (exponential, -60 dB after the region's ampeg_release clipped to 0.1-0.8 s, silence after); a
shorter one ends as it was recorded (looped first when the region has a sustain loop). Leading silence (below -40 dB
re the peak) is trimmed to 2 ms before the onset. Velocity changes the sample layer only: render_nsynth normalises
every note's peak, as NSynth does.

Split unit = the library: programs of one library (the same instruments played or processed otherwise) never
straddle splits. Each library is its own lineage (sfz:<library>, e.g. sfz:karoryfer.growlybass), so a selection can
train without one library and test on it (bench/hw0_select.py --lolo). The instrument name is <library>:<program>.

Licences (each library's LICENSE file): the karoryfer.* libraries, dsmolken.double-bass, SplendidGrandPiano,
MaestroConcertGrandPiano, jRhodes3c and GregSullivan.E-Pianos are public domain / CC0 or royalty-free for any use;
see standins/README.txt for the list and the fetch commands. Samples stay outside the repository (/work/data/libs).

Reproducible: bit-identical for a seed (numpy, soxr resampling through librosa, pyin); `seed` is unused.
"""
import re
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf

MAX_SHIFT = 2.0     # semitones a sample may be resampled; further is no longer a recording of that note
PITCH_TOL = 0.6     # semitones between the mapped (or octave-corrected) pitch and the measured one
FAMILIES = ["bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "reed", "string", "synth_lead", "vocal"]
SOURCES = ["acoustic", "electronic", "synthetic"]
SKIP_WORDS = re.compile(r"noise|release|(^|[^a-z])rel([^a-z]|$)|(^|[^a-z])fx|scrape|slide|mute|harmonic|stacc|"
                        r"hammer|chord|knock|slap|squeak|breath|click|keyoff|key_off|pedal|thump|perc|growl|"
                        r"(^|[^a-z])res([^a-z]|$)|resonance|bend|gliss|trill|flutter|vibrato_only")

# library (repository owner/name; its folder may be named owner+name or name) -> [(program .sfz, family, source)]
LIBRARIES = {
    "sfzinstruments/karoryfer.growlybass": [("growlybass_clean.sfz", "bass", "electronic")],
    "sfzinstruments/karoryfer.fashionbass": [("fashionbass_clean.sfz", "bass", "electronic")],
    "sfzinstruments/karoryfer.pastabass": [("spaghetti.sfz", "bass", "electronic"),
                                           ("fetuccine.sfz", "bass", "electronic")],
    "sfzinstruments/karoryfer.big-little-bass": [("Programs/01-big_little_pluck.sfz", "bass", "acoustic")],
    "sfzinstruments/karoryfer.meatbass": [("Programs/pizz_basic.sfz", "bass", "acoustic"),
                                          ("Programs/arco_basic.sfz", "string", "acoustic")],
    "sfzinstruments/karoryfer.sneakybass": [("Programs/02-sneakybass_pluck.sfz", "bass", "electronic")],
    "sfzinstruments/dsmolken.double-bass": [("d_smolken_rubner_bass_pizz.sfz", "bass", "acoustic"),
                                            ("d_smolken_rubner_bass_arco.sfz", "string", "acoustic")],
    "kmturley/karoryfer.black-and-green-guitars": [("Programs/04-green_twang.sfz", "guitar", "electronic"),
                                                   ("Programs/07-black_twang.sfz", "guitar", "electronic")],
    "sfzinstruments/karoryfer.shinyguitar": [("Programs/acoustic.sfz", "guitar", "acoustic")],
    "sfzinstruments/karoryfer.emilyguitar": [("emily_clean.sfz", "guitar", "electronic")],
    "sfzinstruments/karoryfer.weresax": [("Programs/Sax.sfz", "reed", "acoustic")],
    "sfzinstruments/karoryfer.bear-sax": [("Programs/2-solo-poly.sfz", "reed", "acoustic")],
    "sfzinstruments/karoryfer.war-tuba": [("Programs/2-solo-poly.sfz", "brass", "acoustic")],
    "sfzinstruments/karoryfer.string-cyborgs": [("Programs/blackheart_one.sfz", "string", "acoustic"),
                                                ("Programs/zinc_one_voice.sfz", "string", "acoustic")],
    "sfzinstruments/SplendidGrandPiano": [("Splendid Grand Piano.sfz", "keyboard", "acoustic")],
    "sfzinstruments/MatsHelgesson.MaestroConcertGrandPiano": [("Maestro Concert Grand.sfz", "keyboard", "acoustic")],
    "sfzinstruments/jlearman.jRhodes3c": [("jRhodes3c-looped-flac-sfz/_jRhodes-mono-looped.sfz", "keyboard",
                                           "electronic")],
    "sfzinstruments/karoryfer.ergo": [("ergo_pizz.sfz", "bass", "acoustic"), ("ergo_arco.sfz", "string", "acoustic")],
    "sfzinstruments/FlameStudios.Kay5StringBanjo": [("FS KayBanjo (release mw1).sfz", "guitar", "acoustic")],
    "sfzinstruments/ganjo": [("ganjo.sfz", "guitar", "acoustic")],
    "sfzinstruments/karoryfer.272-merry-orks": [("ork_vocals.sfz", "vocal", "acoustic")],
    "sfzinstruments/karoryfer.caveman-cosmonaut": [("Programs/mappings/unitra_all.sfz", "organ", "electronic")],
    "sfzinstruments/Project16Rickenbacker4001": [("Fingered and Picked/Fingered1.sfz", "bass", "electronic")],
    # the bank's violin and cello samples are missing from its snapshot (too large to fetch)
    "sfzinstruments/Discord-SFZ-GM-Bank": [("Discord GM/Melodic/034-Electric Bass (finger).sfz", "bass", "electronic")],
    "sfzinstruments/EthanWiner.Soundfonts": [("Ethan Winer Collection/Ethan's Glock.sfz", "mallet", "acoustic")],
    "sfzinstruments/GregSullivan.E-Pianos": [("CP80/CP80.sfz", "keyboard", "electronic"),
                                             ("Pianet T/Pianet T.sfz", "keyboard", "electronic"),
                                             ("Wurlitzer EP200/Wurlitzer EP200.sfz", "keyboard", "electronic")],
}
LICENCES = {"sfzinstruments/GregSullivan.E-Pianos": "CC-BY-3.0", "sfzinstruments/jlearman.jRhodes3c":
            "free for any use (its LICENSE)", "sfzinstruments/SplendidGrandPiano": "public domain (AKAI)",
            "sfzinstruments/MatsHelgesson.MaestroConcertGrandPiano": "free for any use (its readme)",
            "sfzinstruments/FlameStudios.Kay5StringBanjo": "GPL-3.0",
            "sfzinstruments/Project16Rickenbacker4001": "CC BY-NC-SA 3.0",
            "sfzinstruments/Discord-SFZ-GM-Bank": "CC0 / CC-BY per instrument (its README)",
            "sfzinstruments/EthanWiner.Soundfonts": "freely available (ethanwiner.com, its README)"}
# evaluation-only libraries: never fetched, rendered, trained, tuned or selected on
RESERVED = ("mtg.solosax", "nyanshell.strat", "karoryfer.swagbass", "ixox.flute", "bigcat", "headroompiano",
            "gtownchurchsamplingproject", "terkelsen.marimba", "freepats", "timidity")

_LIBS = []          # [(path, family or None, source or None)], set by use_libraries


# ----------------------------------------------------------------------------------------------------------- parsing
NOTE_NAMES = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}


def note_number(value):
    """'60', 'c4', 'C#4', 'db3', 'e-1' -> MIDI number (C4 = 60); None when it is neither."""
    value = value.strip().lower()
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    m = re.fullmatch(r"([a-g])([#b]?)(-?\d+)", value)
    if not m:
        return None
    return 12 * (int(m.group(3)) + 1) + NOTE_NAMES[m.group(1)] + {"#": 1, "b": -1, "": 0}[m.group(2)]


def substitute(text, defines):
    for name in sorted(defines, key=len, reverse=True):     # $REL021 before $REL
        text = text.replace(name, defines[name])
    return text


def read_sfz_text(path, root, defines, depth=0):
    """The program's text with comments removed, #define substituted and #include resolved (paths relative to the
    top-level .sfz's folder, else to the including file's). Directives may stand anywhere, even mid-line."""
    if depth > 20:
        raise ValueError(f"{path}: #include nested more than 20 deep")
    raw = re.sub(r"/\*.*?\*/", " ", Path(path).read_text(errors="replace"), flags=re.S)
    raw = "\n".join(line.split("//")[0] for line in raw.splitlines())
    out, pos = [], 0
    for m in re.finditer(r'#define\s+(\$\w+)\s+(\S+)|#include\s+"([^"]+)"', raw):
        out.append(substitute(raw[pos: m.start()], defines))
        pos = m.end()
        if m.group(1):
            defines[m.group(1)] = substitute(m.group(2), defines)
            continue
        rel = substitute(m.group(3), defines).replace("\\", "/")
        inc = next((p for p in (Path(root) / rel, Path(path).parent / rel) if p.is_file()), None)
        if inc is None:
            raise ValueError(f"{path}: #include \"{rel}\" not found")
        out.append(read_sfz_text(inc, root, defines, depth + 1))
    out.append(substitute(raw[pos:], defines))
    return "\n".join(out)


def parse_program(path):
    """-> (control opcodes, [flattened region opcodes]) with inheritance resolved as the file is read."""
    text = read_sfz_text(path, Path(path).parent, {})
    tokens = list(re.finditer(r"<(\w+)>|([A-Za-z0-9_]+)=", text))
    order = ["control", "global", "master", "group", "region"]
    levels = {name: {} for name in order}
    regions, cur = [], None
    for k, tok in enumerate(tokens):
        end = tokens[k + 1].start() if k + 1 < len(tokens) else len(text)
        if tok.group(1):
            if cur == "region":
                regions.append({**levels["global"], **levels["master"], **levels["group"], **levels["region"]})
            name = tok.group(1).lower()
            cur = name if name in order else None           # <curve>, <effect>, <midi>: their opcodes are ignored
            if cur and cur != "control":                    # a header resets itself and every level below it
                for lower in order[order.index(cur):]:
                    levels[lower] = {}
            continue
        if cur:
            levels[cur][tok.group(2).lower()] = text[tok.end(): end].strip()
    if cur == "region":
        regions.append({**levels["global"], **levels["master"], **levels["group"], **levels["region"]})
    return levels["control"], regions


def find_file(lib_root, base, rel):
    """A sample path from a .sfz (Windows separators, case that may not match the files, a program moved away from
    its default_path) -> the file, or None."""
    rel = rel.replace("\\", "/").strip()
    for p in (Path(base) / rel, Path(lib_root) / rel):
        if p.is_file():
            return p
    tail = "/" + rel.lower().lstrip("./")
    hits = [p for low, p in file_index(str(lib_root)) if low.endswith(tail)]
    return hits[0] if len(hits) == 1 else None


@lru_cache(maxsize=64)
def file_index(lib_root):
    return tuple(sorted((str(p).lower(), p) for p in Path(lib_root).rglob("*") if p.is_file()))


def cc_values(control):
    """Controller values at load time: set_ccN (0-127) and set_hdccN (0-1); every other controller is 0."""
    out = {}
    for k, v in control.items():
        m = re.fullmatch(r"set_(hd)?cc(\d+)", k)
        if m:
            try:
                out[int(m.group(2))] = float(v) * (127 if m.group(1) else 1)
            except ValueError:
                pass
    return out


def num(region, key, default):
    try:
        return float(region[key]) if key in region else default
    except ValueError:
        return default


def select_regions(sfz_path, lib_root):
    """A program's regions a plain note-on at default controller values plays (see the module docstring)
    -> ([{file, mapped, lovel, hivel, offset, end, loop, release}], Counter of skip reasons)."""
    from collections import Counter
    control, regions = parse_program(sfz_path)
    ccs = cc_values(control)
    base = Path(sfz_path).parent / control.get("default_path", "").replace("\\", "/")
    switches = [note_number(r["sw_last"]) for r in regions if "sw_last" in r]
    default_sw = next((note_number(r["sw_default"]) for r in regions if "sw_default" in r), None)
    if default_sw is None and switches:
        default_sw = min(s for s in switches if s is not None)
    kept, seen, skipped = [], set(), Counter()
    for r in regions:
        sample = r.get("sample", "")
        if not sample or sample.startswith("*"):
            skipped["no sample"] += 1
            continue
        if r.get("trigger", "attack") not in ("attack", "first"):
            skipped["trigger " + r["trigger"]] += 1
            continue
        if num(r, "seq_position", 1) != 1 or num(r, "lorand", 0) > 0:
            skipped["round robin"] += 1
            continue
        if "sw_last" in r and note_number(r["sw_last"]) != default_sw or "sw_down" in r or "sw_up" in r \
                or "sw_previous" in r:
            skipped["key switch"] += 1
            continue
        cc_ok = True
        for k in r:
            m = re.fullmatch(r"(lo|hi)cc(\d+)", k)
            if m:
                val = ccs.get(int(m.group(2)), 0.0)
                bound = num(r, k, 0 if m.group(1) == "lo" else 127)
                cc_ok &= val >= bound if m.group(1) == "lo" else val <= bound
        if not cc_ok:
            skipped["controller condition"] += 1
            continue
        if SKIP_WORDS.search(sample.lower().replace("\\", "/")):
            skipped["special sample"] += 1
            continue
        keycenter = note_number(r.get("pitch_keycenter", r.get("key", r.get("lokey", "")))) if \
            r.get("pitch_keycenter", "").lower() != "sample" else None
        if keycenter is None or keycenter < 0 or num(r, "hikey", 0) < 0:
            skipped["no key centre"] += 1
            continue
        file = find_file(lib_root, base, sample)
        if file is None:
            skipped["sample file missing"] += 1
            continue
        mapped = keycenter - num(r, "transpose", 0) - num(r, "tune", 0) / 100
        lovel, hivel = int(num(r, "lovel", 1)), int(num(r, "hivel", 127))
        if (round(mapped, 2), lovel, hivel) in seen:
            skipped["duplicate layer"] += 1
            continue
        seen.add((round(mapped, 2), lovel, hivel))
        loop = None
        if r.get("loop_mode", "") in ("loop_continuous", "loop_sustain") and "loop_end" in r:
            loop = [int(num(r, "loop_start", 0)), int(num(r, "loop_end", 0))]
        kept.append({"file": str(file), "mapped": round(float(mapped), 3), "lovel": lovel, "hivel": hivel,
                     "offset": int(num(r, "offset", 0)), "end": int(num(r, "end", 0)), "loop": loop,
                     "release": float(np.clip(num(r, "ampeg_release", 0.3), 0.1, 0.8))})
    return kept, skipped


# --------------------------------------------------------------------------------------------------- pitch check
@lru_cache(maxsize=8)
def load_sample(file):
    """-> (mono float64, sample rate); cached per process (an instrument's notes share their samples)."""
    y, sr = sf.read(file, always_2d=True)
    y = y.mean(1)
    return y - y.mean(), sr


def onset_of(y, sr):
    """First sample above -40 dB re the peak, less 2 ms (leading silence is trimmed)."""
    return max(0, int(np.argmax(np.abs(y) > 0.01 * (np.abs(y).max() + 1e-12))) - int(0.002 * sr))


def measure_pitch(region, sr=16000):
    """Median pyin f0 (MIDI) of 0.05-1.05 s after the onset, searched within 14 semitones of the mapped pitch;
    nan when nothing is voiced."""
    import librosa
    x, src_sr = load_sample(region["file"])
    x = x[region["offset"]: region["end"] or None]
    x = x[onset_of(x, src_sr):][: int(1.1 * src_sr)]
    y = librosa.resample(x, orig_sr=src_sr, target_sr=sr, res_type="soxr_hq")[int(0.05 * sr):]
    if len(y) < int(0.15 * sr):
        return float("nan")
    mapped = region["mapped"]
    lo, hi = librosa.midi_to_hz(mapped - 14), min(librosa.midi_to_hz(mapped + 14), sr / 4)
    f0, voiced, _ = librosa.pyin(y, fmin=lo, fmax=hi, sr=sr, frame_length=2048, hop_length=256)
    ok = voiced & np.isfinite(f0)
    return float(np.median(librosa.hz_to_midi(f0[ok]))) if ok.sum() >= 3 else float("nan")


def verify_pitch(region):
    """-> (natural pitch to use, octave_fix in semitones) or None when the audio does not confirm the mapping."""
    measured = measure_pitch(region)
    for fix in (0, -12, 12):
        if abs(measured - (region["mapped"] + fix)) <= PITCH_TOL:
            return region["mapped"] + fix, fix, measured
    return None


# ----------------------------------------------------------------------------------------------------- libraries
def library_key(folder):
    """A library folder -> its LIBRARIES key (folder named owner+name, name, or anything ending in the name)."""
    name = Path(folder).name.lower()
    for key in LIBRARIES:
        if name in (key.lower().replace("/", "+"), key.split("/")[1].lower()):
            return key
    return None


def is_reserved(path):
    low = str(path).lower()
    return next((r for r in RESERVED if r in low), None)


def use_libraries(spec):
    """--sfz_libs 'PATH[=FAMILY[:SOURCE]],...' -> the (sfz file, family, source, library, program) list to render."""
    global _LIBS
    _LIBS = []
    for entry in filter(None, (spec or "").split(",")):
        path, _, label = entry.partition("=")
        family, _, source = label.partition(":")
        path = Path(path.strip())
        if is_reserved(path):
            sys.exit(f"error: --sfz_libs {path}: '{is_reserved(path)}' is reserved for independent evaluation; "
                     f"never render it")
        if path.suffix.lower() == ".sfz":
            if family not in FAMILIES or (source or "acoustic") not in SOURCES:
                sys.exit(f"error: --sfz_libs {entry}: a single .sfz needs =FAMILY[:SOURCE] with a family of "
                         f"{FAMILIES} and a source of {SOURCES}")
            if not path.is_file():
                sys.exit(f"error: --sfz_libs {path}: no such file; fetch the library first (standins/README.txt)")
            _LIBS.append((str(path), family, source or "acoustic", path.parent.name, path.name))
            continue
        if not path.is_dir():
            sys.exit(f"error: --sfz_libs {path}: no such folder; fetch the libraries first (standins/README.txt)")
        folders = [path] if library_key(path) else sorted(p for p in path.iterdir() if p.is_dir() and library_key(p))
        if not folders:
            sys.exit(f"error: --sfz_libs {path}: neither a known library nor a folder holding one (known: "
                     f"{', '.join(LIBRARIES)}); give PROGRAM.sfz=FAMILY for another library")
        for folder in folders:
            if is_reserved(folder):
                sys.exit(f"error: --sfz_libs {folder}: reserved for independent evaluation; never render it")
            key = library_key(folder)
            for program, fam, src in LIBRARIES[key]:
                if not (folder / program).is_file():
                    print(f"warning: {folder / program} not found (incomplete fetch?); skipped")
                    continue
                _LIBS.append((str(folder / program), family or fam, source or src, key, program))


def available():
    if not _LIBS:
        return ("no sample library given: fetch them (standins/README.txt) and pass --sfz_libs /work/data/libs "
                "(or PROGRAM.sfz=FAMILY,...)")
    return None


def provenance():
    libs = sorted({lib for _, _, _, lib, _ in _LIBS})
    return "rendered from recorded sample libraries: " + ", ".join(
        f"{lib} ({LICENCES.get(lib, 'CC0')})" for lib in libs)


def fetch_list():
    return sorted({f"github:{lib}" if lib in LIBRARIES else lib for _, _, _, lib, _ in _LIBS})


def confirmed_pitch(region, skipped):
    """verify_pitch, counting in `skipped` why a region is left out: a sample that can't be read (snapshots hold
    some empty or broken files) or a pitch the audio does not confirm."""
    try:
        check = verify_pitch(region)
    except (RuntimeError, ValueError):      # soundfile's LibsndfileError is a RuntimeError
        skipped["unreadable sample"] = skipped.get("unreadable sample", 0) + 1
        return None
    if check is None:
        skipped["pitch not confirmed"] = skipped.get("pitch not confirmed", 0) + 1
    return check


def program_regions(sfz_file, verbose=False):
    """The program's kept regions, each with its verified natural pitch; -> (regions, Counter of drops)."""
    kept, skipped = select_regions(sfz_file, library_root(sfz_file))
    out = []
    for r in kept:
        check = confirmed_pitch(r, skipped)
        if check is None:
            continue
        r = dict(r, pitch=round(float(check[0]), 3), octave_fix=check[1], measured=round(check[2], 2))
        if check[1]:
            skipped[f"octave fixed {check[1]:+d}"] += 1
        out.append(r)
    if verbose:
        print(f"{sfz_file}: {len(out)} regions kept; {dict(skipped)}")
    return out, skipped


def library_root(sfz_file):
    for parent in Path(sfz_file).parents:
        if library_key(parent):
            return parent
    return Path(sfz_file).parent


def instruments(families, n_per_family, seed):
    """One instrument per listed program (n_per_family is ignored: a library holds the instruments it holds)."""
    out = []
    for sfz_file, family, source, lib, program in _LIBS:
        if family not in families:
            continue
        regions, skipped = program_regions(sfz_file)
        if not regions:
            print(f"warning: {sfz_file}: no region kept ({dict(skipped)}); skipped")
            continue
        name = f"{lib.split('/')[-1]}:{Path(program).stem}"
        print(f"{name}: {len(regions)} regions, MIDI {min(r['pitch'] for r in regions):.0f}-"
              f"{max(r['pitch'] for r in regions):.0f}; dropped {dict(skipped)}")
        out.append({"family": family, "source": source, "unit": lib, "name": name, "lineage": lib.split("/")[-1],
                    "params": {"name": name, "library": lib, "program": program, "regions": regions,
                               "distortion": False}})
    return out


# ------------------------------------------------------------------------------------------------------ rendering
def pick_region(params, pitch, velocity):
    """The region a note plays: its velocity layer (else the nearest), then the sample nearest in pitch, within
    MAX_SHIFT semitones; None when no recording is that close."""
    best = None
    for r in params["regions"]:
        shift = pitch - r["pitch"]
        if abs(shift) > MAX_SHIFT + 1e-6:
            continue
        vel_gap = max(r["lovel"] - velocity, velocity - r["hivel"], 0)
        key = (vel_gap, abs(shift), r["file"])
        if best is None or key < best[0]:
            best = (key, r)
    return None if best is None else best[1]


def playable(params, pitch, velocity):
    return pick_region(params, pitch, velocity) is not None


def note_info(params, pitch, velocity):
    r = pick_region(params, pitch, velocity)
    return None if r is None else {
        "sample": r["file"].split("/libs/")[-1], "natural_pitch": r["pitch"],
        "shift_semitones": round(pitch - r["pitch"], 3),
        "octave_fix": r["octave_fix"], "layer": [r["lovel"], r["hivel"]]}


def render_region(r, pitch, sr, dur, off):
    import librosa
    x, src_sr = load_sample(r["file"])
    start = r["offset"]
    x = x[start: r["end"] or None]
    onset = onset_of(x, src_sr)
    x = x[onset:]
    shift = pitch - r["pitch"]
    ratio = 2 ** (shift / 12)                     # played back at sr, resampled to sr/ratio sounds `shift` higher
    n, n_off = int(dur * sr), int(off * sr)
    loop = r["loop"]
    if loop and loop[1] - onset - start > loop[0] - onset - start > 0:
        a, b = loop[0] - onset - start, loop[1] - onset - start
        need = int(dur * src_sr * ratio) + 1
        if len(x) < need and b <= len(x):         # repeat the loop (sfz loops are seamless by construction)
            reps = int(np.ceil((need - a) / (b - a)))
            x = np.concatenate([x[:a], np.tile(x[a:b], reps)])
    x = x[: int((dur + 0.2) * src_sr * ratio)]
    y = librosa.resample(x, orig_sr=src_sr, target_sr=sr / ratio, res_type="soxr_hq")
    fade_in = np.minimum(1.0, np.arange(len(y)) / (0.001 * sr))
    y = y * fade_in
    if len(y) > n_off:                            # still sounding at note-off: release
        t = np.arange(len(y)) / sr
        env = np.where(t < off, 1.0, np.exp(-6.9 * (t - off) / r["release"]))
        env[t >= off + r["release"]] = 0.0
        y = y * env
    else:                                         # shorter than the hold: ends as recorded, with a 5 ms de-click
        k = min(len(y), int(0.005 * sr))
        y[len(y) - k:] *= np.linspace(1, 0, k)
    y = np.concatenate([y, np.zeros(max(0, n - len(y)))])[:n]
    return y


def render_notes(params, notes, sr, dur, off, seed):
    out = []
    for pitch, velocity in notes:
        r = pick_region(params, pitch, velocity)
        out.append(None if r is None else render_region(r, pitch, sr, dur, off))
    return out


if __name__ == "__main__":
    # sanity check by numbers: per program, regions kept and why others were dropped (pitch checked with pyin)
    use_libraries(",".join(sys.argv[1:]) or "/work/data/libs")
    for sfz_file, family, source, lib, program in _LIBS:
        regions, skipped = program_regions(sfz_file)
        fixes = sum(1 for r in regions if r["octave_fix"])
        print(f"{lib:50s} {program:45s} {family:8s} kept {len(regions):3d} (octave-fixed {fixes}) "
              f"MIDI {min((r['pitch'] for r in regions), default=0):.0f}-"
              f"{max((r['pitch'] for r in regions), default=0):.0f} dropped {dict(skipped)}", flush=True)
