"""HW1 training: MERT transfer learning for 9-class instrument activity on the course's Slakh clips.

Frozen mode (default): extract all MERT hidden states once, pool over time, cache per split on disk (float16), then
train a probe (softmax-weighted sum over layers -> MLP -> 9 logits, BCE-with-logits) on the cache.
--finetune: the encoder (all transformer layers, or the top k) trains end to end with the same head, lower LR.
Per-class thresholds and the best epoch are chosen on the validation split only. The best-so-far checkpoint is
written on each improvement, and after each epoch the state --resume continues from (<checkpoint>.resume).

  python hw1/finetune_mert.py --data_root data/slakh                       # frozen probe
  python hw1/finetune_mert.py --data_root data/slakh --finetune --top_k_layers 4
  python hw1/finetune_mert.py --data_root data/slakh --encoder models/MERT-v1-95M   # local copy of the encoder
  python hw1/finetune_mert.py --data_root data/slakh --finetune --resume          # continue an interrupted run
The checkpoint records the encoder's hub id (--hub_id, or known from the architecture for MERT-v1-95M / -330M) beside
the local folder, so inference on another machine finds the encoder without that folder. An existing checkpoint is
never replaced without --overwrite. An unusable clip (not a float .npy waveform, NaN/inf samples) is named in a
warning and left out of its split; the results JSON counts it.
"""
import argparse
import copy
import json
import os
import random
import shlex
import sys
import time
from pathlib import Path

import numpy as np

import utils as U

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--data_root", default="data/slakh", help="folder with {train,validation,test}/ and *_labels.json")
parser.add_argument("--encoder", default=U.DEFAULT_ENCODER, help="hub id or local folder (hf download)")
parser.add_argument("--revision", default=None, help="hub revision (branch, tag or commit); default main")
parser.add_argument("--hub_id", default=None,
                    help="hub id of a local --encoder folder, stored in the checkpoint so inference can fall back to "
                         "it (default: m-a-p/MERT-v1-95M or -330M, known from the architecture)")
parser.add_argument("--finetune", action="store_true", help="train the encoder end to end (default: frozen probe)")
parser.add_argument("--top_k_layers", type=int, default=0, help="--finetune: train only the top k layers (0 = all)")
parser.add_argument("--pooling", default="mean", choices=["mean", "meanstd"])
parser.add_argument("--epochs", type=int, default=None, help="default 40 frozen, 5 --finetune")
parser.add_argument("--batch_size", type=int, default=None, help="default 256 frozen (cached features), 8 --finetune")
parser.add_argument("--extract_batch_size", type=int, default=16)
parser.add_argument("--lr", type=float, default=1e-3, help="head learning rate")
parser.add_argument("--encoder_lr", type=float, default=1e-5, help="--finetune: encoder learning rate")
parser.add_argument("--weight_decay", type=float, default=1e-2, help="AdamW decay of weight matrices only")
parser.add_argument("--warmup", type=float, default=0.1,
                    help="--finetune: fraction of the steps with linear LR warm-up, then cosine decay to 0")
parser.add_argument("--no_layer_norm", action="store_true",
                    help="no parameter-free LayerNorm of each hidden state before the weighted layer sum")
parser.add_argument("--workers", type=int, default=None, help="clip-reading worker processes (default min(4, cores-1))")
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
parser.add_argument("--overwrite", action="store_true",
                    help="replace an existing checkpoint (e.g. the shipped checkpoints/hw1/<name>.pt) and its results")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--device", default="auto", help="auto (a CUDA GPU if torch sees one, else the CPU), cpu, cuda[:N]")
parser.add_argument("--precision", default="auto", choices=U.PRECISIONS,
                    help="encoder precision: auto = bf16 autocast on GPUs of compute capability >= 8.0, fp16 autocast "
                         "(+ gradient scaler) below, fp32 on a CPU; fp32 if fp16 gives NaN/inf features")
parser.add_argument("--resume", action="store_true",
                    help="continue an interrupted run from its last finished epoch (<checkpoint>.resume, written after "
                         "each epoch beside the checkpoint and removed when the run ends)")
