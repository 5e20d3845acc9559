"""Time HW1 with full-size MERT-v1-95M / -330M-shaped encoders (random weights): extraction, fine-tuning, memory, cache.

Random weights with MERT-v1's shapes cost what the real models cost (same layers, same sizes):
  95M:  12 post-LN layers, width 768, 12 heads, FFN 3072, 7 conv layers of 512 channels (group norm)
  330M: 24 pre-LN layers (do_stable_layer_norm), width 1024, 16 heads, FFN 4096, 7 conv layers of 512 (group norm)
  (both as their hub config.json: feat_extract_norm "group", i.e. group norm on the first conv layer only)
conv strides 5,2,2,2,2,2,2 -> 75 Hz at 24 kHz (374 frames per 5 s clip). Asserts nothing about time.

  python bench/hw1_extract.py                      # 95M extraction, 4 clips of 5 s, CPU (+ CUDA when present)
  python bench/hw1_extract.py --n_clips 64 --batch_size 16 --devices cuda
  python bench/hw1_extract.py --encoder models/MERT-v1-95M   # time a real local copy instead
  python bench/hw1_extract.py --full_size --out docs/results/bench.json   # both sizes: extraction, fine-tune step,
                                                                      # memory, cache size, projected README steps
--full_size measures a handful of clips / one or two steps per configuration (CPU minutes) and projects the course
data's totals from them; every figure in its JSON says whether it is measured, computed or projected.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hw1"))
import utils as U  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--n_clips", type=int, default=4)
parser.add_argument("--batch_size", type=int, default=2)
parser.add_argument("--devices", default="auto", help="comma list (cpu,cuda) or auto = cpu + cuda if available")
parser.add_argument("--pooling", default="mean", choices=["mean", "meanstd"])
parser.add_argument("--encoder", default=None, help="time a real encoder (hub id or folder) instead of random weights")
parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
parser.add_argument("--full_size", action="store_true", help="95M and 330M: extraction, fine-tune steps, memory, cache")
parser.add_argument("--sizes", default="95m,330m", help="--full_size: which shapes")
parser.add_argument("--step_batch", type=int, default=None,
                    help="--full_size: fine-tune batch actually run (default: 8 = the training default on CUDA, 2 on "
                         "CPU, projected to 8 per clip)")
parser.add_argument("--flops_only", action="store_true",
                    help="--full_size: only count FLOPs per clip and project GPU times from them (keeps the measured "
                         "figures already in --out)")
parser.add_argument("--out", default=None, help="--full_size: merge the figures into this JSON under 'hw1_full_size'")
args = parser.parse_args()

import numpy as np
import torch
from transformers import HubertConfig, HubertModel, Wav2Vec2FeatureExtractor

if args.threads:
    torch.set_num_threads(args.threads)
devices = (["cpu"] + (["cuda"] if torch.cuda.is_available() else [])) if args.devices == "auto" else args.devices.split(",")
COURSE_CLIPS = {"train": 14994, "validation": 3747, "test": 2247}
TRAIN_BATCH = 8                 # finetune_mert.py's --finetune default
EPOCHS = {"frozen": 40, "finetune": 5}


def mert_config(size):
    # layerdrop 0: every layer runs in every training step (HubertConfig's default 0.1 skips layers at random and
    # makes one timed step a lottery); the real run can only be faster than this
    common = dict(conv_dim=(512,) * 7, conv_stride=(5, 2, 2, 2, 2, 2, 2), conv_kernel=(10, 3, 3, 3, 3, 2, 2),
                  conv_bias=False, num_conv_pos_embeddings=128, num_conv_pos_embedding_groups=16, layerdrop=0.0)
    if size == "95m":
        return HubertConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                            feat_extract_norm="group", do_stable_layer_norm=False, **common)
    return HubertConfig(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                        feat_extract_norm="group", do_stable_layer_norm=True, **common)


def random_encoder(size):
    torch.manual_seed(0)
    fe = Wav2Vec2FeatureExtractor(sampling_rate=U.SR, feature_size=1, do_normalize=True, return_attention_mask=False)
    return HubertModel(mert_config(size)), fe


rng = np.random.default_rng(0)
clips = [(0.1 * rng.standard_normal(U.CLIP_SAMPLES)).astype(np.float32) for _ in range(max(args.n_clips, 8))]


def sync(dev):
    if dev == "cuda":
        torch.cuda.synchronize()


def time_extraction(model, fe, dev, n, bs):
    model.to(dev)
    U.extract_pooled(model, fe, clips[:bs], args.pooling, bs, dev, desc="warm-up")
    sync(dev)
    t0 = time.perf_counter()
    z = U.extract_pooled(model, fe, clips[:n], args.pooling, bs, dev, desc=dev)
    sync(dev)
    return n / (time.perf_counter() - t0), z


def finetune_step(model, fe, head, opt, dev, bs, count_saved=False):
    """One training step as finetune_mert.py runs it; returns (seconds, bytes of activations saved for backward:
    distinct storages, the weights themselves not counted)."""
    weights = {p.untyped_storage().data_ptr() for p in list(model.parameters()) + list(head.parameters())}
    storages = {}

    def pack(t):
        st = t.untyped_storage()
        if st.data_ptr() not in weights:
            storages[st.data_ptr()] = st.nbytes()
        return t
    model.train()
    waves = clips[:bs]
    y = torch.zeros(bs, 9, device=dev)
    sync(dev)
    t0 = time.perf_counter()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t) if count_saved else torch.enable_grad():
        with U.autocast(dev):
            z = U.pooled_states(model, U.prepare(fe, waves, dev), args.pooling)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(U.head_logits(head, z), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    sync(dev)
    return time.perf_counter() - t0, sum(storages.values())


# Peak dense tensor throughput in TFLOPS (vendor datasheets, no sparsity) at the precision the scripts pick there
# (hw1/utils.amp_dtype: bf16 from compute capability 8.0, fp16 below). Utilisation is an assumption, not a measurement.
GPUS = {"T4 (16 GB, fp16)": 65, "L4 (24 GB, bf16)": 121, "A100 (40/80 GB, bf16)": 312, "H100 SXM (80 GB, bf16)": 989}
ASSUMED_UTILISATION = 0.3


def count_flops(model, fe, k_layers=None):
    """FLOPs of one clip counted by torch's FlopCounterMode (matmuls and convolutions, the whole cost of a
    transformer): the frozen forward when k_layers is None, else one training step (forward + backward) with the top
    k layers trainable (0 = all).

    FlopCounterMode counts a grouped convolution's weight gradient as if it were not grouped (its formula ignores
    `groups`): the positional conv (16 groups, trainable when all layers are) would count 16x its weight-gradient
    cost. That gradient costs what the forward conv costs, so the excess, (groups - 1) x the forward count, is taken
    off (95M all layers: ~308 -> ~254 GFLOP per clip; 330M: ~870 -> ~776)."""
    from torch.utils.flop_counter import FlopCounterMode
    from model import ProbeHead
    model.to("cpu")
    x = U.prepare(fe, clips[:1], "cpu")
    with FlopCounterMode(display=False) as counter:
        if k_layers is None:
            model.eval()
            with torch.no_grad():
                U.pooled_states(model, x)
        else:
            U.freeze_for_finetune(model, k_layers)
            head = ProbeHead(model.config.num_hidden_layers + 1, model.config.hidden_size, layer_norm=True)
            model.train()
            z = U.pooled_states(model, x)
            U.head_logits(head, z).sum().backward()
    model.zero_grad(set_to_none=True)
    total = counter.get_total_flops()
    pos_conv = model.encoder.pos_conv_embed.conv
    if k_layers is not None and any(p.requires_grad for p in pos_conv.parameters()):
        counts = counter.get_flop_counts()
        key = next(k for k in counts if k.endswith("pos_conv_embed.conv"))
        total -= (pos_conv.groups - 1) * counts[key][torch.ops.aten.convolution]
    return total


def gpu_projection(flops):
    """Course-data wall times on typical GPUs from counted FLOPs at ASSUMED_UTILISATION of peak (projected)."""
    total = sum(COURSE_CLIPS.values())
    out = {}
    for gpu, tflops in GPUS.items():
        rate = tflops * 1e12 * ASSUMED_UTILISATION
        epoch_s = lambda step: (COURSE_CLIPS["train"] * step + COURSE_CLIPS["validation"] * flops["extract"]) / rate
        out[gpu] = {"frozen_extract_all_splits_min": round(total * flops["extract"] / rate / 60, 1),
                    "inference_test_split_min": round(COURSE_CLIPS["test"] * flops["extract"] / rate / 60, 1),
                    "finetune_5_epochs_h_top_4_layers": round(EPOCHS["finetune"] * epoch_s(flops["step_top_4"]) / 3600, 2),
                    "finetune_5_epochs_h_all_layers": round(EPOCHS["finetune"] * epoch_s(flops["step_all"]) / 3600, 2)}
    return out


def flops_figures(size):
    model, fe = random_encoder(size)
    flops = {"extract": count_flops(model, fe), "step_top_4": count_flops(model, fe, 4),
             "step_all": count_flops(model, fe, 0)}
    return {"gflops_per_clip_counted": {k: round(v / 1e9, 1) for k, v in flops.items()},
            "gpu_projected": gpu_projection(flops)}


def full_size():
    from model import ProbeHead
    command = "python " + " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:])
    out = {"command": command, "commands": {s: command for s in args.sizes.split(",")},
           "machine": {"cpu_cores": os.cpu_count(), "torch": torch.__version__, "threads": torch.get_num_threads(),
                       "load_avg_at_start": [round(v, 2) for v in os.getloadavg()],
                       "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None},
           "note": ("measured = timed here on the clips / steps named; computed = exact arithmetic; projected = "
                    "measured rate x the course's clip counts (train 14,994 / validation 3,747 / test 2,247). "
                    "Random weights of MERT-v1's shapes: cost equals the real model's, outputs do not."),
           "sizes": {}}
    for size in args.sizes.split(","):
        model, fe = random_encoder(size)
        cfg = model.config
        n_states, hidden = cfg.num_hidden_layers + 1, cfg.hidden_size
        r = {"hub_id": U.hub_id_for(hidden, cfg.num_hidden_layers), "params_M": round(model.num_parameters() / 1e6, 1),
             "hidden_states": n_states, "width": hidden, "load_avg_at_start": round(os.getloadavg()[0], 2),
             "devices": {}}
        # feature cache on disk (frozen probe): float16 [N, n_states, D] per split, D doubled by meanstd pooling
        per_clip = n_states * hidden * 2
        r["cache_MB_computed"] = {p: {s: round((n * per_clip * (2 if p == "meanstd" else 1) + 128) / 1e6, 1)
                                      for s, n in COURSE_CLIPS.items()} for p in ("mean", "meanstd")}
        r["encoder_state_MB_fp16_computed"] = round(model.num_parameters() * 2 / 1e6, 1)
        r.update(flops_figures(size))
        for dev in devices:
            if dev == "cuda" and not torch.cuda.is_available():
                continue
            d = {"precision": U.precision_name(dev)}
            n = args.n_clips
            cps, z = time_extraction(model, fe, dev, n, args.batch_size)
            d["extract_clips_per_s_measured"] = {"value": round(cps, 3), "clips": n, "batch": args.batch_size}
            total = sum(COURSE_CLIPS.values())
            d["frozen_extract_all_splits_min_projected"] = round(total / cps / 60, 1)
            bs = args.step_batch or (TRAIN_BATCH if dev == "cuda" else 2)
            d["finetune"] = {}
            for k in (4, 0):                                # top-4 layers, and all layers
                head = ProbeHead(n_states, hidden, layer_norm=True).to(dev)
                U.freeze_for_finetune(model, k)
                opt = torch.optim.AdamW(U.param_groups(head.named_parameters(), 1e-3, 0.01) +
                                        U.param_groups(model.named_parameters(), 1e-5, 0.01))
                if dev == "cuda":
                    torch.cuda.reset_peak_memory_stats()
                finetune_step(model, fe, head, opt, dev, bs)                       # warm-up (allocates Adam state)
                s, saved = finetune_step(model, fe, head, opt, dev, bs, count_saved=True)
                trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
                # weights fp32 + grads + Adam's two moments for the trainable part; activations saved for backward
                static = (model.num_parameters() + 3 * trainable) * 4
                e = {"trainable_M": round(trainable / 1e6, 1),
                     "step_s_measured": {"value": round(s, 2), "batch": bs},
                     "step_s_at_batch8_projected": round(s * TRAIN_BATCH / bs, 2) if bs != TRAIN_BATCH else round(s, 2),
                     "saved_activations_MB_per_clip_measured": round(saved / bs / 1e6, 1),
                     "memory_GB_at_batch8_computed": round((static + saved / bs * TRAIN_BATCH) / 1e9, 2)}
                if dev == "cuda":
                    e["peak_memory_GB_measured"] = {"value": round(torch.cuda.max_memory_allocated() / 1e9, 2),
                                                    "batch": bs}
                steps = EPOCHS["finetune"] * -(-COURSE_CLIPS["train"] // TRAIN_BATCH)
                e["finetune_5_epochs_h_projected"] = round(
                    (steps * e["step_s_at_batch8_projected"] + EPOCHS["finetune"] * COURSE_CLIPS["validation"] / cps)
                    / 3600, 1)
                d["finetune"]["all_layers" if k == 0 else f"top_{k}_layers"] = e
                del opt, head
            d["inference_test_split_min_projected"] = round(COURSE_CLIPS["test"] / cps / 60, 1)
            r["devices"][dev] = d
            model.to("cpu")
            print(f"{size} {dev}: {json.dumps(d)}", flush=True)
        import resource
        r["process_peak_rss_GB_measured"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2)
        out["sizes"][size] = r
    return out


if args.full_size and args.flops_only:
    path = Path(args.out or "docs/results/bench.json")
    data = json.loads(path.read_text()) if path.is_file() else {}
    block = data.setdefault("hw1_full_size", {})
    block["gpu_note"] = (f"gpu_projected = counted FLOPs per clip (torch FlopCounterMode) x the course's clip counts / "
                         f"({ASSUMED_UTILISATION:.0%} of each GPU's peak dense tensor TFLOPS: "
                         + ", ".join(f"{g} {t}" for g, t in GPUS.items()) + "). Projected, not measured: no GPU was "
                         "lent to this measurement; data loading and the probe head are not counted.")
    block.setdefault("commands", {})["flops"] = "python " + " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:])
    for size in args.sizes.split(","):
        fig = flops_figures(size)
        print(size, json.dumps(fig, indent=1), flush=True)
        block.setdefault("sizes", {}).setdefault(size, {}).update(fig)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, path)
    print(f"wrote the FLOP counts and GPU projections into {path} 'hw1_full_size'")
    sys.exit(0)

if args.full_size:
    res = full_size()
    print(json.dumps(res, indent=1))
    if args.out:   # read-modify-write: the other benchmarks' keys in the same file survive
        path = Path(args.out)
        data = json.loads(path.read_text()) if path.is_file() else {}
        old = data.get("hw1_full_size", {})
        if old.get("sizes"):   # a run of one size (--sizes 330m) keeps the other size's figures and its command
            res["sizes"] = dict(old["sizes"], **res["sizes"])
            res["commands"] = dict(old.get("commands", {}), **{s: res["command"] for s in args.sizes.split(",")})
        data["hw1_full_size"] = res
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=1) + "\n")
        os.replace(tmp, path)
        print(f"wrote 'hw1_full_size' into {path}")
    sys.exit(0)

if args.encoder:
    model, fe, rev = U.load_encoder(args.encoder, None, "cpu")
    what = f"{args.encoder} ({rev})"
else:
    model, fe = random_encoder("95m")
    what = "MERT-v1-95M-shaped HubertConfig, random weights"
n_params = sum(p.numel() for p in model.parameters())
print(f"encoder: {what}, {n_params / 1e6:.1f}M params; {args.n_clips} clips of {U.CLIP_SECONDS:.0f} s at {U.SR} Hz, "
      f"batch {args.batch_size}, pooling {args.pooling}, torch threads {torch.get_num_threads()}")

for dev in devices:
    if dev == "cuda" and not torch.cuda.is_available():
        print("cuda: not available, skipped")
        continue
    cps, z = time_extraction(model, fe, dev, args.n_clips, args.batch_size)
    name = torch.cuda.get_device_name() if dev == "cuda" else "cpu"
    print(f"{dev} ({name}, {U.precision_name(dev)}): {cps:.2f} clips/s ({1000 / cps:.0f} ms/clip, features "
          f"{tuple(z.shape)} float16); ~{15000 / cps / 60:.1f} min for 15k clips")
