"""Task 3: train the CNN on mel-spectrograms (log input by default, --no_log for the linear-magnitude comparison).

    python hw0/train_cnn.py --train_dir DATA/nsynth-train --valid_dir DATA/nsynth-valid --test_dir DATA/nsynth-test
    python hw0/train_cnn.py ... --no_log --peak_norm   # same model and recipe on linear mel power (relative to
                                                       # each note's peak: without it linear input hardly learns)

The best epoch by validation top-1 is saved with everything inference needs; the test split (optional) is scored
once, at the end, with that checkpoint.
"""
import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

import augment
import utils
from model import NoteCNN, load_checkpoint

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--train_dir", required=True, help="NSynth-format split folder (examples.json + audio/)")
p.add_argument("--valid_dir", required=True, help="validation split: selects the best epoch")
p.add_argument("--test_dir", default=None, help="test split, scored once at the end (never used for selection)")
p.add_argument("--no_log", action="store_true", help="linear mel power input instead of log-mel")
p.add_argument("--peak_norm", action="store_true", help="set each note's loudest mel bin to 0 dB (floor 80 dB "
                                                          "below it) before standardisation: the input no longer "
                                                          "depends on the recording level")
p.add_argument("--pitch_channel", type=int, default=0, metavar="MIDI",
               help="add a second input channel: the same mel input moved along frequency so that every note's "
                    "fundamental (MIDI pitch from its NSynth file name) sits at this pitch, e.g. 72 (0 = off)")
p.add_argument("--name", default=None, help="run name for checkpoint/results files (default cnn_log / cnn_nolog)")
# defaults inside the repository, wherever the script is run from
p.add_argument("--checkpoint_dir", default=str(utils.REPO / "checkpoints" / "hw0"))
p.add_argument("--results_dir", default=str(utils.REPO / "results" / "hw0"))
p.add_argument("--cache_dir", default=str(utils.REPO / ".cache"), help="log-mel cache and resume state")
p.add_argument("--overwrite", action="store_true", help="replace an existing checkpoint of this --name (e.g. the "
                                                          "shipped checkpoints/hw0/cnn_log.pt) and its results")
p.add_argument("--init", default=None, metavar="CHECKPOINT",
               help="start from this train_cnn.py checkpoint's weights and input normalisation instead of a random "
                    "model (fine-tuning on new data); its model, mel and input settings are kept")
p.add_argument("--max_train", type=int, default=0, help="random subset of the training split (0 = all), e.g. for "
                                                          "quick ablations")
p.add_argument("--epochs", type=int, default=30)
p.add_argument("--batch_size", type=int, default=64)
p.add_argument("--lr", type=float, default=2e-3)
p.add_argument("--weight_decay", type=float, default=0.01)
p.add_argument("--width", type=int, default=24, help="channels of the first conv block")
p.add_argument("--n_blocks", type=int, default=5)
p.add_argument("--dropout", type=float, default=0.3)
p.add_argument("--rfn", type=float, default=0.0, help="relaxed instance frequency-wise normalisation after the first "
                                                       "conv block, its weight in 0..1 (0 = off; hw0/model.py)")
p.add_argument("--n_mels", type=int, default=64)
p.add_argument("--n_fft", type=int, default=1024)
p.add_argument("--hop_length", type=int, default=512)
# Regularisers, all off by default: in bench/hw0_ablation.py (results/hw0/ablation.json) each one lowered validation
# accuracy on unseen instruments at our budget. The regularised recipe is
# --augment gain,eq,noise,reverb,shift,pitch --specaugment 1 --mixup 0.2 --label_smoothing 0.1
# Domain randomisation against unseen sample libraries: bands (FilterAugment band EQ), resample (pitch shift by
# resampling, +-1..12 semitones), mixstyle (Freq-MixStyle) and famix (add a same-family note); the last two pair
# notes of different source groups (dataset_info.json lineage, else instrument_source, else instrument).
# Against what rendered notes lack: tilt (-3..+6 dB per octave: real notes are brighter) and decay (the held note
# fades by 0-20 dB, the release may end in digital silence, as real sample-library notes do)
p.add_argument("--augment", default="",
               help="comma list of augmentations applied to log-mel: gain,eq,noise,reverb,shift,pitch,"
                    "bands,resample,mixstyle,famix,tilt,decay (empty: none)")
