"""
Merge rendered NSynth-format roots (standins/render_nsynth.py outputs) into one, through symlinks: render each source on
its own (in parallel, or add one later) and train on the union.

    python standins/merge_nsynth.py --out /work/data/nsynth_all /work/data/fonts /work/data/stk /work/data/zyn

Every split of every input (train/valid/test) goes to the same split of --out: <out>/<split>/audio/*.wav are links
to the input files, <out>/<split>/examples.json merges the inputs' entries, <out>/dataset_info.json merges their
instruments and counts (provenance: each input's, joined). Instrument numbers of the k-th input (k = 0, 1, ...) are
shifted by 1000*k (bass_synthetic_005 of input 1 becomes bass_synthetic_1005), so names never collide; "note" and
"instrument" ids are renumbered. A lineage found in two inputs is refused: its instruments might straddle splits.
"""
import argparse
import json
import os
import shlex
import sys
from collections import Counter
from pathlib import Path

ap = argparse.ArgumentParser(description=__doc__.split("\n")[1], formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("roots", nargs="+", help="rendered roots, each with dataset_info.json and <split>/examples.json")
ap.add_argument("--out", required=True)
args = ap.parse_args()

out = Path(args.out)
if out.exists() and any(out.iterdir()):
    sys.exit(f"error: {out} exists and is not empty; merge into a new folder")
infos = []
for root in map(Path, args.roots):
    if not (root / "dataset_info.json").is_file():
        sys.exit(f"error: {root}/dataset_info.json not found; pass roots written by standins/render_nsynth.py")
    infos.append(json.loads((root / "dataset_info.json").read_text()))
owner = {}
for root, info in zip(args.roots, infos):
    for lin in {i["lineage"] for split in info["instruments"].values() for i in split.values()}:
        if lin in owner:
            sys.exit(f"error: lineage '{lin}' is in both {owner[lin]} and {root}; render each lineage once")
        owner[lin] = root

splits = list(dict.fromkeys(s for info in infos for s in info["counts"]))
merged = {"provenance": "; ".join(dict.fromkeys(info["provenance"] for info in infos)),
          "command": shlex.join(["python", "standins/merge_nsynth.py", *sys.argv[1:]]),
          "inputs": [{"root": str(r), "command": info.get("command")} for r, info in zip(args.roots, infos)],
          "counts": {}, "instruments": {s: {} for s in splits},
          "silent_dropped": sum(info.get("silent_dropped", 0) for info in infos)}
note_id, inst_ids = 0, {}
for split in splits:
    entries = {}
    (out / split / "audio").mkdir(parents=True, exist_ok=True)
    counts = {"notes": 0, "instruments": 0, "family": Counter(), "source": Counter(), "lineage": Counter()}
    for k, (root, info) in enumerate(zip(map(Path, args.roots), infos)):
        meta_file = root / split / "examples.json"
        if not meta_file.is_file():
            continue
        rename = {}
        for inst, rec in info["instruments"].get(split, {}).items():
            family_source, number = inst.rsplit("_", 1)
            rename[inst] = f"{family_source}_{int(number) + 1000 * k:03d}"
            merged["instruments"][split][rename[inst]] = dict(rec, **({"renamed_from": inst} if k else {}))
        for name, e in json.loads(meta_file.read_text()).items():
            inst = rename[e["instrument_str"]]
            new = inst + name[len(e["instrument_str"]):]
            os.symlink((root / split / "audio" / f"{name}.wav").resolve(), out / split / "audio" / f"{new}.wav")
            entries[new] = dict(e, note_str=new, instrument_str=inst, note=note_id,
                                instrument=inst_ids.setdefault(inst, len(inst_ids)))
            note_id += 1
            lineage = info["instruments"][split][e["instrument_str"]]["lineage"]
            for key, value in (("family", e["instrument_family_str"]), ("source", e["instrument_source_str"]),
                               ("lineage", lineage)):
                counts[key][value] += 1
        counts["instruments"] += len(rename)
    counts["notes"] = len(entries)
    (out / split / "examples.json").write_text(json.dumps(dict(sorted(entries.items())), indent=1))
    merged["counts"][split] = {k: dict(sorted(v.items())) if isinstance(v, Counter) else v for k, v in counts.items()}
    print(f"{split}: {counts['notes']} notes, {counts['instruments']} instruments, lineages {dict(counts['lineage'])}")
(out / "dataset_info.json").write_text(json.dumps(merged, indent=1))
print(f"wrote {out / 'dataset_info.json'}")
