"""
ZynAddSubFX preset banks as an instrument source for standins/render_nsynth.py (--sources zyn, source "synthetic").

What it renders: one instrument per .xiz preset of the ZynAddSubFX banks (synth basses, brass, pads, organs, EPs,
bells, leads, choirs ... the synthesizer timbres NSynth has and General-MIDI fonts lack), played by the ZynAddSubFX
VST inside DawDreamer. All notes of an instrument are one score in one engine run: note k starts at k * 4.25 s, is
released at +3 s and cut off at +4 s by MIDI All-Sound-Off (CC 120, which also clears the part's effects), so no tail
reaches the next slot.

Families: a categorised bank gives the family unless the preset's name says otherwise; a preset of another bank
is used only when its name says what it is (rules in NAME_RULES, checked in order; names with pad/FX ... in
unfiled banks, chords, accordions, harmonicas, harps, sitars, banjos, breath and drum sounds are skipped):
    Bass -> bass            Brass -> brass         Choir and Voice -> vocal     Reed and Wind -> reed (flute by name)
    Strings -> string       Organ -> organ         Guitar, Plucked -> guitar    Rhodes, SynthPiano -> keyboard
    Synth -> synth_lead     bells, chimes, vibes, marimbas, steel drums (by name, any bank) -> mallet
645 presets: keyboard 104, synth_lead 83, organ 73, bass 71, string 62, vocal 60, mallet 48, guitar 46, brass 35,
flute 33, reed 30 (15 to 58 units per family). Names with dist/overdrive/crunch/grit/trash/fuzz set the NSynth
"distortion" quality. Split unit = the preset name without numbers and punctuation
("Saw Strings 1".."8" are one unit), so numbered variants and copies in other banks never straddle splits.

Install:  apt-get install -y zynaddsubfx-vst zynaddsubfx-data      pip install dawdreamer
Licences: ZynAddSubFX and its banks GPL-2+; DawDreamer GPL-3 (imported only by the render child process).

Process isolation: the plugin renders in a child process of its own (this file run with --child, one per calling
process, fed JSON jobs on stdin), because Faust must never be compiled in a process that has loaded ZynAddSubFX.
Reproducibility: not bit-reproducible in general. ZynAddSubFX draws random phases, unison detunes and noise from one
global generator (zyn::prng_state); the child sets it from (seed, preset) before loading each preset, and then most
notes render bit-identically from run to run (27 of 44 in a 1-worker vs 2-worker comparison). Presets with
PADsynth, SUBsynth or randomised oscillators also depend on what the plugin played before in that process and on
its background thread, so their notes vary from run to run like a preset played twice: same notes, lengths, pitch
and family; band levels that differ in detail, at times by 30 dB in a band (third-octave level profiles correlate
0.67-1.0 in that comparison). (A fresh process per instrument would remove the history part, at ~1.4 s per instrument.)
Sanity check by numbers: python standins/source_zyn.py --check  (peak, RMS envelope, centroid, pitch per family)
"""
import gzip
import importlib.util
import os
import re
import struct
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np

from render_common import child_render, pick_per_family, preset_words as words, serve_child

PLUGIN = Path("/usr/lib/vst/ZynAddSubFX.so")
BANKS = Path("/usr/share/zynaddsubfx/banks")
SETTLE_S, GAP_S = 0.25, 0.25   # render after loading a preset; silence between note slots (tail cut by CC 120)

BANK_FAMILY = {"Bass": "bass", "Brass": "brass", "Choir and Voice": "vocal", "Reed and Wind": "reed",
               "Strings": "string", "Organ": "organ", "Guitar": "guitar", "Plucked": "guitar",
               "Rhodes": "keyboard", "SynthPiano": "keyboard", "Synth": "synth_lead"}
SKIP_BANKS = {"Arpeggios", "Drums", "Dual", "Noises", "Splitted"}   # sequences, kits, layered two-instrument patches
NEVER = r"accord|concertina|harmonica|\bharp(?!si)|sitar|banjo|breath|drum ?kit|kick|snare|hithat|\bfx\b|noise|" \
        r"glitch|arpeg|sequen|(?<!harpsi)chord"
