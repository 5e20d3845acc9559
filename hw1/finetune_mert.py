"""HW1 training: MERT transfer learning for 9-class instrument activity on the course's Slakh clips.

Frozen mode (default): extract all MERT hidden states once, pool over time, cache per split on disk (float16), then
train a probe (softmax-weighted sum over layers -> MLP -> 9 logits, BCE-with-logits) on the cache.
--finetune: the encoder (all transformer layers, or the top k) trains end to end with the same head, lower LR.
Per-class thresholds and the best epoch are chosen on the validation split only.

  python hw1/finetune_mert.py --data_root data/slakh                       # frozen probe
  python hw1/finetune_mert.py --data_root data/slakh --finetune --top_k_layers 4
  python hw1/finetune_mert.py --data_root data/slakh --encoder models/MERT-v1-95M   # local copy of the encoder
"""
import argparse
import copy
import json
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np

import utils as U

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--data_root", default="data/slakh", help="folder with {train,validation,test}/ and *_labels.json")
parser.add_argument("--encoder", default=U.DEFAULT_ENCODER, help="hub id or local folder (huggingface-cli download)")
parser.add_argument("--revision", default=None, help="hub revision (branch, tag or commit); default main")
parser.add_argument("--finetune", action="store_true", help="train the encoder end to end (default: frozen probe)")
parser.add_argument("--top_k_layers", type=int, default=0, help="--finetune: train only the top k layers (0 = all)")
parser.add_argument("--pooling", default="mean", choices=["mean", "meanstd"])
parser.add_argument("--epochs", type=int, default=None, help="default 40 frozen, 5 --finetune")
parser.add_argument("--batch_size", type=int, default=None, help="default 256 frozen (cached features), 8 --finetune")
parser.add_argument("--extract_batch_size", type=int, default=16)
parser.add_argument("--lr", type=float, default=1e-3, help="head learning rate")
parser.add_argument("--encoder_lr", type=float, default=1e-5, help="--finetune: encoder learning rate")
parser.add_argument("--weight_decay", type=float, default=1e-2)
parser.add_argument("--hidden", type=int, default=512)
parser.add_argument("--dropout", type=float, default=0.2)
parser.add_argument("--pos_weight", action="store_true", help="weight positives by neg/pos ratio per class")
parser.add_argument("--limit", type=int, default=None, help="use only the first N clips of each split (quick runs)")
parser.add_argument("--eval_test", action="store_true",
                    help="after training, report test F1 with the validation thresholds (never used for selection)")
parser.add_argument("--class_map_dir", default=None, help="folder with the course's class map JSONs")
parser.add_argument("--cache_dir", default=str(U.REPO / ".cache" / "hw1"))
parser.add_argument("--checkpoint", default=None, help="default checkpoints/hw1/<name>.pt")
parser.add_argument("--results_dir", default=str(U.REPO / "results" / "hw1"))
parser.add_argument("--name", default=None, help="run name (default: frozen or finetune)")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--device", default="auto")
args = parser.parse_args()

import torch
import torch.nn as nn
from model import ProbeHead

torch.manual_seed(args.seed)
np.random.seed(args.seed)
device = U.pick_device(args.device)
mode = "finetune" if args.finetune else "frozen"
name = args.name or mode
epochs = args.epochs or (5 if args.finetune else 40)
bs = args.batch_size or (8 if args.finetune else 256)
ckpt_path = Path(args.checkpoint or U.REPO / "checkpoints" / "hw1" / f"{name}.pt")
results_dir = Path(args.results_dir)
class_names = U.load_class_names(args.class_map_dir)
n_classes = len(class_names)
print(f"hw1 {mode}: encoder {args.encoder} (revision {args.revision or 'main'}), device {device}")

# ---------------------------------------------------------------------------------------------------------------------
# data: clip lists + labels; header check of every clip before any model work
splits = ["train", "validation"] + (["test"] if args.eval_test else [])
data, counts = {}, {}
for s in splits:
    files, y, c = U.read_split(args.data_root, s, n_classes, args.limit)
    c["length_fixed"] = U.check_clips(files, where=U.split_paths(args.data_root, s)[0])
    data[s], counts[s] = (files, y), dict(c, n=len(files))
    print(f"{s}: {len(files)} labelled clips, positives per class {y.sum(0).astype(int).tolist()}")