p.add_argument("--augment_p", type=float, default=0.5, help="probability that each kind is applied to a note")
p.add_argument("--specaugment", type=int, default=0, help="1: one frequency and one time mask per clip")
p.add_argument("--mixup", type=float, default=0.0, help="mixup alpha (0 = off)")
p.add_argument("--label_smoothing", type=float, default=0.0)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--device", default="auto", help="auto, cpu or cuda")
p.add_argument("--workers", type=int, default=-1, help="DataLoader workers gathering batches from the cache "
                                                       "(-1: 0 on CPU, where they would compete with training, up "
                                                       "to 8 with CUDA)")
p.add_argument("--resume", action="store_true", help="continue from the last finished epoch of this run")
p.add_argument("--stop_after_epoch", type=int, default=0, help="end this process after that epoch (continue later "
                                                               "with --resume), e.g. to fit a time-limited job")
args = p.parse_args()

name = args.name or ("cnn_nolog" if args.no_log else "cnn_log")
device = utils.pick_device(args.device)
torch.manual_seed(args.seed)
np.random.seed(args.seed)
ckpt_path = Path(args.checkpoint_dir) / f"{name}.pt"
resume_path = Path(args.cache_dir) / f"resume_{name}.pt"
results_dir = Path(args.results_dir)
if ckpt_path.exists() and not args.overwrite and not (args.resume and resume_path.is_file()):
    utils.die(f"{utils.shown_path(ckpt_path)} exists (the checkpoint you hand in?); pass --overwrite to replace it "
              f"and its results, or --name NAME for a trial run (writes "
              f"{utils.shown_path(ckpt_path.with_name('NAME.pt'))}; inference.py --checkpoint runs it)")
kinds = [k for k in args.augment.split(",") if k]
if set(kinds) - set(augment.AUGMENT_KINDS):
    utils.die(f"--augment: unknown kind(s) {sorted(set(kinds) - set(augment.AUGMENT_KINDS))}; choose from "
              f"{','.join(augment.AUGMENT_KINDS)}")
if not 0 <= args.augment_p <= 1:
    utils.die(f"--augment_p {args.augment_p} is not a probability; use a value in 0-1")
if not 0 <= args.rfn <= 1:
    utils.die(f"--rfn {args.rfn} is not a blend weight; use a value in 0-1 (0 = off, 0.5 as in Kim et al.)")
mel_cfg = dict(utils.MEL_DEFAULTS, n_fft=args.n_fft, hop_length=args.hop_length, n_mels=args.n_mels)
init = None
if args.init:
    if not Path(args.init).is_file():
        utils.die(f"--init {args.init}: no such checkpoint; give a .pt written by hw0/train_cnn.py")
    _, init = load_checkpoint(args.init, "cpu")
    asked = dict(log_input=not args.no_log, peak_norm=args.peak_norm, pitch_ref=args.pitch_channel or None)
    differs = {k: (init.get(k), v) for k, v in asked.items() if init.get(k) != v}
    if differs:
        utils.die(f"--init {args.init} was trained with " + ", ".join(f"{k}={a}" for k, (a, _) in differs.items())
                  + "; pass the same --no_log / --peak_norm / --pitch_channel to fine-tune it")
    mel_cfg = init["mel"]           # the weights only make sense on the input they were trained on

# ---- data: streamed once through the mel front end into float16 caches on disk, read back by random access ------
# (a split never sits in memory: 289,205 notes are 4.7 GB of log-mel on disk; training holds a batch at a time)
train = utils.cached_log_mel(*utils.list_nsynth(args.train_dir), args.cache_dir, mel_cfg, device, "train")
valid = utils.cached_log_mel(*utils.list_nsynth(args.valid_dir), args.cache_dir, mel_cfg, device, "valid")
for split_dir, split in ((args.train_dir, train), (args.valid_dir, valid)):
    if not (split["labels"] >= 0).any():
        utils.die(f"{split_dir} has no labelled notes; add its examples.json or use NSynth file names "
                  f"(<family>_<source>_<NNN>-<pitch>-<velocity>.wav)")
keep = train["labels"] >= 0             # an unlabelled training note can't be learnt from
if (~keep).any():
    utils.warn(f"{(~keep).sum()} unlabelled training notes skipped")
if args.max_train and keep.sum() > args.max_train:
    keep[np.random.default_rng(args.seed).permutation(np.flatnonzero(keep))[args.max_train:]] = False
