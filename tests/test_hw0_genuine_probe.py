"""bench/hw0_genuine_probe.py: single checkpoints, TTA, level changes and their ensemble on a folder of notes (a
fixture split standing in for shared/realdata), through the CLI with two really trained checkpoints."""
import json

import numpy as np
import torch

from conftest import run_script
from hw0 import utils


def test_probe_scores_each_checkpoint_their_ensemble_and_level_changes(nsynth_root, tmp_path):
    for seed in (0, 1):
        run_script("hw0/train_cnn.py", "--train_dir", nsynth_root / "nsynth-train", "--valid_dir",
                   nsynth_root / "nsynth-valid", "--width", "8", "--n_blocks", "3", "--batch_size", "16", "--epochs",
                   "2", "--seed", str(seed), "--name", f"s{seed}", "--cache_dir", tmp_path / "cache",
                   "--checkpoint_dir", tmp_path / "ck", "--results_dir", tmp_path / "res")
    real = nsynth_root / "nsynth-test"
    out = tmp_path / "probe.json"
    proc = run_script("bench/hw0_genuine_probe.py", "--checkpoints", tmp_path / "ck" / "s0.pt", tmp_path / "ck" / "s1.pt",
                      "--real", real, "--gains_db=-12,6", "--out", out)
    res = json.loads(out.read_text())
    n = len(utils.list_nsynth(real)[0])
    assert set(res["checkpoints"]) == {"s0", "s1"} and res["ensemble"]["n"] == n
    row = res["checkpoints"]["s0"]
    assert set(row["gain"]) == {"-12 dB", "+6 dB"} and row["alone"]["n"] == row["tta"]["n"] == n
    # 'alone' is exactly what inference.py reports for that checkpoint on the same folder
    run_script("hw0/inference.py", "--test_dir", real, "--checkpoint", tmp_path / "ck" / "s0.pt", "--out_dir", tmp_path / "inf")
    inf = json.loads((tmp_path / "inf" / "inference_s0.json").read_text())
    assert (inf["top1"], inf["top3"]) == (row["alone"]["top1"], row["alone"]["top3"])
    # the ensemble is the mean of the two models' softmax outputs: recompute it from the checkpoints
    from hw0.model import load_checkpoint
    paths, labels = utils.list_nsynth(real)
    audio = np.stack([utils.read_audio(p)[0] for p in paths])
    probs = []
    for k in (0, 1):
        model, ck = load_checkpoint(tmp_path / "ck" / f"s{k}.pt")
        with torch.inference_mode():
            x = utils.model_input(utils.log_mel(audio, ck["mel"]), ck["log_input"], ck["norm_mean"], ck["norm_std"])
            probs.append(torch.softmax(model(x), 1).numpy())
    assert res["ensemble"]["top1"] == utils.evaluate(np.mean(probs, axis=0), labels)["top1"]
    assert res["alone_spread_top1"][0] <= res["alone_mean_top1"] <= res["alone_spread_top1"][1]
    assert "ensemble of all" in proc.stdout and out.with_suffix(".png").stat().st_size > 10_000
