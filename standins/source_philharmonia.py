"""
Extra instrument source for standins/render_nsynth.py: the Philharmonia Orchestra's free orchestral samples (single
notes of real instruments, mp3), as mirrored in github:skratchdot/philharmonia-samples.

    python standins/render_nsynth.py --out DIR --sources philharmonia --philharmonia_dir \
        /work/data/libs/skratchdot+philharmonia-samples --splits "train=philharmonia:0.8;..." ...
    python standins/source_philharmonia.py DIR     # sanity check: notes kept per instrument, pitch checks

Files are audio/<instrument>/<instrument>_<note>_<length>_<dynamic>_<articulation>.mp3 (note like As3 = A#3,
C4 = 60; length 025/05/1/15 seconds, long, very-long). Kept: the articulation listed in TABLE, for each (note,
dynamic) the longest take. The dynamic is the velocity layer (pianissimo 25, piano 50, mezzo-piano 63, mezzo-forte
75, forte 100, fortissimo 127; a note asks for the nearest layer). Everything after that -- pitch verified with
pyin (octave slips corrected to the sounding pitch, other mismatches dropped), resampling by at most 2 semitones,
the 3 s hold and release, what dataset_info.json records per note -- is standins/source_sfz.py's.

    folder           articulation    family   source     (split unit = the instrument folder)
    saxophone        normal          reed     acoustic
    clarinet         normal          reed     acoustic
    bass clarinet    normal          reed     acoustic
    oboe             normal          reed     acoustic
    cor anglais      normal          reed     acoustic
    bassoon          normal          reed     acoustic
    contrabassoon    normal          reed     acoustic
    french horn      normal          brass    acoustic
    trombone         normal          brass    acoustic
    cello            arco-normal     string   acoustic
    double bass      arco-normal     string   acoustic
    double bass      pizz-normal     bass     acoustic
    flute            normal          flute    acoustic
    guitar           normal          guitar   acoustic

Licence: the Philharmonia's terms allow use in music and sound work but forbid selling or passing the samples on
as they are: keep them and the notes rendered from them out of git and out of any hand-in.
"""
import re
import sys
from pathlib import Path

import source_sfz

TABLE = [("saxophone", "normal", "reed"), ("clarinet", "normal", "reed"), ("bass clarinet", "normal", "reed"),
         ("oboe", "normal", "reed"), ("cor anglais", "normal", "reed"), ("bassoon", "normal", "reed"),
         ("contrabassoon", "normal", "reed"), ("french horn", "normal", "brass"), ("trombone", "normal", "brass"),
         ("cello", "arco-normal", "string"), ("double bass", "arco-normal", "string"),
         ("double bass", "pizz-normal", "bass"), ("flute", "normal", "flute"), ("guitar", "normal", "guitar")]
DYNAMICS = {"pianissimo": 25, "piano": 50, "mezzo-piano": 63, "mezzo-forte": 75, "forte": 100, "fortissimo": 127}
LENGTH_ORDER = ["025", "05", "1", "15", "long", "very-long"]
_FOLDER = None


def use_folder(path):
    global _FOLDER
    _FOLDER = Path(path) if path else None


def available():
    if _FOLDER is None or not (_FOLDER / "audio").is_dir():
        return (f"Philharmonia samples not found (--philharmonia_dir {_FOLDER}): fetch github:skratchdot/"
                f"philharmonia-samples and pass the folder that holds audio/ (standins/README.txt)")
    return None


def provenance():
    return ("rendered from recorded sample libraries: Philharmonia Orchestra samples (github:skratchdot/"
            "philharmonia-samples; not to be passed on as they are)")


def fetch_list():
    return ["github:skratchdot/philharmonia-samples"]


def note_midi(name):
    m = re.fullmatch(r"([A-G])(s?)(-?\d)", name)
    return None if m is None else source_sfz.note_number(m.group(1) + ("#" if m.group(2) else "") + m.group(3))


def takes(folder, articulation):
    """-> [region dict] (the longest take per note and dynamic), as source_sfz's regions before the pitch check."""
    best = {}
    for f in sorted((_FOLDER / "audio" / folder).glob("*.mp3")):
        parts = f.stem.split("_")
        if len(parts) != 5 or parts[4] != articulation or parts[3] not in DYNAMICS or parts[2] not in LENGTH_ORDER:
            continue
        midi = note_midi(parts[1])
        if midi is None:
            continue
        key = (midi, parts[3])
        rank = LENGTH_ORDER.index(parts[2])
        if key not in best or rank > best[key][0]:
            best[key] = (rank, f)
    out = []
    for (midi, dyn), (_, f) in sorted(best.items()):
        vel = DYNAMICS[dyn]
        out.append({"file": str(f), "mapped": float(midi), "lovel": vel, "hivel": vel, "offset": 0, "end": 0,
                    "loop": None, "release": 0.3})
    return out


def instruments(families, n_per_family, seed):
    out = []
    for folder, articulation, family in TABLE:
        if family not in families or not (_FOLDER / "audio" / folder).is_dir():
            continue
        regions, dropped = [], {}
        for r in takes(folder, articulation):
            check = source_sfz.confirmed_pitch(r, dropped)
            if check is None:
                continue
            regions.append(dict(r, pitch=round(float(check[0]), 3), octave_fix=check[1], measured=round(check[2], 2)))
        name = f"philharmonia:{folder.replace(' ', '-')}:{articulation}"
        print(f"{name}: {len(regions)} takes kept; dropped {dropped}")
        if regions:
            out.append({"family": family, "source": "acoustic", "unit": folder, "name": name,
                        "lineage": folder.replace(" ", "-"),
                        "params": {"name": name, "library": "skratchdot/philharmonia-samples", "program": folder,
                                   "regions": regions, "distortion": False}})
    return out


playable = source_sfz.playable
note_info = source_sfz.note_info
render_notes = source_sfz.render_notes


if __name__ == "__main__":
    use_folder(sys.argv[1] if len(sys.argv) > 1 else "/work/data/libs/skratchdot+philharmonia-samples")
    if available():
        sys.exit(available())
    for inst in instruments(source_sfz.FAMILIES, None, 0):
        rs = inst["params"]["regions"]
        print(f"{inst['name']:45s} {inst['family']:7s} {len(rs)} takes, MIDI {min(r['pitch'] for r in rs):.0f}-"
              f"{max(r['pitch'] for r in rs):.0f}, octave-fixed {sum(1 for r in rs if r['octave_fix'])}")
