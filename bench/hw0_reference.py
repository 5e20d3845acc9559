"""The reference recipe most students use, trained on the same data and the same training-time budget as our CNN,
side by side on the validation split.

    python bench/hw0_reference.py --train_dir DATA/train --valid_dir DATA/valid --ours results/hw0/cnn_log.json

Reference (after Won et al., "Evaluation of CNN-based automatic music tagging models", SMC 2020, short-chunk CNN,
as in minzwon/sota-music-tagging-models; written here from that description): 16 kHz, n_fft 512, hop 256,
128 mels, f_max 8000, power mel -> dB, input batch-norm, 7 x (3x3 conv 128/256/512 ch + BN + ReLU + 2x2 max-pool),
max over time, dense 512 + BN + ReLU + dropout 0.5, linear; Adam 1e-4, cross-entropy, batch 16, no augmentation.
Budget: the wall-clock training time our run took (train_time_s in its results JSON), or --budget_s; the
reference is validated after every epoch and at the end, and its best validation epoch is reported.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import librosa
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "hw0"))
import utils  # noqa: E402

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--train_dir", required=True)
p.add_argument("--valid_dir", required=True)
p.add_argument("--ours", default=str(REPO / "results" / "hw0" / "cnn_log.json"), help="our run's results JSON")
p.add_argument("--budget_s", type=float, default=0, help="training seconds (default: our run's train_time_s)")
p.add_argument("--n_channels", type=int, default=128)
p.add_argument("--max_train", type=int, default=0)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--out", default=str(REPO / "docs" / "results" / "hw0" / "reference.json"))
args = p.parse_args()

ours = json.loads(Path(args.ours).read_text())
budget = args.budget_s or ours["train_time_s"]
torch.manual_seed(args.seed)
torch.set_num_threads(os.cpu_count() or 1)
device = "cuda" if torch.cuda.is_available() else "cpu"


def db_mel(audio):
    """Reference front end: power mel (n_fft 512, hop 256, 128 mels, 0-8000 Hz) -> dB, float16 to fit in memory."""
    fb = torch.tensor(librosa.filters.mel(sr=16000, n_fft=512, n_mels=128, fmin=0.0, fmax=8000.0, htk=True))
    out = []
    for i in range(0, len(audio), 256):
        spec = torch.stft(torch.as_tensor(audio[i:i + 256]), 512, 256, window=torch.hann_window(512),
                          return_complex=True)
        out.append((10 * torch.log10(torch.clamp(fb @ spec.abs() ** 2, min=1e-10))).half())
    return torch.cat(out)


def block(c_in, c_out):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2))


class ShortChunkCNN(nn.Module):
    def __init__(self, n=128, n_class=11):
        super().__init__()
        self.spec_bn = nn.BatchNorm2d(1)
        chans = [1, n, n, 2 * n, 2 * n, 2 * n, 2 * n, 4 * n]
        self.layers = nn.Sequential(*[block(chans[i], chans[i + 1]) for i in range(7)])
        self.dense1, self.bn = nn.Linear(4 * n, 4 * n), nn.BatchNorm1d(4 * n)
        self.dropout, self.dense2 = nn.Dropout(0.5), nn.Linear(4 * n, n_class)

    def forward(self, x):
        h = self.layers(self.spec_bn(x.unsqueeze(1)))           # [B, C, 1, T']
        h = h.squeeze(2).amax(dim=-1)                            # max over time
        return self.dense2(self.dropout(F.relu(self.bn(self.dense1(h)))))


def validate(model, x, y):
    model.eval()
    with torch.inference_mode():
        s = torch.cat([torch.softmax(model(x[i:i + 64].float().to(device)), 1).cpu() for i in range(0, len(x), 64)])
    model.train()
    return utils.evaluate(s.numpy(), y)


train_paths, train_labels = utils.list_nsynth(args.train_dir)
if args.max_train and len(train_labels) > args.max_train:   # the same subset train_cnn.py --max_train takes
    pick = np.sort(np.random.default_rng(args.seed).permutation(len(train_labels))[:args.max_train])
    train_paths, train_labels = [train_paths[i] for i in pick], train_labels[pick]
train_audio, _, train_y = utils.load_audio(train_paths, train_labels, desc="decode train")
train_x = db_mel(train_audio)
del train_audio
valid_audio, _, valid_y = utils.load_audio(*utils.list_nsynth(args.valid_dir), desc="decode valid")
valid_x = db_mel(valid_audio)
del valid_audio
train_y = torch.as_tensor(train_y)

model = ShortChunkCNN(args.n_channels).to(device)
opt = torch.optim.Adam(model.parameters(), lr=1e-4)
print(f"reference: {sum(q.numel() for q in model.parameters()) / 1e6:.2f} M parameters, budget {budget:.0f} s "
      f"of training on {len(train_y)} notes")
spent, seen, epoch, best, history = 0.0, 0, 0, None, []
while spent < budget:
    epoch += 1
    perm = torch.randperm(len(train_y))
    for i in range(0, len(perm), 16):
        t = time.time()
        idx = perm[i:i + 16]
        loss = F.cross_entropy(model(train_x[idx].float().to(device)), train_y[idx].to(device))
        opt.zero_grad()
        loss.backward()
        opt.step()
        spent += time.time() - t
        seen += len(idx)
        if spent >= budget:
            break
    val = validate(model, valid_x, valid_y)
    history.append(dict(epoch=epoch, clips_seen=seen, train_s=round(spent, 1), val_top1=val["top1"],
                        val_top3=val["top3"]))
    print(f"reference epoch {epoch} ({seen} clips, {spent:.0f}s): validation top-1 {val['top1']:.4f} "
          f"top-3 {val['top3']:.4f}", flush=True)
    if best is None or val["top1"] > best["val_top1"]:
        best = history[-1]

margin = ours["val"]["top1"] - best["val_top1"]
print(f"\n{'':28}{'validation top-1':>18}{'validation top-3':>18}{'train s':>10}")
print(f"{'ours (' + ours['name'] + ')':28}{ours['val']['top1']:>18.4f}{ours['val']['top3']:>18.4f}"
      f"{ours['train_time_s']:>10.0f}")
print(f"{'reference short-chunk CNN':28}{best['val_top1']:>18.4f}{best['val_top3']:>18.4f}{best['train_s']:>10.0f}")
print(f"margin (ours - reference), top-1: {margin:+.4f}")
Path(args.out).write_text(json.dumps(dict(
    command=utils.command_line(), data=dict(train_dir=args.train_dir, valid_dir=args.valid_dir,
                                            provenance=utils.read_provenance(args.train_dir)),
    budget_s=budget, device=device, cores=os.cpu_count(),
    ours=dict(name=ours["name"], val=ours["val"], train_time_s=ours["train_time_s"]),
    reference=dict(recipe="short-chunk CNN, n_fft 512, hop 256, 128 mels, dB, Adam 1e-4, batch 16, no augmentation",
                   n_channels=args.n_channels, best=best, history=history),
    margin_top1=margin), indent=1))
print(f"wrote {args.out}")
