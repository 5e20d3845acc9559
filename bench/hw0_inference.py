"""hw0/inference.py on a 4096-note NSynth-format folder: process start to printed accuracy, and where the time goes.

    python bench/hw0_inference.py --data_dir DATA/nsynth-test [--n 4096]

1. end to end: runs `python hw0/inference.py --test_dir <folder>` as a fresh process and times it (goal: <= 60 s on
   2 CPU cores with the default CNN);
2. stages in-process: decode (soundfile, threads), front end (torch.stft + mel), model (inference_mode), clips/s each;
3. the model's FLOPs per clip (torch's FLOP counter) x measured clips/s, against the machine's measured matmul
   GFLOP/s (a large float32 GEMM), i.e. how close the CNN runs to what this CPU can do.
If --data_dir holds fewer than --n notes, the folder is filled by repeating notes under new names (symlinks).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "hw0"))
import utils  # noqa: E402
from model import load_checkpoint  # noqa: E402

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--data_dir", required=True, help="NSynth-format split folder to draw notes from")
p.add_argument("--n", type=int, default=4096)
p.add_argument("--checkpoint", default=str(REPO / "checkpoints" / "hw0" / "cnn_log.pt"))
p.add_argument("--out", default=None, help="merge the figures into this JSON (e.g. docs/results/bench.json)")
args = p.parse_args()

paths, labels = utils.list_nsynth(args.data_dir)
work = Path(tempfile.mkdtemp(prefix="hw0_bench_"))
(work / "audio").mkdir()
for i in range(args.n):                        # the file name carries the label, so no examples.json is needed
    src = paths[i % len(paths)]
    inst, pitch, vel = src.stem.rsplit("-", 2)
    stem = src.stem if i < len(paths) else f"{inst.rsplit('_', 1)[0]}_{i:06d}-{pitch}-{vel}"   # a unique copy
    dst = work / "audio" / f"{stem}.wav"
    if not dst.exists():
        os.symlink(src.resolve(), dst)
n = len(list((work / "audio").iterdir()))

t = time.perf_counter()
proc = subprocess.run([sys.executable, str(REPO / "hw0" / "inference.py"), "--test_dir", str(work), "--checkpoint",
                       args.checkpoint, "--out_dir", str(work / "out")], capture_output=True, text=True, cwd=REPO)
end_to_end = time.perf_counter() - t
if proc.returncode:
    sys.exit(f"error: inference failed:\n{proc.stderr[-2000:]}")
top1 = [line for line in proc.stdout.splitlines() if line.startswith("top-1")]

torch.set_num_threads(os.cpu_count() or 1)
wav_paths, wav_labels = utils.list_nsynth(work)
t = time.perf_counter()
audio, _, _ = utils.load_audio(wav_paths, wav_labels)
decode_s = time.perf_counter() - t
model, ckpt = load_checkpoint(args.checkpoint)
t = time.perf_counter()
logmel = utils.log_mel(audio, ckpt["mel"])
front_s = time.perf_counter() - t
x = utils.checkpoint_input(logmel, ckpt, utils.note_pitches(wav_paths, utils.UNALIGNED) if ckpt["pitch_ref"] else None)
with torch.inference_mode():
    model(x[:256])                                                   # warm-up
    t = time.perf_counter()
    for i in range(0, len(x), 256):
        model(x[i:i + 256])
    model_s = time.perf_counter() - t
    with FlopCounterMode(display=False) as fc:
        model(x[:1])
    flops_per_clip = fc.get_total_flops()
    a = torch.randn(2048, 2048)
    torch.mm(a, a)
    t = time.perf_counter()
    for _ in range(10):
        torch.mm(a, a)
    gemm_gflops = 10 * 2 * 2048 ** 3 / (time.perf_counter() - t) / 1e9

model_gflops = flops_per_clip * n / model_s / 1e9
print(f"machine: {os.cpu_count()} CPU cores, torch {torch.__version__}, {torch.get_num_threads()} threads")
print(f"end to end: {n} notes in {end_to_end:.1f} s ({n / end_to_end:.0f} clips/s), process start to printed "
      f"accuracy; {top1[0] if top1 else ''}")
print(f"stages: decode {n / decode_s:.0f} clips/s | front end {n / front_s:.0f} clips/s | model {n / model_s:.0f} "
      f"clips/s")
print(f"model: {flops_per_clip / 1e6:.1f} MFLOP per clip -> {model_gflops:.1f} GFLOP/s achieved vs "
      f"{gemm_gflops:.1f} GFLOP/s float32 GEMM on this CPU ({100 * model_gflops / gemm_gflops:.0f} %)")
if args.out:
    utils.merge_json(args.out, "hw0_inference", dict(
        cores=os.cpu_count(), n=n, end_to_end_s=round(end_to_end, 2), decode_clips_per_s=round(n / decode_s),
        front_end_clips_per_s=round(n / front_s), model_clips_per_s=round(n / model_s),
        mflop_per_clip=round(flops_per_clip / 1e6, 1), model_gflops=round(model_gflops, 1),
        gemm_gflops=round(gemm_gflops, 1), command=utils.command_line()))
