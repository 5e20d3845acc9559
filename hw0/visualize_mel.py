"""Task 1: a 3 families x 3 pitches grid of mel-spectrograms (n_fft 2048, hop 512, power -> dB) and a short text on
what it shows.

    python hw0/visualize_mel.py --data_dir DATA/nsynth-test
    python hw0/visualize_mel.py --data_dir DATA/nsynth-test --families guitar,organ,vocal --pitches 48,60,72

Without flags it picks the three families with the most notes and the three pitches they all have nearest to
C2, C4 and C6 (MIDI 36, 60, 84), one note each (velocity closest to 100). Writes mel_grid.png, mel_grid.txt and
mel_grid.json into --out_dir (default runs/hw0/mel_grid/<data name>; the shipped figure is written only with
--out_dir results/hw0).
"""
import argparse
from collections import defaultdict
from pathlib import Path

import librosa
import librosa.display
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import features
import utils

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--data_dir", default=None, help="NSynth split folder; default: the embedded demo set hw0/demo")
p.add_argument("--families", default=None, help="three comma-separated family names (default: most frequent)")
p.add_argument("--pitches", default=None, help="three comma-separated MIDI pitches (default: shared low/mid/high)")
p.add_argument("--n_fft", type=int, default=2048)
p.add_argument("--hop_length", type=int, default=512)
p.add_argument("--n_mels", type=int, default=128)
p.add_argument("--out_dir", default=None, help="default runs/hw0/mel_grid/<data name> in the repository (the data "
                                               "folder's name, or demo)")
p.add_argument("--provenance", default=None, help="what the data is, recorded in mel_grid.json, for a folder without "
                                                  "dataset_info.json (e.g. 'genuine NSynth notes ...'); given, it "
                                                  "overrides dataset_info.json")
args = p.parse_args()

data_dir = Path(args.data_dir) if args.data_dir else utils.DEMO_DIR
paths, labels = utils.list_nsynth(data_dir)
notes = defaultdict(list)                        # (family, pitch) -> [(|velocity - 100|, path)]
for path, fam in zip(paths, labels):
    try:
        _, pitch, vel = path.stem.rsplit("-", 2)
        pitch, vel = int(pitch), int(vel)
    except ValueError:
        continue
    if fam >= 0:
        notes[(utils.FAMILIES[fam], pitch)].append((abs(vel - 100), path))

if args.families:
    families = [f.strip() for f in args.families.split(",")]
    bad = [f for f in families if f not in utils.FAMILIES]
    if len(families) != 3 or bad:
        utils.die(f"--families needs three of {utils.FAMILIES}, got {args.families}")
else:
    count = defaultdict(int)
    for fam, _ in notes:
        count[fam] += len(notes[(fam, _)])
    families = sorted(count, key=lambda f: (-count[f], f))[:3]
if len(families) < 3:
    utils.die(f"{data_dir} holds notes of only {len(families)} families with parsable pitches; need three")

if args.pitches:
    try:
        pitches = [int(v) for v in args.pitches.split(",")]
        assert len(pitches) == 3
    except (ValueError, AssertionError):
        utils.die(f"--pitches needs three comma-separated MIDI numbers, got {args.pitches}")
else:
    shared = sorted(set.intersection(*[{pt for (f, pt) in notes if f == fam} for fam in families]))
    if len(shared) >= 3:                   # the shared pitches nearest to C2, C4 and C6
        pitches = []
        for target in (36, 60, 84):
            pitches.append(min((pt for pt in shared if pt not in pitches), key=lambda pt: abs(pt - target)))
        pitches.sort()
    else:                                  # e.g. the small demo set: each family's own nearest three pitches
        pitches = None
if pitches:                                # one set of pitches for all: columns compare families at one pitch
    rows = {f: pitches for f in families}
    missing = [(f, pt) for f in families for pt in pitches if (f, pt) not in notes]
    if missing:
        utils.die(f"no note for {missing[0][0]} at pitch {missing[0][1]} in {data_dir}; choose other "
                  f"--families/--pitches")
else:                                      # per family: the distinct pitches it has nearest to C2, C4 and C6
    rows = {}
    for f in families:
        own = sorted({pt for (ff, pt) in notes if ff == f})
        if len(own) < 3:
            utils.die(f"{f} has notes at only {len(own)} pitch(es) in {data_dir} ({own}); a row needs three: "
                      f"choose other --families")
        rows[f] = []
        for target in (36, 60, 84):
            rows[f].append(min((pt for pt in own if pt not in rows[f]), key=lambda pt: abs(pt - target)))
        rows[f].sort()
    utils.warn(f"families {families} share fewer than three pitches in {data_dir}; each row shows its family's "
               f"own pitches nearest to MIDI 36, 60 and 84: " + ", ".join(f"{f} {rows[f]}" for f in families))

