"""Where a CPU training step's time goes: gathering a batch from the float16 log-mel cache on disk (the streamed path,
utils.read_rows + utils.model_input) vs indexing a float32 array held in memory (the old load-everything path), beside
the model's forward + backward + AdamW step. The three are timed batch by batch, interleaved, so machine load hits all
of them alike (a whole-epoch A/B on a shared 2-core VM varies by more than 2x between runs).

    python bench/hw0_epoch_parts.py --cache <cache dir>/hw0_logmel_<key>/rows.npy --batches 30 \
        --out docs/results/bench.json
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "hw0"))
import utils  # noqa: E402
from model import NoteCNN  # noqa: E402

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--cache", required=True, help="rows.npy of a log-mel cache written by train_cnn.py")
p.add_argument("--batches", type=int, default=30)
p.add_argument("--batch_size", type=int, default=64)
p.add_argument("--out", default=None, help="merge the figures into this JSON under 'hw0_epoch_parts'")
args = p.parse_args()

rows = np.load(args.cache, mmap_mode="r")
n, n_mels, _ = rows.shape
in_memory = torch.from_numpy(np.array(rows)).float()        # the old path: the whole split as float32 in memory
mean, std = in_memory.mean(dim=(0, 2)), in_memory.std(dim=(0, 2))
torch.manual_seed(0)
model = NoteCNN(n_mels=n_mels, n_classes=len(utils.FAMILIES), width=24, n_blocks=5, dropout=0.3)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
times = {"gather_streamed": [], "gather_in_memory": [], "model_step": []}
batches = torch.randperm(n).split(args.batch_size)
for k in range(args.batches + 2):                           # the first two batches warm up allocator and threads
    idx = batches[k % len(batches)]
    t0 = time.perf_counter()
    x_stream = utils.model_input(torch.from_numpy(utils.read_rows(args.cache, np.sort(idx.numpy()))), True, mean, std)
    t1 = time.perf_counter()
    x_mem = (in_memory[idx] - mean[:, None]) / std[:, None]
    t2 = time.perf_counter()
    loss = F.cross_entropy(model(x_mem), torch.zeros(len(idx), dtype=torch.long))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    t3 = time.perf_counter()
    if k >= 2:
        for key, dt in zip(times, (t1 - t0, t2 - t1, t3 - t2)):
            times[key].append(dt * 1000)
res = {"command": "python " + " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:]),
       "machine": f"{os.cpu_count()} cores, torch {torch.__version__}, threads {torch.get_num_threads()}",
       "load_avg": [round(v, 2) for v in os.getloadavg()], "notes_in_cache": n, "batch_size": args.batch_size,
       "batches": args.batches,
       "ms_per_batch_median": {k: round(float(np.median(v)), 2) for k, v in times.items()}}
step = res["ms_per_batch_median"]
print(f"{n} notes cached, {args.batches} batches of {args.batch_size}, median ms per batch:")
print(f"  gather from the float16 cache on disk (streamed)  {step['gather_streamed']:8.2f}")
print(f"  index a float32 array in memory (old path)        {step['gather_in_memory']:8.2f}")
print(f"  model forward + backward + AdamW step             {step['model_step']:8.2f}")
print(f"  -> the streamed data step is {100 * step['gather_streamed'] / step['model_step']:.1f} % of a training step")
if args.out:
    utils.merge_json(args.out, "hw0_epoch_parts", res)
