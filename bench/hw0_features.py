"""Task-2 feature extraction: ours (one shared STFT per note, librosa's feature functions on whole batches, chunks
in parallel processes) vs the straightforward per-file librosa loop that computes the same features.

    python bench/hw0_features.py --data_dir DATA/nsynth-valid --n 512

Prints clips/s of both and the ratio, and checks that both give the same features (within float tolerance).
Decoding is timed separately and is identical for both (soundfile), so the ratio is about feature extraction.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import librosa
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hw0"))
import utils  # noqa: E402

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--data_dir", required=True, help="NSynth-format split folder")
p.add_argument("--n", type=int, default=512, help="number of notes")
p.add_argument("--n_loop", type=int, default=128, help="notes timed for the (slow) per-file loop")
p.add_argument("--out", default=None, help="merge the figures into this JSON (e.g. results/bench.json)")
args = p.parse_args()


def per_file_features(y, cfg=utils.FEAT_DEFAULTS):
    """The usual student loop body: each librosa feature called on the waveform, each recomputing its STFT."""
    sr, n_fft, hop = cfg["sr"], cfg["n_fft"], cfg["hop_length"]
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=cfg["n_mfcc"], n_fft=n_fft, hop_length=hop, n_mels=cfg["n_mels"])
    rms = librosa.feature.rms(y=y, frame_length=n_fft, hop_length=hop)
    frames = np.concatenate([
        mfcc, librosa.feature.delta(mfcc), librosa.feature.delta(mfcc, order=2),
        librosa.feature.spectral_centroid(y=y, sr=sr, n_fft=n_fft, hop_length=hop),
        librosa.feature.spectral_bandwidth(y=y, sr=sr, n_fft=n_fft, hop_length=hop),
        librosa.feature.spectral_rolloff(y=y, sr=sr, n_fft=n_fft, hop_length=hop),
        librosa.feature.spectral_flatness(y=y, n_fft=n_fft, hop_length=hop),
        librosa.feature.spectral_contrast(y=y, sr=sr, n_fft=n_fft, hop_length=hop),
        librosa.feature.chroma_stft(y=y, sr=sr, n_fft=n_fft, hop_length=hop, tuning=0.0),
        librosa.feature.zero_crossing_rate(y, frame_length=n_fft, hop_length=hop),
        librosa.amplitude_to_db(rms)])
    env = utils.envelope_features(frames[None, -1], hop / sr)[0]
    return np.concatenate([frames.mean(-1), frames.std(-1), env]).astype(np.float32)


paths, labels = utils.list_nsynth(args.data_dir)
paths, labels = paths[:args.n], labels[:args.n]
t = time.perf_counter()
audio, paths, labels = utils.load_audio(paths, labels)
decode_s = time.perf_counter() - t
n_loop = min(args.n_loop, len(audio))

t = time.perf_counter()
ours = utils.extract_features(audio)
ours_s = time.perf_counter() - t
t = time.perf_counter()
loop = np.stack([per_file_features(y) for y in audio[:n_loop]])
loop_s = time.perf_counter() - t

scale = np.abs(loop).max(0) + 1e-6                  # per-feature scale: compare relative to each feature's range
worst = (np.abs(ours[:n_loop] - loop) / scale).max()
assert worst < 1e-3, f"features differ from the per-file loop: max relative error {worst:.2e}"
ours_cps, loop_cps = len(audio) / ours_s, n_loop / loop_s
print(f"machine: {os.cpu_count()} CPU cores; {len(audio)} notes; decode {len(audio) / decode_s:.0f} clips/s")
print(f"features, per-file librosa loop : {loop_cps:8.1f} clips/s  ({n_loop} notes)")
print(f"features, ours (shared STFT, batched, parallel): {ours_cps:8.1f} clips/s  ({len(audio)} notes)")
print(f"speed-up: {ours_cps / loop_cps:.1f}x; features equal (max error {worst:.1e} of each feature's range)")
if args.out:
    out = Path(args.out)
    data = json.loads(out.read_text()) if out.is_file() else {}
    data["hw0_features"] = dict(cores=os.cpu_count(), n=len(audio), loop_clips_per_s=round(loop_cps, 2),
                                ours_clips_per_s=round(ours_cps, 2), speedup=round(ours_cps / loop_cps, 2),
                                decode_clips_per_s=round(len(audio) / decode_s, 1), command=utils.command_line())
    out.write_text(json.dumps(data, indent=1))