train_rows, train_y = train["rows"][keep], torch.as_tensor(train["labels"][keep])
pitch_ref = args.pitch_channel or None
train_pitches = torch.as_tensor(utils.note_pitches(train["paths"], utils.UNALIGNED)[keep] if pitch_ref
                                else np.zeros(len(train_y)))         # MIDI pitch per note, for --pitch_channel
valid_pitches = utils.note_pitches(valid["paths"], utils.UNALIGNED) if pitch_ref else None
train_groups = torch.zeros(len(train_y), dtype=torch.long)     # source group per note, for mixstyle / famix
if set(kinds) & set(augment.CROSS_NOTE_KINDS):
    group_ids, group_names = augment.source_groups(train["paths"], args.train_dir)
    train_groups = torch.as_tensor(group_ids[keep])
    print(f"source groups for {'/'.join(k for k in kinds if k in augment.CROSS_NOTE_KINDS)}: {len(group_names)} ("
          + ", ".join(group_names[:6]) + (", ..." if len(group_names) > 6 else "") + ")")
valid_y = valid["labels"]
n_frames = utils.read_rows(train["file"], train_rows[:1]).shape[-1]
print(f"train {len(train_y)} notes, valid {len(valid_y)} notes, input ({args.n_mels}, {n_frames}) (mels x frames), "
      f"{'log' if not args.no_log else 'linear'} mel, device {device}")
# per mel bin, training set only
norm_mean, norm_std = ((init["norm_mean"], init["norm_std"]) if init else
                        utils.mel_stats(train["file"], train_rows, not args.no_log, args.peak_norm))


class CachedBatches(torch.utils.data.Dataset):
    """Item k = one whole batch: the cache rows at the given positions (float16), their labels, source groups and
    MIDI pitches (zeros unless --pitch_channel).
    Batches are gathered from the cache file (utils.read_rows), in DataLoader workers when there are any."""
    def __init__(self, file, rows, labels, groups, pitches):
        self.file, self.rows, self.labels, self.groups, self.pitches = file, rows, labels, groups, pitches

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, positions):
        return (torch.from_numpy(utils.read_rows(self.file, self.rows[positions])), self.labels[positions],
                self.groups[positions], self.pitches[positions])


workers = args.workers if args.workers >= 0 else (min(8, os.cpu_count() or 1) if device.startswith("cuda") else 0)
train_batches = CachedBatches(train["file"], train_rows, train_y, train_groups, train_pitches)


def batches(positions):
    """DataLoader over the given batches of positions; its own generator, so the global torch RNG (augmentation,
    mixup, the next epoch's shuffle) draws the same numbers with or without workers."""
    return torch.utils.data.DataLoader(train_batches, batch_size=None, sampler=positions, num_workers=workers,
                                       pin_memory=device.startswith("cuda"), generator=torch.Generator())


@torch.inference_mode()
def predict(model, split, split_pitches, batch_size=256):
    model.eval()
    out = []
    for i in range(0, len(split["rows"]), batch_size):
        logmel = torch.from_numpy(utils.read_rows(split["file"], split["rows"][i:i + batch_size]))
        pitches = None if split_pitches is None else split_pitches[i:i + batch_size]
        xb = utils.model_input(logmel, not args.no_log, norm_mean, norm_std, args.peak_norm, pitches, mel_cfg,
                               pitch_ref).to(device)
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=device.startswith("cuda")):
            out.append(model(xb).float().cpu())
    return torch.cat(out)


# ---- model, optimiser, schedule --------------------------------------------------------------------------------
model_config = dict(n_mels=args.n_mels, n_classes=len(utils.FAMILIES), width=args.width, n_blocks=args.n_blocks,
                    dropout=args.dropout, in_channels=2 if pitch_ref else 1, rfn=args.rfn)
if init:
    model_config = init["model_config"]
model = NoteCNN(**model_config).to(device)
if init:
    model.load_state_dict(init["state_dict"])
    print(f"fine-tuning {args.init} (epoch {init['epoch']}, validation top-1 {init['val_top1']:.4f})")
optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
def epoch_batches(perm):
    """The epoch's batches of positions; a last batch of one note joins the one before (BatchNorm can't train on a
    single note)."""
    parts = list(perm.split(args.batch_size))
    if len(parts) > 1 and len(parts[-1]) == 1:
        parts[-2:] = [torch.cat(parts[-2:])]
    return parts


