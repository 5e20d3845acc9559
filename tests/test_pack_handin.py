"""tools/pack_handin.py: the zip a student hands in holds exactly the course's pieces and runs where it is unpacked."""
import subprocess
import sys
import zipfile

from conftest import ROOT, run_script


def test_hw0_handin_runs_unpacked(tmp_path):
    out = tmp_path / "hw0.zip"
    run_script("tools/pack_handin.py", "--hw", "0", "--out", out)
    names = zipfile.ZipFile(out).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"README.txt", "requirements.txt", "hw0", "checkpoints", "reports"}
    assert [n for n in names if n.startswith("checkpoints/")] == ["checkpoints/hw0/cnn_log.pt"]   # one checkpoint
    assert "hw0/inference.py" in names and not any("__pycache__" in n or n.startswith("hw1") for n in names)
    assert zipfile.ZipFile(out).read("README.txt") == (ROOT / "hw0" / "README.txt").read_bytes()
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(out).extractall(unpacked)
    proc = subprocess.run([sys.executable, "hw0/inference.py"], cwd=unpacked, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "top-1: " in proc.stdout and (unpacked / "results" / "hw0" / "demo" / "inference_cnn_log.json").is_file()


def test_handin_without_a_checkpoint_is_one_line_error(tmp_path):
    proc = run_script("tools/pack_handin.py", "--hw", "0", "--checkpoint", tmp_path / "none.pt", "--out",
                      tmp_path / "x.zip", check=False)
    assert proc.returncode != 0 and proc.stderr.strip().startswith("error:") and "none.pt" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "x.zip").exists()