# ---------------------------------------------------------------------------------------------------------------------
# encoder / features
t0 = time.time()
encoder = fe = None
revision = args.revision or "main"
feats = {}
if mode == "frozen":
    cache_dir = Path(args.cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    for s in splits:
        files = data[s][0]
        path = cache_dir / f"{s}_{U.cache_key(args.encoder, args.revision or 'main', args.pooling, files)}.npy"
        meta = path.with_suffix(".json")
        if path.is_file() and meta.is_file():
            print(f"cache hit: {s}: {path}")
            feats[s] = np.load(path)
            revision = json.loads(meta.read_text()).get("revision_resolved", revision)
            continue
        print(f"cache miss: {s}: extracting {len(files)} clips -> {path}")
        if encoder is None:
            encoder, fe, revision = U.load_encoder(args.encoder, args.revision, device)
        f = U.extract_pooled(encoder, fe, files, args.pooling, args.extract_batch_size, device, desc=f"extract {s}")
        tmp = path.with_name(path.stem + ".tmp.npy")
        np.save(tmp, f)
        os.replace(tmp, path)
        meta.write_text(json.dumps({"encoder": args.encoder, "revision": args.revision or "main",
                                    "revision_resolved": revision, "pooling": args.pooling, "split": s,
                                    "n": len(files), "shape": list(f.shape), "dtype": "float16"}, indent=1))
        feats[s] = f
    feats = {s: torch.from_numpy(f) for s, f in feats.items()}
    n_states, dim = feats["train"].shape[1:]
else:
    encoder, fe, revision = U.load_encoder(args.encoder, args.revision, device)
    for p in encoder.parameters():
        p.requires_grad = False
    layers = encoder.encoder.layers
    k = args.top_k_layers if 0 < args.top_k_layers <= len(layers) else len(layers)
    trainable = list(layers[len(layers) - k:])
    if k == len(layers):   # all: everything above the CNN front end (kept frozen, as in HuBERT/MERT fine-tuning)
        trainable += [encoder.feature_projection, encoder.encoder.pos_conv_embed, encoder.encoder.layer_norm]
        if getattr(encoder, "masked_spec_embed", None) is not None:   # SpecAugment mask vector (train-time masking)
            encoder.masked_spec_embed.requires_grad = True
    for m in trainable:
        for p in m.parameters():
            p.requires_grad = True
    n_states = encoder.config.num_hidden_layers + 1
    dim = encoder.config.hidden_size * (2 if args.pooling == "meanstd" else 1)
    print(f"fine-tuning the top {k} of {len(layers)} layers: "
          f"{sum(p.numel() for p in encoder.parameters() if p.requires_grad) / 1e6:.2f}M trainable encoder params")
extract_s = time.time() - t0

# ---------------------------------------------------------------------------------------------------------------------
# head, loss, optimiser (seeded here: loading an encoder consumes random numbers, a cache hit does not)
torch.manual_seed(args.seed)
head = ProbeHead(n_states, dim, n_classes, args.hidden, args.dropout).to(device)
groups = [{"params": head.parameters(), "lr": args.lr}]
if encoder is not None and mode == "finetune":
    groups.append({"params": [p for p in encoder.parameters() if p.requires_grad], "lr": args.encoder_lr})
opt = torch.optim.AdamW(groups, weight_decay=args.weight_decay)
y_train = data["train"][1]
pos_weight = None
if args.pos_weight:
    pos = y_train.sum(0)
    pos_weight = torch.tensor(np.clip((len(y_train) - pos) / np.maximum(pos, 1), 1.0, 50.0), dtype=torch.float32, device=device)
loss_fn = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
gen = torch.Generator().manual_seed(args.seed)


def batches(split, shuffle):
    files, y = data[split]
    order = torch.randperm(len(y), generator=gen) if shuffle else torch.arange(len(y))
    for idx in order.split(bs):
        idx = idx.numpy()
        x = feats[split][idx] if mode == "frozen" else [U.load_clip(files[i]) for i in idx]
        yield x, torch.from_numpy(y[idx]).to(device)


def logits_of(x):
    with U.autocast(device):
        if mode == "frozen":
            return head(x.to(device).float()).float()
        return head(U.pooled_states(encoder, U.prepare(fe, x, device), args.pooling)).float()


@torch.no_grad()
def predict(split):
    head.eval()
    if encoder is not None:
        encoder.eval()
    probs, loss, n = [], 0.0, 0
    for x, y in batches(split, shuffle=False):
        logits = logits_of(x)
        loss += loss_fn(logits, y).item() * len(y)
        n += len(y)
        probs.append(torch.sigmoid(logits).cpu().numpy())
    return np.concatenate(probs), loss / n


# ---------------------------------------------------------------------------------------------------------------------
# training; the best epoch and the per-class thresholds come from the validation split only
from tqdm import tqdm

history, best = [], None
y_val = data["validation"][1]
t1 = time.time()
for epoch in range(1, epochs + 1):
    head.train()
    if mode == "finetune":
        encoder.train()
    tot, n = 0.0, 0
    n_batches = (len(y_train) + bs - 1) // bs
    for x, y in tqdm(batches("train", shuffle=True), total=n_batches, desc=f"epoch {epoch}", leave=False,
                     disable=mode == "frozen"):
        loss = loss_fn(logits_of(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        tot += loss.item() * len(y)
        n += len(y)
    probs, val_loss = predict("validation")
    th = U.choose_thresholds(probs, y_val)
    scores = U.f1_scores(y_val, (probs >= th).astype(int))
    history.append({"epoch": epoch, "train_loss": tot / n, "val_loss": val_loss, "val_macro_f1": scores["macro_f1"],
                    "val_micro_f1": scores["micro_f1"]})
    print(f"epoch {epoch:3d}  train_loss {tot / n:.4f}  val_loss {val_loss:.4f}  "
          f"val_macro_f1 {scores['macro_f1']:.4f}  val_micro_f1 {scores['micro_f1']:.4f}")
    if best is None or scores["macro_f1"] > best["val"]["macro_f1"]:
        best = {"epoch": epoch, "val": scores, "thresholds": th, "head": copy.deepcopy(head.state_dict()),
                "encoder_state": None if mode == "frozen" else
                {k: p.detach().cpu().clone() for k, p in encoder.named_parameters() if p.requires_grad}}
train_s = time.time() - t1

head.load_state_dict(best["head"])
if mode == "finetune":
    encoder.load_state_dict(best["encoder_state"], strict=False)
layer_weights = [float(v) for v in head.layer_weights().detach().cpu()]
thresholds = [float(v) for v in best["thresholds"]]
print(f"best epoch {best['epoch']}: val macro-F1 {best['val']['macro_f1']:.4f}, micro-F1 {best['val']['micro_f1']:.4f}")
print("layer weights: " + " ".join(f"{w:.3f}" for w in layer_weights))

ckpt_path.parent.mkdir(parents=True, exist_ok=True)
torch.save({"mode": mode, "encoder": str(args.encoder), "revision": str(revision), "pooling": args.pooling,
            "class_names": class_names, "n_states": int(n_states), "dim": int(dim), "hidden": args.hidden,
            "dropout": args.dropout, "head": {k: v.cpu() for k, v in best["head"].items()},
            "thresholds": thresholds, "layer_weights": layer_weights, "epoch": best["epoch"],
            "val_macro_f1": best["val"]["macro_f1"], "top_k_layers": args.top_k_layers,
            "encoder_state": best["encoder_state"]}, ckpt_path)
print(f"saved checkpoint {ckpt_path}")

test = None
if args.eval_test:   # reported only; thresholds and epoch are already fixed from validation
    probs, test_loss = predict("test")
    test = dict(U.f1_scores(data["test"][1], (probs >= np.array(thresholds)).astype(int)), n=len(probs), loss=test_loss)
    print(f"test (validation thresholds): macro-F1 {test['macro_f1']:.4f}, micro-F1 {test['micro_f1']:.4f}")

# ---------------------------------------------------------------------------------------------------------------------
# figures + results JSON
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

results_dir.mkdir(parents=True, exist_ok=True)
ep = [h["epoch"] for h in history]
fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.5))
a1.plot(ep, [h["train_loss"] for h in history], label="train")
a1.plot(ep, [h["val_loss"] for h in history], label="validation")
a1.set_xlabel("epoch"), a1.set_ylabel("BCE loss"), a1.legend()
a2.plot(ep, [h["val_macro_f1"] for h in history], label="macro-F1")
a2.plot(ep, [h["val_micro_f1"] for h in history], label="micro-F1")
a2.axvline(best["epoch"], color="gray", ls="--", lw=0.8)
a2.set_xlabel("epoch"), a2.set_ylabel("validation F1 (tuned thresholds)"), a2.legend()
fig.suptitle(f"HW1 {name}: {args.encoder}")
fig.tight_layout()
fig.savefig(results_dir / f"{name}_curves.png", dpi=120)
plt.close(fig)
U.save_bar(layer_weights, [str(i) for i in range(len(layer_weights))], results_dir / f"{name}_layer_weights.png",
           f"HW1 {name}: learned layer weights (0 = CNN/projection output)", "softmax weight")

result = {"name": name, "mode": mode, "encoder": str(args.encoder), "revision": str(revision),
          "command": "python " + shlex.join(sys.argv),
          "data": {"root": str(args.data_root), "provenance": U.provenance(args.data_root), "counts": counts},
          "seed": args.seed, "class_names": class_names, "pooling": args.pooling, "layer_weights": layer_weights,
          "thresholds": thresholds, "best_epoch": best["epoch"], "val": best["val"], "test": test,
          "train_time_s": round(train_s, 2), "extract_time_s": round(extract_s, 2), "device": str(device),
          "checkpoint": str(ckpt_path), "top_k_layers": args.top_k_layers if mode == "finetune" else None,
          "history": history,
          "figures": {"curves": f"{name}_curves.png", "layer_weights": f"{name}_layer_weights.png"}}
(results_dir / f"{name}.json").write_text(json.dumps(result, indent=1))
print(f"wrote {results_dir / (name + '.json')}")