UNFILED_SKIP = r"pad|\band\b|5ths|\bperc\b|effect|atmos|edm|stab|swell"
NAME_RULES = [
    (r"lead ?bass|bass ?lead|bassy", None),
    (r"bass(?!oon)", "bass"),
    (r"organ|clonewheel|hammond", "organ"),
    (r"bells?\b|chime|vibes|vibraphone|marimba|xylophone|glock|music ?box|steel ?drum|mallet|tubular|campane",
     "mallet"),
    (r"flute|pan ?pipe|recorder|whistle|ocarina|piccolo|zufolo|bottle", "flute"),
    (r"clarinet|bassoon|fagotto|sax|oboe|reed", "reed"),
    (r"brass|brazz|trumpet|horn|fanfar|trombone|tuba", "brass"),
    (r"choir|voices?\b|vocal|\bvox|\bahh|\booh|\booo|soprano", "vocal"),
    (r"piano|rhodes|\bep\b|e p\b|clav|harpsichord|keys\b", "keyboard"),
    (r"guitar|gitar|twang|nylon|plucked string", "guitar"),
    (r"string|violin|fiddle|viola|cello", "string"),
    (r"lead|supersaw|solo synth", "synth_lead"),
]


def preset_family(bank, name):
    """Family of a preset from its bank folder and name, or None when it can't be labelled."""
    n = words(name)
    if bank in SKIP_BANKS or re.search(NEVER, n) or (bank not in BANK_FAMILY and re.search(UNFILED_SKIP, n)):
        return None
    for rule, family in NAME_RULES:
        if re.search(rule, n):
            return family
    return BANK_FAMILY.get(bank)


def available():
    if not PLUGIN.is_file() or not BANKS.is_dir():
        return f"ZynAddSubFX not found ({PLUGIN}, {BANKS}): apt-get install -y zynaddsubfx-vst zynaddsubfx-data"
    for module in ("dawdreamer", "mido"):
        if importlib.util.find_spec(module) is None:
            return f"python package '{module}' missing: pip install dawdreamer mido"
    return None


def instruments(families, n_per_family, seed):
    by_family = {}
    for path in sorted(BANKS.glob("*/*.xiz")):
        bank, name = path.parent.name, re.sub(r"^\d+-", "", path.stem)
        family = preset_family(bank, name)
        if family in families:
            by_family.setdefault(family, []).append({
                "family": family, "source": "synthetic", "unit": words(name), "name": f"{bank}/{path.stem}",
                "params": {"preset": str(path.relative_to(BANKS)),
                           "distortion": bool(re.search(r"dist|overdrive|crunch|grit|trash|fuzz", words(name)))}})
    return pick_per_family(by_family, n_per_family, seed)