steps_per_epoch = len(epoch_batches(torch.arange(len(train_y))))
total_steps = args.epochs * steps_per_epoch
# 10 % warm-up; torch's OneCycleLR divides by zero when that is exactly one step (e.g. --epochs 1 on 640 notes)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=total_steps,
                                                pct_start=0.1 if total_steps != 10 else 0.2)
print(f"model: {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters")
history, best_top1, start_epoch, train_time = [], -1.0, 0, 0.0
if args.resume and resume_path.is_file():
    state = torch.load(resume_path, map_location=device, weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"])
    history, best_top1, start_epoch, train_time = state["history"], state["best_top1"], state["epoch"], state["time"]
    print(f"resumed {name} after epoch {start_epoch}")

# ---- train -----------------------------------------------------------------------------------------------------
for epoch in range(start_epoch, args.epochs):
    t0 = time.time()
    model.train()
    perm = torch.randperm(len(train_y))
    loss_sum, correct, seen = 0.0, 0, 0
    for xb, yb, gb, pb in tqdm(batches(epoch_batches(perm)), desc=f"epoch {epoch + 1}/{args.epochs}",
                               leave=False, unit="batch"):
        if kinds:
            xb, pb = augment.augment(xb, kinds, mel_cfg, labels=yb, groups=gb, p=args.augment_p, pitches=pb)
        xb = utils.model_input(xb, not args.no_log, norm_mean, norm_std, args.peak_norm, pb, mel_cfg, pitch_ref)
        if args.specaugment:
            xb = augment.spec_mask(xb)
        target = F.one_hot(yb, len(utils.FAMILIES)).float()
        if args.mixup > 0:
            lam = float(torch.distributions.Beta(args.mixup, args.mixup).sample())
            j = torch.randperm(len(xb))
            xb, target = lam * xb + (1 - lam) * xb[j], lam * target + (1 - lam) * target[j]
        xb, target = xb.to(device, non_blocking=True), target.to(device)
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=device.startswith("cuda")):
            logits = model(xb)
        loss = F.cross_entropy(logits.float(), target, label_smoothing=args.label_smoothing)
        if not torch.isfinite(loss):
            utils.die(f"training loss became {loss.item()} in epoch {epoch + 1}; the weights are unusable. Lower --lr "
                      f"(now {args.lr}) or drop an --augment kind, then rerun (--resume restarts from the last good "
                      f"epoch)")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        loss_sum += loss.item() * len(xb)
        correct += (logits.argmax(1).cpu() == yb).sum().item()
        seen += len(xb)
    train_time += time.time() - t0

    val_logits = predict(model, valid, valid_pitches)
    val = utils.evaluate(torch.softmax(val_logits, 1).numpy(), valid_y)
    val_mask = torch.as_tensor(valid_y >= 0)
    val_loss = F.cross_entropy(val_logits[val_mask], torch.as_tensor(valid_y)[val_mask]).item()
    history.append(dict(epoch=epoch + 1, train_loss=loss_sum / seen, train_acc=correct / seen, val_loss=val_loss,
                        val_top1=val["top1"], val_top3=val["top3"]))
    print(f"epoch {epoch + 1}: train loss {loss_sum / seen:.4f} acc {correct / seen:.4f} | val loss {val_loss:.4f} "
          f"top-1 {val['top1']:.4f} top-3 {val['top3']:.4f} | {time.time() - t0:.0f}s")
    if val["top1"] > best_top1:
        best_top1 = val["top1"]
        ckpt_path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(dict(state_dict=model.state_dict(), model_config=model_config, mel=mel_cfg,
                        log_input=not args.no_log, peak_norm=args.peak_norm, pitch_ref=pitch_ref,
                        class_names=utils.FAMILIES,
                        norm_mean=norm_mean, norm_std=norm_std, epoch=epoch + 1, val_top1=val["top1"], val_top3=val["top3"],
                        seed=args.seed, command=utils.command_line()), ckpt_path)
    resume_path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(dict(model=model.state_dict(), optimizer=optimizer.state_dict(), scheduler=scheduler.state_dict(),
                    rng=torch.get_rng_state(), history=history, best_top1=best_top1, epoch=epoch + 1,
                    time=train_time), resume_path)
    if args.stop_after_epoch and epoch + 1 == args.stop_after_epoch and epoch + 1 < args.epochs:
        print(f"stopping after epoch {epoch + 1} as asked; continue with --resume")
        raise SystemExit(0)

