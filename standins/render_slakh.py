"""
Render a stand-in for the course's Slakh release (HW1) from generated multi-track MIDI and General-MIDI SoundFonts.

    python standins/render_slakh.py --out /work/data/slakh_proxy

Layout (like the course release):
    <out>/{train,validation,test}/<TrackXXXXX>_<kkk>.npy   float32 mono, 24 kHz, 120000 samples (5 s windows k)
    <out>/{train,validation,test}_labels.json             {"<name>.npy": [9 ints]}  (class order below)
    <out>/test_track/TrackXXXXX.flac + TrackXXXXX.mid      whole test tracks (mix at 44.1 kHz, multi-track MIDI)
    <out>/midi/<split>/TrackXXXXX.mid                      the MIDI behind every clip track (labels can be re-derived)
    <out>/dataset_info.json                                provenance, fonts, split rule, counts, command
Classes: 0 Piano, 1 Percussion, 2 Organ, 3 Guitar, 4 Bass, 5 Strings, 6 Voice, 7 Wind Instruments, 8 Synth.

Tracks: random tempo/key/mode and a 4-chord progression; 2-6 pitched parts (bass line, block or arpeggiated chords,
melody, pad, mallet/percussion line) that enter and leave per 2-bar section, plus a drum groove in most tracks
(--drum_prob). Each part is rendered alone (tinysoundfont, one SoundFont per Synth, reset first) and the stems are
mixed with random gains, then the mix is peak-normalised to a random level in [0.5, 0.95].

Labels come from the MIDI through the course's program -> class map (COURSE_MAP below, equal to the released
idx2instrument_class.json, with the released "Wind instruments" spelling of programs 109/111 read as
"Wind Instruments"). Drum tracks (is_drum) are NOT labelled "Percussion", matching the released labels (the course's
script never maps program 128). Window k (k*5 s .. k*5+5 s) has class c if any note of class c overlaps it
(start < window end and end > window start). Only full 5 s windows become clips.

Splits are instrument-disjoint: the unit is (sample lineage, GM program); per lineage and class, the programs are
shuffled (seeded) and cut by the fractions of --splits (see standins/render_nsynth.py for lineages). A track of a split
uses one lineage and only that split's programs; drum kits are unlabelled and come from the same lineage.
"""
import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from render_common import clean_synth, key_seed, parse_splits, resolve_fonts

