"""CNN training throughput (clips/s): our data path vs a straightforward per-item librosa Dataset + DataLoader.

    python bench/hw0_train.py --data_dir DATA/nsynth-valid --n 512 [--epochs 2 --workers 2 \
        --out docs/results/bench.json]

Both feed the same NoteCNN (hw0/model.py, train_cnn.py's default size) with the same optimiser and batch size, on the
first --n notes of an NSynth-format folder, for --epochs passes (at most --max_steps steps each):
- ours (hw0/train_cnn.py's data path): decode once with soundfile (threads) and log-mel once with torch.stft + mel
  filters (what train_cnn.py caches on disk), then every epoch batches come from the in-memory tensor, augmented in
  the log-mel domain (gain, EQ, noise, reverb tail, onset shift, spectral shift: hw0/augment.py, as train_cnn.py
  uses it), SpecAugment masks and mixup;
- per-item: a torch Dataset whose __getitem__ runs librosa.load + librosa.feature.melspectrogram on one file, every
  epoch, through a DataLoader with --workers worker processes; no augmentation (it would only add to its cost).
Printed: clips/s of each (steady-state training loop), ours also end to end with its one-time decode + log-mel
amortised over the measured epochs, the ratios, and the model alone on ready batches (the ceiling any data path can
reach on this machine). No timing is asserted anywhere.
"""
import argparse
import math
import os
import sys
import time
from pathlib import Path

import librosa
import numpy as np
import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "hw0"))
import augment  # noqa: E402
import utils  # noqa: E402
from model import NoteCNN  # noqa: E402

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--data_dir", required=True, help="NSynth-format split folder")
p.add_argument("--n", type=int, default=512, help="number of notes (the first n of the folder)")
p.add_argument("--epochs", type=int, default=2, help="passes over the n notes, for each pipeline")
p.add_argument("--max_steps", type=int, default=100, help="at most this many optimiser steps per pipeline")
p.add_argument("--batch_size", type=int, default=64)
p.add_argument("--workers", type=int, default=2, help="DataLoader worker processes of the per-item pipeline")
p.add_argument("--width", type=int, default=24)
p.add_argument("--n_blocks", type=int, default=5)
p.add_argument("--n_mels", type=int, default=64)
p.add_argument("--n_fft", type=int, default=1024)
p.add_argument("--hop_length", type=int, default=512)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--out", default=None, help="merge the figures into this JSON (e.g. docs/results/bench.json)")
args = p.parse_args()