parser.add_argument("--stop_after_epoch", type=int, default=0,
                    help="end this process after that epoch (continue later with --resume), e.g. to fit a time limit")


def main():
    args = parser.parse_args()

    import torch
    import torch.nn as nn
    from model import ProbeHead

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    device = U.pick_device(args.device)
    amp = U.amp_dtype(device, args.precision)  # auto: bf16 from compute capability 8.0, fp16 below, fp32 on CPU
    precision = U.precision_name(device, args.precision)
    workers = U.default_workers() if args.workers is None else args.workers
    mode = "finetune" if args.finetune else "frozen"
    name = args.name or mode
    epochs = args.epochs or (5 if args.finetune else 40)
    bs = args.batch_size or (8 if args.finetune else 256)
    ckpt_path = Path(args.checkpoint or U.REPO / "checkpoints" / "hw1" / f"{name}.pt")
    results_dir = Path(args.results_dir)
    # the state to continue from after each epoch; not a .pt, so inference and the hand-in never take it for a model
    resume_path = ckpt_path.with_name(ckpt_path.name + ".resume")
    resuming = args.resume and resume_path.is_file()
    if args.resume and not resuming:
        sys.exit(f"error: --resume: no {U.shown_path(resume_path)} (it is written after each finished epoch and "
                 f"removed when a run ends); run without --resume to start")
    if ckpt_path.exists() and not args.overwrite and not resuming:
        other = ("another --checkpoint FILE" if args.checkpoint else f"--name NAME to write "
                 f"{U.shown_path(ckpt_path.with_name('NAME.pt'))} (inference.py --checkpoint takes it)")
        sys.exit(f"error: {U.shown_path(ckpt_path)} exists (the checkpoint you hand in?); pass --overwrite to replace "
                 f"it and its results, or {other}")
    class_names = U.load_class_names(args.class_map_dir)
    n_classes = len(class_names)
    print(f"hw1 {mode}: encoder {args.encoder} (revision {args.revision or 'main'}), device {device} "
          f"({precision} encoder, fp32 head)")

    # ------------------------------------------------------------------------------------------------------------------
    # data: clip lists + labels; header check of every clip before any model work. Unusable clips are left out of their
    # split (one warning per split names them; the results count them): found here from the header, and from the samples
    # (NaN/inf) when the clips are read: here for --finetune, which reads every clip each epoch, else at extraction.
    splits = ["train", "validation"] + (["test"] if args.eval_test else [])
    data, counts, problems, clip_dir = {}, {}, {}, {}
    for s in splits:
        files, y, c = U.read_split(args.data_root, s, n_classes, args.limit)
        clip_dir[s] = U.split_paths(args.data_root, s)[0]
        problems[s], c["length_fixed"] = U.check_clips(files, where=clip_dir[s], samples=args.finetune)
        if len(problems[s]) == len(files):
            U.report_excluded(files, problems[s], clip_dir[s])   # nothing usable: one error
        data[s], counts[s] = (files, y), dict(c, n=len(files))
        print(f"{s}: {len(files)} labelled clips, positives per class {y.sum(0).astype(int).tolist()}")

    def drop_unusable(s):
        """Leave split s's unusable clips out of it: one warning naming them, their count and names in the results."""
        files, y = data[s]
        kept = set(U.report_excluded(files, problems[s], clip_dir[s], f"the {s} split"))
        keep = [i for i, f in enumerate(files) if f in kept]
        data[s] = ([files[i] for i in keep], y[keep])
        counts[s].update(n=len(keep), n_excluded=len(files) - len(keep),
                         excluded={f.name: problems[s][f] for f in files if f in problems[s]})

    if args.finetune:
        for s in splits:
            drop_unusable(s)

    # ------------------------------------------------------------------------------------------------------------------
    # encoder / features
    t0 = time.time()
    encoder = fe = None
    revision = args.revision or "main"
    feats = {}
    if mode == "frozen":
        cache_dir = Path(args.cache_dir)
        cache_dir.mkdir(parents=True, exist_ok=True)
        todo = {}                                                        # split -> (clips to extract, cache file)
        for s in splits:
            files = [f for f in data[s][0] if f not in problems[s]]        # the clips whose headers are fine
            key = U.cache_key(args.encoder, args.revision or "main", args.pooling, files, precision)
            todo[s] = files, cache_dir / f"{s}_{key}.npy"
        misses = [s for s, (_, path) in todo.items() if not (path.is_file() and path.with_suffix(".json").is_file())]
        U.warn_cpu_fallback(args.device, device, sum(len(todo[s][0]) for s in misses), args.encoder,
                            "clips to extract through MERT")
        for s in splits:
            files, path = todo[s]
            meta = path.with_suffix(".json")
            if s not in misses:
                print(f"cache hit: {s}: {path}")
                feats[s] = np.load(path)
                info = json.loads(meta.read_text())
                revision = info.get("revision_resolved", revision)
                unreadable = info.get("excluded", {})                    # clips found unusable when they were read
                problems[s].update({f: unreadable[f.name] for f in files if f.name in unreadable})
            else:
                print(f"cache miss: {s}: extracting {len(files)} clips -> {path}")
                if encoder is None:
                    encoder, fe, revision = U.load_encoder(args.encoder, args.revision, device)
                unreadable = {}
                f = U.extract_pooled(encoder, fe, files, args.pooling, args.extract_batch_size, device,
                                     desc=f"extract {s}", workers=workers, problems=unreadable,
                                     precision=args.precision, where=f"the {s} split")
                tmp = path.with_name(path.stem + ".tmp.npy")
                np.save(tmp, f)
                os.replace(tmp, path)
                meta.write_text(json.dumps({"encoder": args.encoder, "revision": args.revision or "main",
                                            "revision_resolved": revision, "pooling": args.pooling, "split": s,
                                            "precision": precision,
                                            "n": len(f), "shape": list(f.shape), "dtype": "float16",
                                            "excluded": {p.name: why for p, why in unreadable.items()}}, indent=1))
                problems[s].update(unreadable)
                feats[s] = f
            drop_unusable(s)                                              # feature rows = the usable clips, in order
        feats = {s: torch.from_numpy(f) for s, f in feats.items()}
        n_states, dim = feats["train"].shape[1:]
    else:   # each epoch: the train clips forward + backward (about 3 forward passes), the validation clips forward
        n_passes = (args.stop_after_epoch or epochs) * (3 * len(data["train"][1]) + len(data["validation"][1]))
        U.warn_cpu_fallback(args.device, device, n_passes, args.encoder,
                            "clip passes (3 per training clip) through MERT")
        encoder, fe, revision = U.load_encoder(args.encoder, args.revision, device)
        k = U.freeze_for_finetune(encoder, args.top_k_layers)   # the CNN front end is always frozen
        n_states = encoder.config.num_hidden_layers + 1
        dim = encoder.config.hidden_size * (2 if args.pooling == "meanstd" else 1)
        print(f"fine-tuning the top {k} of {n_states - 1} layers: "
              f"{sum(p.numel() for p in encoder.parameters() if p.requires_grad) / 1e6:.2f}M trainable encoder params")
    extract_s = time.time() - t0

    # where the encoder comes from on another machine: the local folder (absolute) and the hub id it is a copy of
    encoder_path = str(Path(args.encoder).resolve()) if os.path.isdir(args.encoder) else None
    hub_id = args.hub_id or (None if U.looks_like_path(args.encoder) else args.encoder) or \
        U.hub_id_for(dim // (2 if args.pooling == "meanstd" else 1), n_states - 1)
    if encoder_path and not hub_id:
        print(f"warning: --encoder {args.encoder} is not MERT-v1-95M/-330M-shaped and no --hub_id was given: the "
              f"checkpoint will need this folder (or --encoder) at inference")

    # ------------------------------------------------------------------------------------------------------------------
    # head, loss, optimiser (seeded here: loading an encoder consumes random numbers, a cache hit does not)
    torch.manual_seed(args.seed)
    layer_norm = not args.no_layer_norm
    head = ProbeHead(n_states, dim, n_classes, args.hidden, args.dropout, layer_norm).to(device)
    groups = U.param_groups(head.named_parameters(), args.lr, args.weight_decay)
    if mode == "finetune":
        groups += U.param_groups(encoder.named_parameters(), args.encoder_lr, args.weight_decay)
    opt = torch.optim.AdamW(groups)
    n_batches = (len(data["train"][1]) + bs - 1) // bs
    sched = None
    if mode == "finetune":   # warm-up protects the pretrained layers from the first, noisiest updates of the new head
        total = epochs * n_batches
        warm = max(1, round(args.warmup * total))
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: U.warmup_cosine(step, total, warm))
    # fp16 autocast (GPUs below compute capability 8.0) needs loss scaling so small gradients don't underflow
    scaler = torch.amp.GradScaler(device.type, enabled=mode == "finetune" and amp == torch.float16)
    y_train = data["train"][1]
    pos_weight = None
    if args.pos_weight:
        pos = y_train.sum(0)
        pos_weight = torch.tensor(np.clip((len(y_train) - pos) / np.maximum(pos, 1), 1.0, 50.0), dtype=torch.float32,
                                  device=device)
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    gen = torch.Generator().manual_seed(args.seed)

    def batches(split, shuffle):
        files, y = data[split]
        order = torch.randperm(len(y), generator=gen) if shuffle else torch.arange(len(y))
        index_batches = [idx.tolist() for idx in order.split(bs)]
        if mode == "frozen":
            for idx in index_batches:
                yield feats[split][idx], torch.from_numpy(y[idx]).to(device)
        else:   # worker processes read the next clips while the encoder runs on these
            for idx, waves in U.clip_batches(files, index_batches, workers):
                yield waves, torch.from_numpy(y[idx]).to(device)

    def logits_of(x, split):
        """Encoder under autocast (fine-tuning), then the head in fp32, as inference runs it."""
        if mode == "frozen":
            return U.head_logits(head, x.to(device))
        with U.autocast(device, args.precision):
            z = U.pooled_states(encoder, U.prepare(fe, x, device), args.pooling)
        U.check_finite(z, f"the {split} split (a batch of {len(z)})", precision)
        return U.head_logits(head, z)

    @torch.no_grad()
    def predict(split):
        head.eval()
        if encoder is not None:
            encoder.eval()
        probs, loss, n = [], 0.0, 0
        for x, y in batches(split, shuffle=False):
            logits = logits_of(x, split)
            loss += loss_fn(logits, y).item() * len(y)
            n += len(y)
            probs.append(torch.sigmoid(logits).cpu().numpy())
        return np.concatenate(probs), loss / n

    # the fine-tuned encoder weights are saved in fp16 (half the size: 95M all layers ~190 MB instead of 380 MB) and
    # loaded back as fp32; validation scores them rounded so, so the best epoch, its thresholds and its F1 are those
    # of the encoder inference will run. Training itself continues from the unrounded weights.
    trainable = {} if mode == "frozen" else {k: p for k, p in encoder.named_parameters() if p.requires_grad}

    def saved_encoder_state():
        return {k: p.detach().cpu().half() for k, p in trainable.items()}

    def checkpoint_of(best):
        return {"mode": mode, "encoder": str(args.encoder), "encoder_path": encoder_path, "hub_id": hub_id,
                "revision": str(revision), "pooling": args.pooling, "layer_norm": layer_norm,
                "class_names": class_names, "n_states": int(n_states), "dim": int(dim), "hidden": args.hidden,
                "dropout": args.dropout, "head": {k: v.cpu() for k, v in best["head"].items()},
                "thresholds": [float(v) for v in best["thresholds"]], "layer_weights": best["layer_weights"],
                "epoch": best["epoch"], "val_macro_f1": best["val"]["macro_f1"], "top_k_layers": args.top_k_layers,
                "encoder_state": best["encoder_state"],
                "encoder_state_dtype": "float16" if best["encoder_state"] else None,
                "precision": precision, "precision_flag": args.precision}

    def save_atomically(obj, path):
        """Write to a temporary file, then rename: a run killed mid-write leaves the previous file whole."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        torch.save(obj, tmp)
        os.replace(tmp, path)

    # ------------------------------------------------------------------------------------------------------------------
    # training; the best epoch and the per-class thresholds come from the validation split only. After each epoch:
    # the best-so-far checkpoint (on an improvement) and the state --resume continues from.
    from tqdm import tqdm

    history, best, start_epoch, train_s = [], None, 0, 0.0
    y_val = data["validation"][1]
    config = {k: getattr(args, k) for k in ("encoder", "revision", "finetune", "top_k_layers", "pooling", "batch_size",
                                            "lr", "encoder_lr", "weight_decay", "warmup", "no_layer_norm", "hidden",
                                            "dropout", "pos_weight", "limit", "seed", "precision")}
    config.update(epochs=epochs, data_root=str(Path(args.data_root).resolve()))
    if resuming:
        state = torch.load(resume_path, map_location="cpu", weights_only=True)
        before = state["config"]
        changed = [f"{k} {before.get(k)!r}" for k in config if before.get(k) != config[k]]
        if changed:
            sys.exit(f"error: --resume: {U.shown_path(resume_path)} was written with other settings "
                     f"({', '.join(changed)}); rerun with those, or without --resume to start again")
        head.load_state_dict(state["head"])
        if trainable:
            encoder.load_state_dict(state["encoder"], strict=False)
        opt.load_state_dict(state["optimizer"])
        if sched is not None:
            sched.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        history, best, start_epoch, train_s = state["history"], state["best"], state["epoch"], state["train_s"]
        torch.set_rng_state(state["rng"]["torch"])
        if device.type == "cuda" and state["rng"]["cuda"] is not None:
            torch.cuda.set_rng_state(state["rng"]["cuda"], device)
        gen.set_state(state["rng"]["shuffle"])
        np.random.set_state(("MT19937", state["rng"]["numpy"].numpy().astype(np.uint32), *state["rng"]["numpy_pos"]))
        random.setstate(state["rng"]["python"])
        print(f"resumed from {U.shown_path(resume_path)} after epoch {start_epoch} of {epochs} "
              f"(best so far: epoch {best['epoch']}, val macro-F1 {best['val']['macro_f1']:.4f})")
    for epoch in range(start_epoch + 1, epochs + 1):
        t1 = time.time()
        head.train()
        if mode == "finetune":
            encoder.train()
        tot, n = 0.0, 0
        for x, y in tqdm(batches("train", shuffle=True), total=n_batches, desc=f"epoch {epoch}", leave=False,
                         disable=mode == "frozen"):
            loss = loss_fn(logits_of(x, "train"), y)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            if sched is not None:
                sched.step()
            tot += loss.item() * len(y)
            n += len(y)
        unrounded = {k: p.detach().clone() for k, p in trainable.items()}
        with torch.no_grad():
            for p in trainable.values():
                p.copy_(p.half().float())                      # as saved and loaded back
        probs, val_loss = predict("validation")
        th = U.choose_thresholds(probs, y_val)
        scores = U.f1_scores(y_val, (probs >= th).astype(int))
        history.append({"epoch": epoch, "train_loss": tot / n, "val_loss": val_loss,
                        "val_macro_f1": scores["macro_f1"], "val_micro_f1": scores["micro_f1"]})
        print(f"epoch {epoch:3d}  train_loss {tot / n:.4f}  val_loss {val_loss:.4f}  "
              f"val_macro_f1 {scores['macro_f1']:.4f}  val_micro_f1 {scores['micro_f1']:.4f}")
        if best is None or scores["macro_f1"] > best["val"]["macro_f1"]:
            best = {"epoch": epoch, "val": scores, "thresholds": [float(v) for v in th],
                    "head": copy.deepcopy(head.state_dict()),
                    "layer_weights": [float(v) for v in head.layer_weights().detach().cpu()],
                    "encoder_state": saved_encoder_state() if trainable else None}
            save_atomically(checkpoint_of(best), ckpt_path)
        with torch.no_grad():
            for k, p in trainable.items():
                p.copy_(unrounded[k])
        train_s += time.time() - t1
        if epoch < epochs:
            np_state = np.random.get_state()
            save_atomically({"config": config, "epoch": epoch, "history": history, "best": best, "train_s": train_s,
                             "head": head.state_dict(),
                             "encoder": {k: p.detach().cpu() for k, p in trainable.items()},
                             "optimizer": opt.state_dict(), "scheduler": sched.state_dict() if sched else None,
                             "scaler": scaler.state_dict(),
                             "rng": {"torch": torch.get_rng_state(), "shuffle": gen.get_state(),
                                     "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                                     "numpy": torch.from_numpy(np_state[1].astype(np.int64)),
                                     "numpy_pos": list(np_state[2:]), "python": random.getstate()}}, resume_path)
        if args.stop_after_epoch and epoch == args.stop_after_epoch and epoch < epochs:
            print(f"stopping after epoch {epoch} as asked; continue with --resume (state in "
                  f"{U.shown_path(resume_path)})")
            return
    resume_path.unlink(missing_ok=True)                     # the run is complete: nothing to resume

    head.load_state_dict(best["head"])
    if trainable:   # --eval_test runs the encoder as saved
        encoder.load_state_dict({k: v.float() for k, v in best["encoder_state"].items()}, strict=False)
    layer_weights, thresholds = best["layer_weights"], [float(v) for v in best["thresholds"]]
    print(f"best epoch {best['epoch']}: val macro-F1 {best['val']['macro_f1']:.4f}, "
          f"micro-F1 {best['val']['micro_f1']:.4f}")
    print("layer weights: " + " ".join(f"{w:.3f}" for w in layer_weights))
    ckpt_sha256 = U.sha256_of(ckpt_path)
    print(f"saved checkpoint {ckpt_path} (sha256 {ckpt_sha256[:12]}...)")

    test = None
    if args.eval_test:   # reported only; thresholds and epoch are already fixed from validation
        probs, test_loss = predict("test")
        test = dict(U.f1_scores(data["test"][1], (probs >= np.array(thresholds)).astype(int)), n=len(probs),
                    loss=test_loss)
        print(f"test (validation thresholds): macro-F1 {test['macro_f1']:.4f}, micro-F1 {test['micro_f1']:.4f}")

    # ------------------------------------------------------------------------------------------------------------------
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

    result = {"name": name, "mode": mode, "encoder": str(args.encoder), "hub_id": hub_id, "revision": str(revision),
              "command": "python " + shlex.join(sys.argv),
              "data": {"root": U.shown_path(args.data_root), "provenance": U.provenance(args.data_root),
                       "counts": counts},
              "seed": args.seed, "class_names": class_names, "pooling": args.pooling, "layer_weights": layer_weights,
              "thresholds": thresholds, "best_epoch": best["epoch"], "val": best["val"], "test": test,
              "train_time_s": round(train_s, 2), "extract_time_s": round(extract_s, 2), "device": str(device),
              "precision": precision, "precision_flag": args.precision, "layer_norm": layer_norm,
              "checkpoint": U.shown_path(ckpt_path), "checkpoint_sha256": ckpt_sha256,
              "top_k_layers": args.top_k_layers if mode == "finetune" else None, "history": history,
              "figures": {"curves": f"{name}_curves.png", "layer_weights": f"{name}_layer_weights.png"}}
    (results_dir / f"{name}.json").write_text(json.dumps(result, indent=1))
    print(f"wrote {results_dir / (name + '.json')}")


if __name__ == "__main__":   # worker processes started by spawn (Windows, macOS) import this file: no re-run
    main()