ap = argparse.ArgumentParser(description=__doc__.split("\n")[1], formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--out", required=True)
ap.add_argument("--fonts", nargs="*", default=None, help="SoundFont paths, optionally PATH=LINEAGE (default: known "
                                                          "GM fonts installed under /usr/share/sounds/sf2 and sf3)")
ap.add_argument("--splits", default="train=fluid:0.6,timgm:0.6;validation=fluid:0.2,timgm:0.2;"
                                    "test=fluid:0.2,timgm:0.2", help="per-lineage program fractions per split")
ap.add_argument("--tracks", default="train=40,validation=10,test=10", help="clip tracks per split")
ap.add_argument("--test_tracks", type=int, default=4, help="whole tracks (flac + mid) written to test_track/")
ap.add_argument("--track_len", default="20,40", help="track length range in seconds (min,max)")
ap.add_argument("--min_parts", type=int, default=2)
ap.add_argument("--max_parts", type=int, default=6)
ap.add_argument("--drum_prob", type=float, default=0.85)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
args = ap.parse_args()

SR = 24000
TRACK_SR = 44100
CLIP_S = 5.0
CLASSES = ["Piano", "Percussion", "Organ", "Guitar", "Bass", "Strings", "Voice", "Wind Instruments", "Synth"]
# course idx2instrument_class.json, programs 0..127 (0-based, as pretty_midi); 128 (drums) is not used for labels
COURSE_MAP = (["Piano"] * 8 + ["Percussion"] * 8 + ["Organ"] * 8 + ["Guitar"] * 8 + ["Bass"] * 8
              + ["Strings"] * 12 + ["Voice"] * 3 + ["Strings"] + ["Wind Instruments"] * 24 + ["Synth"] * 24
              + ["Strings"] * 4 + ["Piano", "Wind Instruments", "Strings", "Wind Instruments"]
              + ["Percussion"] * 8 + ["Synth"] * 8)
assert len(COURSE_MAP) == 128
# programs we render per class (sound effects 119-127, orchestra hit 55 and reverse cymbal left out)
RENDER_PROGRAMS = [p for p in range(119) if p != 55]
# musical roles -> classes whose programs may play them
ROLES = {
    "bass": ["Bass"],
    "chords": ["Piano", "Organ", "Guitar", "Strings", "Synth", "Wind Instruments"],
    "arp": ["Piano", "Guitar", "Percussion", "Synth"],
    "melody": ["Wind Instruments", "Voice", "Strings", "Synth", "Piano", "Guitar", "Organ"],
    "pad": ["Strings", "Voice", "Organ", "Synth", "Wind Instruments"],
}
SCALES = {"major": [0, 2, 4, 5, 7, 9, 11], "minor": [0, 2, 3, 5, 7, 8, 10]}
PROGRESSIONS = [[0, 4, 5, 3], [0, 5, 3, 4], [5, 3, 0, 4], [0, 3, 4, 3], [0, 5, 1, 4], [1, 4, 0, 0]]




def window_labels(pm, n_windows):
    """[n_windows x 9] activity from a PrettyMIDI: class active if any of its notes overlaps the window."""
    lab = np.zeros((n_windows, len(CLASSES)), dtype=int)
    for inst in pm.instruments:
        if inst.is_drum:
            continue  # drums are not "Percussion" in the course labels
        c = CLASSES.index(COURSE_MAP[inst.program])
        for n in inst.notes:
            k0 = int(np.floor(n.start / CLIP_S))
            k1 = int(np.ceil(n.end / CLIP_S))  # windows k0 .. k1-1 overlap [start, end)
            lab[max(k0, 0):min(k1, n_windows), c] = 1
    return lab


def make_track(rng, programs_by_class, length_s):
    """Random multi-track song as a PrettyMIDI."""
    import pretty_midi
    tempo = float(rng.uniform(70, 160))
    beat = 60.0 / tempo
    bar = 4 * beat
    n_bars = int(np.ceil(length_s / bar))
    root = int(rng.integers(0, 12))
    scale = SCALES[rng.choice(list(SCALES))]
    prog = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)

    def deg(d, octave):  # scale degree -> MIDI pitch
        return 12 * octave + root + scale[d % 7] + 12 * (d // 7)

    def chord(b):
        d = prog[b % len(prog)]
        return [d, d + 2, d + 4]

    avail = [c for c in CLASSES if programs_by_class.get(c)]
    roles = ["bass"] + list(rng.choice(["chords", "arp", "melody", "pad", "melody", "chords"],
                                       size=int(rng.integers(args.min_parts, args.max_parts + 1)) - 1))
    for role in roles:
        classes = [c for c in ROLES[role] if c in avail]
        if not classes:
            continue
        cls = classes[int(rng.integers(len(classes)))]
        program = int(rng.choice(programs_by_class[cls]))
        inst = pretty_midi.Instrument(program=program, name=f"{role}:{cls}")
        vel0 = int(rng.integers(60, 115))
        active = rng.uniform(size=(n_bars + 1) // 2) < rng.uniform(0.5, 0.95)  # enters / leaves per 2 bars
        active[int(rng.integers(len(active)))] = True
        style = int(rng.integers(3))
        for b in range(n_bars):
            if not active[b // 2]:
                continue
            t0 = b * bar
            ch = chord(b)
            v = lambda: int(np.clip(vel0 + rng.integers(-12, 13), 1, 127))  # noqa: E731
            if role == "bass":
                step = [beat, beat / 2, 2 * beat][style]
                for k in range(int(round(bar / step))):
                    d = ch[0] if k % 4 != 3 or rng.uniform() < 0.5 else ch[int(rng.integers(3))]
                    inst.notes.append(pretty_midi.Note(v(), deg(d, 2 + (root < 4)), t0 + k * step,
                                                       t0 + (k + 0.9) * step))
            elif role == "chords":
                hits = [[0.0, 4.0], [0.0, 2.0, 2.0, 2.0], [0.0, 1.5, 1.5, 1.0, 2.5, 1.5]][style]
                for s, d in zip(hits[0::2], hits[1::2]):
                    for c in ch:
                        inst.notes.append(pretty_midi.Note(v(), deg(c, 4), t0 + s * beat, t0 + (s + d) * beat * 0.95))
            elif role == "arp":
                step = beat / 2 if style else beat / 4
                for k in range(int(round(bar / step))):
                    c = ch[k % 3] + 7 * ((k // 3) % 2)
                    inst.notes.append(pretty_midi.Note(v(), deg(c, 4), t0 + k * step, t0 + (k + 0.9) * step))
            elif role == "pad":
                for c in ch:
                    inst.notes.append(pretty_midi.Note(v(), deg(c, 3 + int(rng.integers(2))), t0, t0 + bar * 0.98))
            else:  # melody: random walk on the scale, mixed note lengths and rests
                t, d = 0.0, ch[int(rng.integers(3))] + 7
                while t < 4.0 - 1e-6:
                    dur = float(rng.choice([0.5, 0.5, 1.0, 1.0, 1.5, 2.0]))
                    dur = min(dur, 4.0 - t)
                    if rng.uniform() > 0.15:
                        inst.notes.append(pretty_midi.Note(v(), deg(d, 4), t0 + t * beat, t0 + (t + dur * 0.95) * beat))
                    d = int(np.clip(d + rng.integers(-2, 3), 3, 13))
                    t += dur
        if inst.notes:
            pm.instruments.append(inst)
    if rng.uniform() < args.drum_prob:
        drums = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
        groove = int(rng.integers(3))
        for b in range(n_bars):
            t0 = b * bar
            for k in range(8):  # eighths
                t = t0 + k * beat / 2
                vv = int(rng.integers(70, 120))
                if k in ((0, 4) if groove != 1 else (0, 3, 4)):
                    drums.notes.append(pretty_midi.Note(vv, 36, t, t + 0.1))
                if k in (2, 6):
                    drums.notes.append(pretty_midi.Note(vv, 38 if groove != 2 else 40, t, t + 0.1))
                drums.notes.append(pretty_midi.Note(vv - 20, 42 if groove != 2 or k % 2 else 46, t, t + 0.05))
            if b % 4 == 0:
                drums.notes.append(pretty_midi.Note(100, 49, t0, t0 + 0.5))
        pm.instruments.append(drums)
    return pm


def render_part(font, inst, sr, n_samples):
    """One instrument of a PrettyMIDI through one SoundFont, mono float64 of n_samples."""
    synth, sfid = clean_synth(font, sr)
    chan = 9 if inst.is_drum else 0
    synth.program_select(chan, sfid, 0, inst.program, is_drums=inst.is_drum)
    ev = [(n.start, 1, n.pitch, n.velocity) for n in inst.notes] + [(n.end, 0, n.pitch, 0) for n in inst.notes]
    ev.sort()  # note-offs before note-ons at equal times
    out = np.zeros((n_samples, 2), dtype=np.float32)
    pos = 0
    for t, on, pitch, vel in ev + [(n_samples / sr, -1, 0, 0)]:
        target = min(n_samples, int(round(t * sr)))
        if target > pos:
            out[pos:target] = np.frombuffer(synth.generate(target - pos), dtype=np.float32).reshape(-1, 2)
            pos = target
        if on == 1:
            synth.noteon(chan, pitch, vel)
        elif on == 0:
            synth.noteoff(chan, pitch)
    return out.mean(1).astype(np.float64)


def render_mix(pm, font, sr, rng):
    n = int((pm.get_end_time() + 1.0) * sr)
    mix = np.zeros(n)
    for inst in pm.instruments:
        y = render_part(font, inst, sr, n)
        rms = np.sqrt(np.mean(y ** 2))
        gain = 10 ** (rng.uniform(-6, 3) / 20) * (0.6 if inst.is_drum else 1.0)
        if rms > 1e-5:  # a stem the font cannot play stays silent instead of amplified noise
            mix += y / rms * gain
    return mix / (np.abs(mix).max() + 1e-9) * rng.uniform(0.5, 0.95)


def render_track(task):
    """Generate, render and cut one track; returns (split, {clip name: labels}, class counter)."""
    import pretty_midi  # noqa: F401
    import soundfile as sf
    rng = np.random.default_rng([args.seed, task["track_id"], 31])
    lo, hi = (float(x) for x in args.track_len.split(","))
    pm = make_track(rng, task["programs_by_class"], rng.uniform(lo, hi))
    name = f"Track{task['track_id']:05d}"
    out = Path(task["out"])
    if task["kind"] == "test_track":
        pm.write(str(out / "test_track" / f"{name}.mid"))
        y = render_mix(pm, task["font"], TRACK_SR, rng)
        sf.write(out / "test_track" / f"{name}.flac", y, TRACK_SR, subtype="PCM_16")
        return task["split"], {}, name
    pm.write(str(out / "midi" / task["split"] / f"{name}.mid"))
    y = render_mix(pm, task["font"], SR, rng).astype(np.float32)
    n_win = int(pm.get_end_time() // CLIP_S)
    lab = window_labels(pm, n_win)
    labels = {}
    L = int(CLIP_S * SR)
    for k in range(n_win):
        clip = f"{name}_{k:03d}.npy"
        np.save(out / task["split"] / clip, y[k * L:(k + 1) * L])
        labels[clip] = lab[k].tolist()
    return task["split"], labels, name


def main():
    t0 = time.time()
    split_rule, split_names = parse_splits(args.splits)
    n_tracks = {}
    for tok in filter(None, args.tracks.replace(" ", "").split(",")):
        s, _, n = tok.partition("=")
        n_tracks[s] = int(n)
    fonts = resolve_fonts(args.fonts)
    lineages = sorted({lin for _, lin in fonts if lin in split_rule})
    if not lineages:
        sys.exit(f"error: none of the fonts {[f for f, _ in fonts]} belongs to a lineage named in --splits")

    # (lineage, program) units -> split, per lineage and class
    units = {s: {lin: {} for lin in lineages} for s in split_names}  # split -> lineage -> class -> programs
    for lin in lineages:
        for c in CLASSES:
            progs = [p for p in RENDER_PROGRAMS if COURSE_MAP[p] == c]
            rng = np.random.default_rng(key_seed("split", args.seed, lin, c))
            rng.shuffle(progs)
            cum, start = 0.0, 0
            for s, f in split_rule[lin]:
                cum += f
                end = int(round(min(cum, 1.0) * len(progs)))
                units[s][lin][c] = sorted(progs[start:end])
                start = end

    tasks, tid = [], 1
    out = Path(args.out)
    for s in split_names:
        (out / s).mkdir(parents=True, exist_ok=True)
        (out / "midi" / s).mkdir(parents=True, exist_ok=True)
        kinds = [("clips", n_tracks.get(s, 0))] + ([("test_track", args.test_tracks)] if s == "test" else [])
        for kind, n in kinds:
            for _ in range(n):
                rng = np.random.default_rng([args.seed, tid, 5])
                lins = [lin for lin in lineages if any(units[s][lin].values())]
                if not lins:
                    sys.exit(f"error: split '{s}' has no programs (check --splits)")
                lin = lins[int(rng.integers(len(lins)))]
                lfonts = [f for f, fl in fonts if fl == lin]
                tasks.append({"track_id": tid, "split": s, "kind": kind, "out": str(out), "lineage": lin,
                              "font": lfonts[int(rng.integers(len(lfonts)))], "programs_by_class": units[s][lin]})
                tid += 1
    if args.test_tracks:
        (out / "test_track").mkdir(parents=True, exist_ok=True)
    print(f"{len(tasks)} tracks into {out} with {args.workers} worker(s)")

    labels = {s: {} for s in split_names}
    track_font = {}
    bar = tqdm(total=len(tasks), unit="track", desc="render")
    if args.workers > 1:
        import multiprocessing as mp
        with mp.get_context("spawn").Pool(args.workers) as pool:
            it = pool.imap_unordered(render_track, tasks)
            for s, lab, name in it:
                labels[s].update(lab)
                bar.update()
    else:
        for t in tasks:
            s, lab, name = render_track(t)
            labels[s].update(lab)
            bar.update()
    bar.close()
    for t in tasks:
        track_font[f"Track{t['track_id']:05d}"] = {"split": t["split"], "kind": t["kind"], "lineage": t["lineage"],
                                                   "font": Path(t["font"]).name}
    counts = {}
    for s in split_names:
        with open(out / f"{s}_labels.json", "w") as f:
            json.dump(dict(sorted(labels[s].items())), f)
        arr = np.array(list(labels[s].values()) or np.zeros((0, 9)), dtype=int).reshape(-1, 9)
        counts[s] = {"clips": len(arr), "positives": dict(zip(CLASSES, arr.sum(0).tolist()))}
    info = {
        "provenance": "rendered proxy data from SoundFonts (not Slakh2100): generated multi-track MIDI rendered by "
                      "standins/render_slakh.py with tinysoundfont",
        "command": shlex.join(["python", "standins/render_slakh.py", *sys.argv[1:]]), "args": vars(args),
        "fonts": [{"path": p, "lineage": lin} for p, lin in fonts],
        "split_rule": {"spec": args.splits, "unit": "(lineage, GM program), per lineage and class cut by fractions",
                       "programs": units},
        "classes": CLASSES, "sample_rate": SR, "clip_s": CLIP_S, "test_track_sample_rate": TRACK_SR,
        "counts": counts, "tracks": track_font, "render_time_s": round(time.time() - t0, 1),
    }
    with open(out / "dataset_info.json", "w") as f:
        json.dump(info, f, indent=1)
    for s, c in counts.items():
        print(f"{s}: {c['clips']} clips, positives {c['positives']}")
    print(f"{time.time() - t0:.0f} s; wrote {out / 'dataset_info.json'}")


if __name__ == "__main__":
    main()
