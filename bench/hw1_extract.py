"""Time HW1 feature extraction (all hidden states, pooled over time) with a full-size MERT-v1-95M-shaped encoder.

Random weights with MERT-v1-95M's configuration (12 layers, width 768, 12 heads, FFN 3072, 7 conv layers of 512
channels, strides 5,2,2,2,2,2,2 -> 75 Hz at 24 kHz): the cost is the same as the real model's. Runs on CPU, and on
CUDA when available (bf16 autocast, as the training script). Prints clips/s; asserts nothing about time.

  python bench/hw1_extract.py                      # 4 clips of 5 s
  python bench/hw1_extract.py --n_clips 64 --batch_size 16 --devices cuda
  python bench/hw1_extract.py --encoder models/MERT-v1-95M   # time a real local copy instead
"""
import argparse
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
args = parser.parse_args()

import numpy as np
import torch
from transformers import HubertConfig, HubertModel, Wav2Vec2FeatureExtractor

if args.threads:
    torch.set_num_threads(args.threads)
devices = (["cpu"] + (["cuda"] if torch.cuda.is_available() else [])) if args.devices == "auto" else args.devices.split(",")

if args.encoder:
    model, fe, rev = U.load_encoder(args.encoder, None, "cpu")
    what = f"{args.encoder} ({rev})"
else:
    cfg = HubertConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                       conv_dim=(512,) * 7, conv_stride=(5, 2, 2, 2, 2, 2, 2), conv_kernel=(10, 3, 3, 3, 3, 2, 2),
                       conv_bias=False, feat_extract_norm="group", num_conv_pos_embeddings=128,
                       num_conv_pos_embedding_groups=16)
    torch.manual_seed(0)
    model = HubertModel(cfg)
    fe = Wav2Vec2FeatureExtractor(sampling_rate=U.SR, feature_size=1, do_normalize=True, return_attention_mask=False)
    what = "MERT-v1-95M-shaped HubertConfig, random weights"
n_params = sum(p.numel() for p in model.parameters())
rng = np.random.default_rng(0)
clips = [(0.1 * rng.standard_normal(U.CLIP_SAMPLES)).astype(np.float32) for _ in range(args.n_clips)]
print(f"encoder: {what}, {n_params / 1e6:.1f}M params; {args.n_clips} clips of {U.CLIP_SECONDS:.0f} s at {U.SR} Hz, "
      f"batch {args.batch_size}, pooling {args.pooling}, torch threads {torch.get_num_threads()}")

for dev in devices:
    if dev == "cuda" and not torch.cuda.is_available():
        print("cuda: not available, skipped")
        continue
    model.to(dev)
    U.extract_pooled(model, fe, clips[:args.batch_size], args.pooling, args.batch_size, dev, desc="warm-up")
    if dev == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    z = U.extract_pooled(model, fe, clips, args.pooling, args.batch_size, dev, desc=dev)
    if dev == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    name = torch.cuda.get_device_name() if dev == "cuda" else "cpu"
    print(f"{dev} ({name}{', bf16 autocast' if dev == 'cuda' else ', fp32'}): {args.n_clips / dt:.2f} clips/s "
          f"({dt / args.n_clips * 1000:.0f} ms/clip, features {tuple(z.shape)} float16); "
          f"~{15000 / (args.n_clips / dt) / 60:.1f} min for 15k clips")