# ---- mel-spectrograms ---------------------------------------------------------------------------------------------
grid = [[min(notes[(f, pt)])[1] for pt in rows[f]] for f in families]
audio, kept, _ = utils.load_audio([pth for row in grid for pth in row], np.zeros(9, dtype=np.int64))
if len(kept) < 9:                        # a dropped note would shift every later panel
    lost = next(pth for row in grid for pth in row if pth not in kept)
    utils.die(f"{lost} (picked for the grid) could not be read; replace the file or choose other --families/--pitches")
mels = librosa.power_to_db(librosa.feature.melspectrogram(y=audio, sr=utils.SR, n_fft=args.n_fft,
                                                          hop_length=args.hop_length, n_mels=args.n_mels,
                                                          power=2.0), ref=np.max)
fig, axes = plt.subplots(3, 3, figsize=(15, 10), sharex=True, sharey=True)
for i, fam in enumerate(families):
    for j in range(3):
        ax = axes[i, j]
        img = librosa.display.specshow(mels[3 * i + j], sr=utils.SR, hop_length=args.hop_length, x_axis="time",
                                       y_axis="mel", ax=ax, cmap="magma", vmin=-80, vmax=0)
        pitch = int(grid[i][j].stem.rsplit("-", 2)[1])       # the note's own pitch (nearest-pitch fallback)
        ax.set_title(f"{fam}, MIDI {pitch} ({librosa.midi_to_note(pitch)}, {librosa.midi_to_hz(pitch):.0f} Hz)\n"
                     f"{grid[i][j].stem}", fontsize=9)
        ax.set(xlabel="time (s)" if i == 2 else "", ylabel="frequency (Hz, mel scale)" if j == 0 else "")
fig.colorbar(img, ax=axes, format="%+2.0f dB", label="power (dB re. each note's maximum)")
fig.suptitle(f"Mel-spectrograms (n_fft {args.n_fft}, hop {args.hop_length}, {args.n_mels} mels, power in dB) "
             f"from {data_dir.parent.name}/{data_dir.name}")
out_dir = Path(args.out_dir) if args.out_dir else utils.REPO / "runs" / "hw0" / "mel_grid" / utils.data_name(data_dir)
out_dir.mkdir(parents=True, exist_ok=True)
fig.savefig(out_dir / "mel_grid.png", dpi=110)
plt.close(fig)

# ---- the text: general reading + what these nine notes measure ---------------------------------------------------
feats = features.frame_features(audio)
hop_s = args.hop_length / utils.SR
env = features.envelope_features(feats[:, -1, :], hop_s)
centroid = feats[:, 3 * 20, : int(3 / hop_s)].mean(axis=1)            # spectral centroid while the key is held
lines = [
    "What the mel-spectrograms show",
    "Each panel is one 4 s note: time on the x-axis, mel-scaled frequency on the y-axis (dense at low "
    "frequencies, like pitch perception) and power in dB as colour. The note is held for 3 s and then released.",
    "Reading across a row (same family, rising pitch), the lowest bright line (the fundamental) and its harmonics "
    "move up and spread apart; " + (
        "reading down a column (same pitch, other families), the harmonics sit at the same frequencies but their "
        "relative strength (timbre) and their envelope over time differ." if pitches else
        "reading down a column (low, middle or high register of each family: the families here share no three "
        "pitches, so a column's pitches differ, see the panel titles), the harmonic spacing differs with the pitch, "
        "and the relative strength of the harmonics (timbre) and the envelope over time differ with the family.") +
    " That is why a classifier must learn timbre and envelope rather than absolute frequency position.",
    "Measured on these notes (spectral centroid while held; attack = time to reach within 3 dB of the peak; "
    "decay = slope of the RMS level between peak and release):"]
for i, fam in enumerate(families):
    parts = [f"MIDI {grid[i][j].stem.rsplit('-', 2)[1].lstrip('0')}: centroid {centroid[3 * i + j]:.0f} Hz, attack {env[3 * i + j, 0] * 1000:.0f} ms, "
             f"decay {env[3 * i + j, 2]:+.1f} dB/s" for j in range(3)]
    lines.append(f"- {fam}: " + "; ".join(parts))
order = np.argsort([-centroid[3 * i:3 * i + 3].mean() for i in range(3)])
lines.append(f"Brightest family here (mean centroid): {families[order[0]]}; darkest: {families[order[-1]]}. A "
             f"steeply negative decay marks a struck or plucked source whose energy dies away after the attack; a "
             f"decay near 0 dB/s marks a sustained (bowed, blown or electronic) source that holds until the release.")
text = "\n".join(lines)
print(text)
(out_dir / "mel_grid.txt").write_text(text + "\n")
utils.write_json(out_dir / "mel_grid.json", dict(
    data_dir=str(data_dir), provenance=args.provenance or utils.read_provenance(data_dir), families=families,
    pitches={f: rows[f] for f in families}, files=[p.name for row in grid for p in row], n_fft=args.n_fft, hop_length=args.hop_length, n_mels=args.n_mels,
    command=utils.command_line(), figure="mel_grid.png", text="mel_grid.txt"))
print(f"wrote {utils.shown_path(out_dir / 'mel_grid.png')}, mel_grid.txt and mel_grid.json")