# ---- curves ----------------------------------------------------------------------------------------------------
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
ep = [h["epoch"] for h in history]
fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
regularised = ", ".join(filter(None, ["augmented" if kinds else "", "SpecAugment" if args.specaugment else "",
                                      "mixup" if args.mixup > 0 else ""]))
a1.plot(ep, [h["train_loss"] for h in history], label=f"train ({regularised})" if regularised else "train")
a1.plot(ep, [h["val_loss"] for h in history], label="validation")
model_label = f"Task 3 CNN, {'linear mel' if args.no_log else 'log-mel'} input"   # figure titles, not run names
a1.set(xlabel="epoch", ylabel="cross-entropy", title=f"{model_label}: loss")
a2.plot(ep, [h["train_acc"] for h in history], label=f"train top-1 ({regularised})" if regularised else "train top-1")
a2.plot(ep, [h["val_top1"] for h in history], label="validation top-1")
a2.plot(ep, [h["val_top3"] for h in history], label="validation top-3")
a2.set(xlabel="epoch", ylabel="accuracy", title=f"{model_label}: accuracy", ylim=(0, 1))
for a in (a1, a2):
    a.legend()
    a.grid(alpha=0.3)
fig.tight_layout()
results_dir.mkdir(parents=True, exist_ok=True)
fig.savefig(results_dir / f"{name}_curves.png", dpi=120)
plt.close(fig)

# ---- final evaluation with the selected checkpoint ----------------------------------------------------------------
model, ckpt = load_checkpoint(ckpt_path, device)
print(f"best epoch {ckpt['epoch']}: validation top-1 {ckpt['val_top1']:.4f} top-3 {ckpt['val_top3']:.4f}")
test = None
if args.test_dir:
    test_split = utils.cached_log_mel(*utils.list_nsynth(args.test_dir), args.cache_dir, mel_cfg, device, "test")
    test_pitches = utils.note_pitches(test_split["paths"], utils.UNALIGNED) if pitch_ref else None
    test = utils.evaluate(torch.softmax(predict(model, test_split, test_pitches), 1).numpy(), test_split["labels"])
    utils.print_metrics("test", test)
    if test["n"]:
        print(utils.format_confusion(test["confusion_matrix"]))
        utils.save_confusion_png(test["confusion_matrix"], results_dir / f"{name}_confusion.png",
                                 f"{model_label}, test split: top-1 {test['top1']:.3f}, top-3 {test['top3']:.3f}")
utils.write_json(results_dir / f"{name}.json", dict(
    name=name, task="task3", model=f"NoteCNN (short-chunk-style CNN, {args.n_blocks} conv blocks, width {args.width})",
    checkpoint=utils.shown_path(ckpt_path), checkpoint_sha256=utils.file_sha256(ckpt_path),
    command=utils.command_line(), seed=args.seed, class_names=utils.FAMILIES, log_input=not args.no_log,
    data=dict(train_dir=args.train_dir, valid_dir=args.valid_dir, test_dir=args.test_dir,
              provenance=utils.read_provenance(args.train_dir), n_train=len(train_y), n_valid=int(len(valid_y))),
    mel=mel_cfg, recipe=dict(init=dict(checkpoint=utils.shown_path(Path(args.init)),
                                       sha256=utils.file_sha256(args.init)) if args.init else None,
                             epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, augment=kinds,
                             augment_p=args.augment_p, peak_norm=args.peak_norm, pitch_channel=pitch_ref, rfn=args.rfn,
                             specaugment=args.specaugment, mixup=args.mixup, label_smoothing=args.label_smoothing),
    train_time_s=round(train_time, 1), best_epoch=ckpt["epoch"],
    val=dict(top1=ckpt["val_top1"], top3=ckpt["val_top3"], n=int((valid_y >= 0).sum())),
    test=test, history=history,
    figures=dict(curves=f"{name}_curves.png", confusion=f"{name}_confusion.png" if test and test["n"] else None)))
print(f"saved {utils.shown_path(ckpt_path)} and {utils.shown_path(results_dir / (name + '.json'))}")
