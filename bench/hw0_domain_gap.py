"""Where rendered stand-in notes differ from genuine NSynth notes, family by family: envelope, brightness and
harmonic make-up, measured on notes of the same pitch and loudness.

    python bench/hw0_domain_gap.py --data DATA/mix2/train

The genuine notes (--real, 96 of the 99 at MIDI 48, velocity 127) are compared with the stand-in notes within
--pitch_window semitones of each genuine note's pitch and at velocity >= --min_velocity, so that register and
playing strength do not pose as a difference of sound. Per family, the median of each descriptor on both sides
(for silent_release the share):

  fade_1.5s, fade_2.8s  level 1.5 s and 2.8 s into the note, dB below the note's loudest frame (held notes: 3 s)
  peak_s                when the note is loudest (s): early for struck or fading notes, late for swelling ones
  silent_release        share of notes whose last 0.4 s is digital silence (a sample library's release cut)
  centroid_hz           spectral centroid over the first 2.5 s (brightness)
  even_minus_odd_db     mean level of harmonics 2, 4, .. 10 minus that of 3, 5, .. 11 (very negative: a
                        clarinet-like cylindrical bore; near 0: saxophone, oboe, strings, saw waves)
  upper_harmonics_db    mean level of harmonics 9-16 below the strongest harmonic (richness)

It measures, it trains nothing: the genuine notes stay a measurement. A gap names what a source or an augmentation
should add; whether that helps is then measured on the genuine notes (bench/hw0_select.py). Writes a JSON and a
figure (one panel per descriptor, genuine vs stand-in per family) next to --out.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "hw0"))
import utils  # noqa: E402

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--data", required=True, help="NSynth-format split of stand-in notes (e.g. DATA/mix2/train)")
p.add_argument("--real", default=str(ROOT.parent / "shared" / "realdata" / "nsynth-real-valid"),
               help="NSynth-format folder of genuine notes, measured only")
p.add_argument("--pitch_window", type=int, default=2, help="stand-in notes within this many semitones of a "
                                                           "genuine note's pitch")
p.add_argument("--min_velocity", type=int, default=100)
p.add_argument("--out", default=str(ROOT / "docs" / "results" / "hw0" / "domain_gap.json"))
args = p.parse_args()

DESCRIPTORS = ("fade_1.5s", "fade_2.8s", "peak_s", "silent_release", "centroid_hz", "even_minus_odd_db",
               "upper_harmonics_db")
HOP = 256


def pitch_velocity(path):
    """MIDI pitch and velocity from an NSynth note name <instrument>-<pitch>-<velocity>.wav."""
    try:
        _, pitch, velocity = Path(path).stem.rsplit("-", 2)
        return int(pitch), int(velocity)
    except ValueError:
        utils.die(f"{path}: expected an NSynth note name <instrument>-<pitch>-<velocity>.wav (pitch and velocity are "
                  f"read from it)")


def describe(y, pitch, sr=utils.SR):
    """The DESCRIPTORS of one 4 s note (float32 samples)."""
    import librosa
    rms = librosa.feature.rms(y=y, frame_length=1024, hop_length=HOP)[0]
    t = np.arange(len(rms)) * HOP / sr
    peak = max(rms.max(), 1e-12)
    level = lambda t0: 20 * np.log10(max(rms[(t >= t0 - 0.1) & (t <= t0 + 0.1)].mean(), 1e-12) / peak)
    spec = np.abs(librosa.stft(y[:int(2.5 * sr)], n_fft=2048, hop_length=512))
    centroid = librosa.feature.spectral_centroid(S=spec, sr=sr)[0]
    weights = spec.sum(0)                                       # louder frames count more; silence not at all
    # harmonic levels from one long window early in the sustain (0.3-0.8 s): fine enough to resolve MIDI 21
    seg = y[int(0.3 * sr):int(0.8 * sr)]
    mag = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
    hz = np.fft.rfftfreq(len(seg), 1 / sr)
    f0 = librosa.midi_to_hz(pitch)
    harm = np.array([mag[(hz > k * f0 * 0.97) & (hz < k * f0 * 1.03)].max(initial=0.0) if k * f0 < sr / 2 - 100
                     else np.nan for k in range(1, 17)])
    harm_db = 20 * np.log10(np.maximum(harm, 1e-12) / max(np.nanmax(harm), 1e-12))
    return {"fade_1.5s": level(1.5), "fade_2.8s": level(2.8), "peak_s": float(t[rms.argmax()]),
            "silent_release": float(np.all(y[-int(0.4 * sr):] == 0)),
            "centroid_hz": float(np.average(centroid, weights=weights) if weights.sum() > 0 else 0.0),
            "even_minus_odd_db": float(np.nanmean(harm_db[1:10:2]) - np.nanmean(harm_db[2:11:2])),
            "upper_harmonics_db": float(np.nanmean(harm_db[8:16])) if np.isfinite(harm_db[8:16]).any() else np.nan}


def measure(paths, labels, pitches, desc):
    """{family: [descriptor dicts]} over the readable, labelled notes of paths."""
    problems, described = {}, []
    for first, audio in utils.stream_audio(paths, problems, desc=desc):
        described += [describe(y, pitches[first + i]) for i, y in enumerate(audio)]
    usable = utils.report_problems(paths, problems) & (labels >= 0)     # unreadable files come back as zeros
    rows = {}
    for d, label in zip(np.array(described)[usable], labels[usable]):
        rows.setdefault(utils.FAMILIES[label], []).append(d)
    return rows


t0 = time.time()
real_paths, real_labels = utils.list_nsynth(args.real)
data_paths, data_labels = utils.list_nsynth(args.data)
real_pv = [pitch_velocity(q) for q in real_paths]
data_pv = [pitch_velocity(q) for q in data_paths]
real_pitches = {pitch for pitch, _ in real_pv}
near = [i for i, (pitch, velocity) in enumerate(data_pv)
        if min(abs(pitch - r) for r in real_pitches) <= args.pitch_window and velocity >= args.min_velocity]
if not near:
    utils.die(f"{args.data} has no notes within {args.pitch_window} semitones of the genuine pitches "
              f"{sorted(real_pitches)} at velocity >= {args.min_velocity}; widen --pitch_window or lower --min_velocity")
genuine = measure(real_paths, real_labels, [pitch for pitch, _ in real_pv], "genuine")
standin = measure([data_paths[i] for i in near], data_labels[near], [data_pv[i][0] for i in near], "stand-in")

# medians, except silent_release: a share (the mean of 0/1 flags)
summary = lambda d, values: float(np.nanmean(values) if d == "silent_release" else np.nanmedian(values))
table = {}
for fam in utils.FAMILIES:
    if fam in genuine:
        table[fam] = {side: dict(n=len(rows.get(fam, [])), **{d: (summary(d, [r[d] for r in rows[fam]])
                                                                  if rows.get(fam) else None) for d in DESCRIPTORS})
                      for side, rows in (("genuine", genuine), ("standin", standin))}
print(f"medians (silent_release: share) per family: genuine notes of {utils.shown_path(args.real)} vs stand-in notes of "
      f"{utils.shown_path(args.data)} (pitch +-{args.pitch_window}, velocity >= {args.min_velocity})")
print(f"{'family':10} {'side':8} {'n':>4} " + " ".join(f"{d:>18}" for d in DESCRIPTORS))
for fam, sides in table.items():
    for side, row in sides.items():
        print(f"{fam:10} {side:8} {row['n']:4d} " + " ".join(
            f"{row[d]:18.2f}" if row[d] is not None else f"{'-':>18}" for d in DESCRIPTORS))

out = Path(args.out)
utils.write_json(out, dict(command=utils.command_line(), seconds=round(time.time() - t0, 1), real=args.real,
                           data=args.data, pitch_window=args.pitch_window, min_velocity=args.min_velocity,
                           descriptors=list(DESCRIPTORS), families=table))
import matplotlib  # noqa: E402
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
fams = list(table)
TITLES = {"fade_1.5s": "level at 1.5 s (dB below peak)", "fade_2.8s": "level at 2.8 s (dB below peak)",
          "peak_s": "time of the loudest frame (s)", "silent_release": "share ending in digital silence",
          "centroid_hz": "spectral centroid (Hz)", "even_minus_odd_db": "even minus odd harmonics (dB)",
          "upper_harmonics_db": "harmonics 9-16 below the strongest (dB)"}
fig, axes = plt.subplots(2, 4, figsize=(16, 8))
for ax, d in zip(axes.flat, DESCRIPTORS):
    x = np.arange(len(fams))
    for shift, side, colour in ((-0.2, "genuine", "tab:red"), (0.2, "standin", "tab:blue")):
        vals = [table[f][side][d] if table[f][side][d] is not None else np.nan for f in fams]
        ax.bar(x + shift, vals, width=0.4, color=colour, label="genuine NSynth" if side == "genuine" else "stand-in")
    ax.set_xticks(x, fams, rotation=60, fontsize=12)
    ax.tick_params(axis="y", labelsize=11)
    ax.set_title(TITLES[d], fontsize=13)
    ax.grid(axis="y", alpha=0.3)
handles, names = axes.flat[0].get_legend_handles_labels()
axes.flat[-1].axis("off")
axes.flat[-1].legend(handles, [f"{names[0]} ({sum(t['genuine']['n'] for t in table.values())} notes)",
                               f"{names[1]} ({sum(t['standin']['n'] for t in table.values())} notes)"],
                     loc="center", fontsize=14, title="medians per family", title_fontsize=14)
fig.suptitle(f"Genuine NSynth notes vs stand-in notes at the same pitch (+-{args.pitch_window}) and velocity "
             f">= {args.min_velocity}", fontsize=15)
fig.tight_layout()
fig.savefig(out.with_suffix(".png"), dpi=110)
plt.close(fig)
print(f"wrote {utils.shown_path(out)} and {utils.shown_path(out.with_suffix('.png'))} ({time.time() - t0:.0f} s)")