def is_tone(y, sr):
    """False for NaN, silence, or noise (flat spectrum over the held part of the note)."""
    if y is None or not np.all(np.isfinite(y)) or np.abs(y).max() < 1e-4:
        return False
    held = y[int(0.05 * sr): int(2.9 * sr)]
    frames = held[: len(held) // 2048 * 2048].reshape(-1, 2048)
    power = (np.abs(np.fft.rfft(frames * np.hanning(2048), axis=1)) ** 2).mean(0)[1:] + 1e-20
    return bool(np.exp(np.log(power).mean()) / power.mean() < 0.5)


def render_notes(params, notes, sr, dur, off, seed):
    """Render every note of one preset in the plugin's child process; None for a silent or noise-only note."""
    job = {"preset": params["preset"], "notes": [[int(p), int(v)] for p, v in notes], "sr": int(sr),
           "dur": float(dur), "off": float(off), "seed": int(seed)}
    ys = child_render(__file__, job, "ZynAddSubFX", f"ZynAddSubFX preset {params['preset']}")
    return [y if is_tone(y, sr) else None for y in ys]


# ---- the plugin side: runs only in the child process (or in --check) ----
_engine = {}


def render_job(job, tmp):
    """-> float32 array (notes, dur * sr) for one job."""
    import ctypes
    import dawdreamer
    import mido
    sr, n_out = job["sr"], int(job["dur"] * job["sr"])
    if _engine.get("sr") != sr:
        engine = dawdreamer.RenderEngine(sr, 256)
        synth = engine.make_plugin_processor("zyn", str(PLUGIN))
        engine.load_graph([(synth, [])])
        # load_state does not work for this plugin: save its state once as an .fxb (a chunk holding the master
        # XML), and later splice each preset's <INSTRUMENT> into part 0 of that XML
        synth.save_state(f"{tmp}/base.fxb")
        try:
            prng = ctypes.c_uint32.in_dll(ctypes.CDLL(str(PLUGIN), mode=os.RTLD_NOLOAD), "_ZN3zyn10prng_stateE")
        except (OSError, ValueError):
            prng = None
        _engine.update(sr=sr, engine=engine, synth=synth, base=Path(f"{tmp}/base.fxb").read_bytes(), prng=prng)
    engine, synth, base = _engine["engine"], _engine["synth"], _engine["base"]

    raw = (BANKS / job["preset"]).read_bytes()
    xiz = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("utf-8", "replace")
    instrument = re.search(r"<INSTRUMENT>.*</INSTRUMENT>", xiz, re.S).group(0)
    chunk = base[160:].decode("latin-1")          # fxb: 156-byte bank header, int32 chunk size, chunk
    start = chunk.index("<INSTRUMENT>", chunk.index('<PART id="0">'))
    end = chunk.index("</INSTRUMENT>", start) + len("</INSTRUMENT>")
    chunk = (chunk[:start] + instrument + chunk[end:]).encode("latin-1", "replace")
    Path(f"{tmp}/preset.fxb").write_bytes(base[:156] + struct.pack(">i", len(chunk)) + chunk)
    if _engine["prng"] is not None:
        _engine["prng"].value = zlib.crc32(f"{job['seed']}|{job['preset']}".encode()) | 1
    synth.load_preset(f"{tmp}/preset.fxb")
    synth.clear_midi()
    engine.render(SETTLE_S)

    slot_ms = int(round((job["dur"] + GAP_S) * 1000))
    events = []
    for k, (pitch, velocity) in enumerate(job["notes"]):
        t0 = k * slot_ms
        events += [(t0, mido.Message("note_on", note=pitch, velocity=velocity)),
                   (t0 + int(job["off"] * 1000), mido.Message("note_off", note=pitch, velocity=64)),
                   (t0 + int(job["dur"] * 1000), mido.Message("control_change", control=120, value=0))]
    midi = mido.MidiFile(ticks_per_beat=1000)     # with tempo 1 s per beat, one tick = 1 ms
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=1_000_000)])
    midi.tracks.append(track)
    last = 0
    for t, message in sorted(events, key=lambda e: e[0]):
        track.append(message.copy(time=t - last))
        last = t
    midi.save(f"{tmp}/score.mid")
    synth.load_midi(f"{tmp}/score.mid", clear_previous=True, all_events=True)
    engine.render(len(job["notes"]) * slot_ms / 1000)
    audio = engine.get_audio().mean(0)
    slot = slot_ms * sr // 1000
    return np.stack([audio[k * slot: k * slot + n_out] for k in range(len(job["notes"]))]).astype(np.float32)


def child_main():
    with tempfile.TemporaryDirectory(prefix="zyn_") as tmp:
        serve_child(lambda job: render_job(job, tmp))


def check(per_family=2):
    """Print peak, RMS envelope (every 0.5 s), spectral centroid and autocorrelation pitch for a few presets."""
    sr, notes = 16000, [(36, 100), (60, 127), (60, 25), (84, 100)]
    for inst in instruments(sorted(set(BANK_FAMILY.values()) | {"flute", "mallet"}), per_family, 0):
        ys = render_notes(inst["params"], notes, sr, 4.0, 3.0, 0)
        for (pitch, velocity), y in zip(notes, ys):
            if y is None:
                print(f"{inst['family']:10s} {inst['name'][:28]:28s} {pitch:3d}/{velocity:3d}  rejected")
                continue
            env = np.sqrt((y[: 64000].reshape(8, -1) ** 2).mean(1))
            spec = np.abs(np.fft.rfft(y[8000:40000]))
            centroid = (spec * np.fft.rfftfreq(32000, 1 / sr)).sum() / spec.sum()
            ac = np.correlate(y[16000:24000], y[16000:20000], "valid")   # lags 0..4000
            first = int(np.argmax(ac < 0))                 # past the first zero crossing, the first lag
            lag = first + int(np.argmax(ac[first:1000] > 0.9 * ac[first:1000].max()))   # within 90 % of the best
            print(f"{inst['family']:10s} {inst['name'][:28]:28s} {pitch:3d}/{velocity:3d} peak {np.abs(y).max():.3f} "
                  f"centroid {centroid:5.0f} Hz  f0 {sr / lag:6.1f} (asked {440 * 2 ** ((pitch - 69) / 12):6.1f})  "
                  f"rms " + " ".join(f"{e:.3f}" for e in env))


if __name__ == "__main__":
    if "--child" in sys.argv:
        child_main()
    elif "--check" in sys.argv:
        sys.exit(available() or check())
    else:
        sys.exit("usage: python standins/source_zyn.py --check   (render_nsynth.py runs it as --child)")