torch.manual_seed(args.seed)
torch.set_num_threads(os.cpu_count() or 1)
mel_cfg = dict(utils.MEL_DEFAULTS, n_fft=args.n_fft, hop_length=args.hop_length, n_mels=args.n_mels)
paths, labels = utils.list_nsynth(args.data_dir)
keep = labels >= 0
paths, labels = [pth for pth, k in zip(paths, keep) if k][:args.n], labels[keep][:args.n]
n = len(paths)
steps_per_epoch = math.ceil(n / args.batch_size)
epochs = max(1, min(args.epochs, args.max_steps // steps_per_epoch))
print(f"machine: {os.cpu_count()} CPU cores, torch {torch.__version__} ({torch.get_num_threads()} threads); {n} notes "
      f"from {args.data_dir}; batch {args.batch_size}, {epochs} epoch(s) = {epochs * steps_per_epoch} steps each; "
      f"NoteCNN width {args.width}, {args.n_blocks} blocks, {args.n_mels} mels")


def new_model():
    torch.manual_seed(args.seed)
    model = NoteCNN(n_mels=args.n_mels, n_classes=len(utils.FAMILIES), width=args.width, n_blocks=args.n_blocks)
    return model, torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01)


def step(model, opt, x, target):
    loss = F.cross_entropy(model(x), target, label_smoothing=0.1)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


# ---- ours: decode once, log-mel once, then in-memory batches with log-mel-domain augmentation ---------------------
ALL_KINDS = ["gain", "eq", "noise", "reverb", "shift", "pitch"]


t0 = time.perf_counter()
audio, _, ours_y = utils.load_audio(paths, labels, desc="decode")
decode_s = time.perf_counter() - t0
t0 = time.perf_counter()
logmel = utils.log_mel(audio, mel_cfg).half().float()          # float16, as train_cnn.py's cache holds it
mel_s = time.perf_counter() - t0
del audio
norm_mean, norm_std = logmel.mean(dim=(0, 2)), logmel.std(dim=(0, 2)) + 1e-5
ours_y = torch.as_tensor(ours_y)
model, opt = new_model()
model.train()
t0 = time.perf_counter()
for epoch in range(epochs):
    perm = torch.randperm(n)
    for i in range(0, n, args.batch_size):
        idx = perm[i:i + args.batch_size]
        augmented = augment.augment(logmel[idx], ALL_KINDS, mel_cfg)
        xb = augment.spec_mask(utils.model_input(augmented, True, norm_mean, norm_std))
        target = F.one_hot(ours_y[idx], len(utils.FAMILIES)).float()
        lam, j = float(torch.distributions.Beta(0.2, 0.2).sample()), torch.randperm(len(xb))
        step(model, opt, lam * xb + (1 - lam) * xb[j], lam * target + (1 - lam) * target[j])
ours_s = time.perf_counter() - t0
ours_cps = epochs * n / ours_s
ours_e2e_cps = epochs * n / (ours_s + decode_s + mel_s)

# the ceiling: the same steps on ready, normalised, unaugmented batches (what the model alone costs)
model, opt = new_model()
model.train()
ready = utils.model_input(logmel, True, norm_mean, norm_std)
t0 = time.perf_counter()
for epoch in range(epochs):
    for i in range(0, n, args.batch_size):
        step(model, opt, ready[i:i + args.batch_size], ours_y[i:i + args.batch_size])
model_cps = epochs * n / (time.perf_counter() - t0)
del ready


# ---- per-item: librosa load + melspectrogram in __getitem__, every epoch, through a DataLoader ----------------------
class PerItemDataset(torch.utils.data.Dataset):
    def __init__(self, files, targets):
        self.files, self.targets = files, targets

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        y, _ = librosa.load(self.files[i], sr=utils.SR)
        y = librosa.util.fix_length(y, size=utils.N_SAMPLES)
        mel = librosa.feature.melspectrogram(y=y, sr=utils.SR, n_fft=mel_cfg["n_fft"],
                                             hop_length=mel_cfg["hop_length"], n_mels=mel_cfg["n_mels"],
                                             fmin=mel_cfg["fmin"], fmax=mel_cfg["fmax"])
        return torch.from_numpy(np.log(mel + 1e-10)).float(), int(self.targets[i])


loader = torch.utils.data.DataLoader(PerItemDataset([str(pth) for pth in paths], labels), batch_size=args.batch_size,
                                     shuffle=True, num_workers=args.workers)
model, opt = new_model()
model.train()
t0 = time.perf_counter()
for epoch in range(epochs):
    for xb, yb in loader:
        step(model, opt, utils.model_input(xb, True, norm_mean, norm_std), yb)
loop_s = time.perf_counter() - t0
loop_cps = epochs * n / loop_s

print(f"model alone (ready batches, no data path)      : {model_cps:8.1f} clips/s  (the ceiling)")
print(f"per-item librosa Dataset + DataLoader ({args.workers} workers): {loop_cps:8.1f} clips/s  ({loop_s:.1f} s)")
print(f"ours, in-memory log-mel + log-mel augmentation  : {ours_cps:8.1f} clips/s  ({ours_s:.1f} s)")
print(f"ours incl. one-time decode ({n / decode_s:.0f} clips/s) + log-mel ({n / mel_s:.0f} clips/s): "
      f"{ours_e2e_cps:8.1f} clips/s")
print(f"speed-up: {ours_cps / loop_cps:.2f}x training loop, {ours_e2e_cps / loop_cps:.2f}x including ours' one-time "
      f"decode + log-mel ({epochs} epoch(s); the one-time part amortises further over a real run's epochs)")
if args.out:
    utils.merge_json(args.out, "hw0_train", dict(
        cores=os.cpu_count(), n=n, epochs=epochs, batch_size=args.batch_size, workers=args.workers,
        width=args.width, n_blocks=args.n_blocks, n_mels=args.n_mels, model_only_clips_per_s=round(model_cps, 2),
        per_item_clips_per_s=round(loop_cps, 2), ours_clips_per_s=round(ours_cps, 2),
        ours_end_to_end_clips_per_s=round(ours_e2e_cps, 2), speedup=round(ours_cps / loop_cps, 2),
        speedup_end_to_end=round(ours_e2e_cps / loop_cps, 2), decode_clips_per_s=round(n / decode_s, 1),
        logmel_clips_per_s=round(n / mel_s, 1), command=utils.command_line()))
    print(f"merged into {args.out}")
