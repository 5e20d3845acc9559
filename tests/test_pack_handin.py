"""tools/pack_handin.py through its CLI: each zip holds exactly one checkpoint, under its own file name, and the bare
inference command of its homework runs where the zip is unpacked and uses that checkpoint."""
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT, run_script

torch = pytest.importorskip("torch")
sys.path.insert(0, str(ROOT / "tests"))
import hw1_fixtures as F  # noqa: E402

ENV = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", MPLBACKEND="Agg",
           OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))


def pack(*args, root=ROOT, check=True):
    return run_script(root / "tools" / "pack_handin.py", *args, check=check)


def checkpoints_in(zip_file):
    return [n for n in zipfile.ZipFile(zip_file).namelist() if n.startswith("checkpoints/")]


def run_unpacked(script, *args, cwd):
    """Run a script of an unpacked hand-in; returns (the process, the JSON files it wrote under the unpacked root)."""
    unpacked = next(p for p in [cwd, *cwd.parents] if (p / "checkpoints").is_dir())
    before = {p: p.stat().st_mtime_ns for p in unpacked.rglob("*.json")}
    proc = subprocess.run([sys.executable, script, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          env=ENV, timeout=600)
    written = [p for p in unpacked.rglob("*.json") if before.get(p) != p.stat().st_mtime_ns]
    return proc, [json.loads(p.read_text()) for p in written]


def top_level(hw):
    report = (ROOT / "reports" / f"hw{hw}_report.pdf").is_file()
    return {"README.txt", "requirements.txt", f"hw{hw}", "checkpoints"} | ({"reports"} if report else set())


@pytest.mark.parametrize("kind", ["cnn_log.pt", "cnn_nolog.pt", "ml.joblib", "mytrial.pt"])
def test_hw0_zip_runs_its_one_checkpoint_unpacked(kind, nsynth_root, tmp_path):
    """cnn_log.pt is the default; mytrial.pt is a copy of it kept outside checkpoints/."""
    if kind == "mytrial.pt":
        shutil.copy(ROOT / "checkpoints" / "hw0" / "cnn_log.pt", tmp_path / kind)
        chosen = ["--checkpoint", tmp_path / kind]
    else:
        chosen = [] if kind == "cnn_log.pt" else ["--checkpoint", f"checkpoints/hw0/{kind}"]
    out = tmp_path / "x.zip"
    packed = pack("--hw", "0", *chosen, "--out", out)
    assert checkpoints_in(out) == [f"checkpoints/hw0/{kind}"]
    names = zipfile.ZipFile(out).namelist()
    assert {n.split("/")[0] for n in names} == top_level(0)
    assert "hw0/inference.py" in names and "hw0/model.py" in names and "hw0/utils.py" in names
    assert not any("__pycache__" in n or n.startswith(("hw1", "results", "docs")) for n in names)
    assert zipfile.ZipFile(out).read("README.txt") == (ROOT / "hw0" / "README.txt").read_bytes()
    assert "python hw0/inference.py --test_dir" in packed.stdout and kind in packed.stdout

    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(out).extractall(unpacked)
    test_dir = nsynth_root / "nsynth-test"
    for cwd, script in ((unpacked, "hw0/inference.py"), (unpacked / "hw0", "inference.py")):
        proc, written = run_unpacked(script, "--test_dir", test_dir, cwd=cwd)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "top-1:" in proc.stdout
        named = [j["checkpoint"] for j in written if "checkpoint" in j]
        assert named and all(c.replace("\\", "/").endswith(f"checkpoints/hw0/{kind}") for c in named), named
    if kind == "cnn_log.pt":        # and with no arguments at all: the embedded demo notes
        proc, written = run_unpacked("hw0/inference.py", cwd=unpacked)
        assert proc.returncode == 0 and "top-1:" in proc.stdout, proc.stderr[-3000:]


def test_bad_checkpoint_is_one_line_error(tmp_path):
    for missing_or_wrong in (tmp_path / "none.pt", ROOT / "hw0" / "requirements.txt"):
        proc = pack("--hw", "0", "--checkpoint", missing_or_wrong, "--out", tmp_path / "x.zip", check=False)
        assert proc.returncode != 0 and proc.stderr.strip().startswith("error:") and "\n" not in proc.stderr.strip()
        assert missing_or_wrong.name in proc.stderr and not (tmp_path / "x.zip").exists()


# ---- HW1 -------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hw1_trained(tmp_path_factory):
    """A tiny frozen-probe checkpoint trained through hw1/finetune_mert.py on the tiny course-format set."""
    pytest.importorskip("transformers")
    encoder = F.make_tiny_encoder(tmp_path_factory)
    tmp = tmp_path_factory.mktemp("hw1_pack")
    root = F.make_slakh_set(tmp / "slakh", seed=1)
    checkpoint = tmp / "mine.pt"
    F.run("finetune_mert.py", "--data_root", root, "--encoder", encoder, "--cache_dir", tmp / "cache",
          "--epochs", "2", "--checkpoint", checkpoint, "--results_dir", tmp / "train_results")
    return {"root": root, "checkpoint": checkpoint}


def test_hw1_zip_runs_its_one_checkpoint_unpacked(hw1_trained, tmp_path):
    out = tmp_path / "hw1.zip"
    packed = pack("--hw", "1", "--checkpoint", hw1_trained["checkpoint"], "--out", out)
    assert checkpoints_in(out) == ["checkpoints/hw1/mine.pt"]
    names = zipfile.ZipFile(out).namelist()
    assert {n.split("/")[0] for n in names} == top_level(1) and "hw1/inference.py" in names
    assert "python hw1/inference.py --test_dir" in packed.stdout
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(out).extractall(unpacked)
    root = hw1_trained["root"]
    proc, written = run_unpacked("hw1/inference.py", "--test_dir", root / "test", "--labels",
                                 root / "test_labels.json", cwd=unpacked)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in F.CLASS_NAMES + ["micro avg", "macro avg", "samples avg"]:
        assert name in proc.stdout, name
    named = [j["checkpoint"] for j in written if "checkpoint" in j]
    assert named and all(c.replace("\\", "/").endswith("checkpoints/hw1/mine.pt") for c in named), named


def copy_of_repo(tmp_path, hw1_checkpoints):
    """tools/pack_handin.py and hw1/ in a folder of their own, with the given checkpoints in checkpoints/hw1/."""
    repo = tmp_path / "repo"
    (repo / "tools").mkdir(parents=True)
    shutil.copy(ROOT / "tools" / "pack_handin.py", repo / "tools")
    shutil.copytree(ROOT / "hw1", repo / "hw1", ignore=shutil.ignore_patterns("__pycache__"))
    (repo / "checkpoints" / "hw1").mkdir(parents=True)
    for name, checkpoint in hw1_checkpoints.items():
        torch.save(checkpoint, repo / "checkpoints" / "hw1" / name)
    return repo


@pytest.mark.parametrize("best", ["finetune.pt", "frozen.pt"])
def test_hw1_several_checkpoints_pack_the_best_validation_macro_f1(hw1_trained, best, tmp_path):
    trained = torch.load(hw1_trained["checkpoint"], weights_only=True, map_location="cpu")
    scores = {"finetune.pt": 0.41, "frozen.pt": 0.41}
    scores[best] = 0.57
    repo = copy_of_repo(tmp_path, {name: dict(trained, val_macro_f1=f1) for name, f1 in scores.items()})
    proc = pack("--hw", "1", "--out", tmp_path / "x.zip", root=repo)
    assert checkpoints_in(tmp_path / "x.zip") == [f"checkpoints/hw1/{best}"]
    assert zipfile.ZipFile(tmp_path / "x.zip").read(f"checkpoints/hw1/{best}") == \
        (repo / "checkpoints" / "hw1" / best).read_bytes()
    said = next(line for line in proc.stdout.splitlines() if "holds 2 checkpoints" in line)
    assert f"packing {best}" in said and "0.5700" in said and "0.4100" in said and "--checkpoint FILE" in said


def test_hw1_checkpoint_without_a_score_is_one_line_error(hw1_trained, tmp_path):
    trained = torch.load(hw1_trained["checkpoint"], weights_only=True, map_location="cpu")
    unscored = {k: v for k, v in trained.items() if k != "val_macro_f1"}
    repo = copy_of_repo(tmp_path, {"frozen.pt": trained, "odd.pt": unscored})
    proc = pack("--hw", "1", "--out", tmp_path / "x.zip", root=repo, check=False)
    assert proc.returncode != 0 and proc.stderr.strip().startswith("error:") and "\n" not in proc.stderr.strip()
    assert "odd.pt" in proc.stderr and "val_macro_f1" in proc.stderr and "--checkpoint FILE" in proc.stderr
    assert not (tmp_path / "x.zip").exists() and "Traceback" not in proc.stderr
