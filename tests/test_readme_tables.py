"""reports/readme_tables.py: README's HW0 results tables are generated from the results files, and stale or foreign
numbers are caught."""
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "reports" / "readme_tables.py"


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, cwd=ROOT)


def test_readme_tables_match_the_shipped_results():
    proc = run("--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    block = proc.stdout
    for ckpt in ("cnn_log.pt", "cnn_nolog.pt", "ml.joblib"):
        assert ckpt in block
    readme = (ROOT / "README.txt").read_text()
    # every number in README's table is the results file's, at the shown precision
    train = json.loads((ROOT / "results" / "hw0" / "cnn_log.json").read_text())
    genuine = json.loads((ROOT / "results" / "hw0" / "genuine" / "inference_cnn_log.json").read_text())
    assert f"{train['val']['top1']:.3f}" in readme and f"{genuine['top1']:.3f} [" in readme
    assert "computed with another checkpoint" not in block, "a shipped results file does not match its checkpoint"
    # leave-one-library-out: the previous and the retrained recipe on the same real notes, for each checkpoint
    lolo = json.loads((ROOT / "results" / "hw0" / "leave_one_library_out.json").read_text())
    for kind, stem in (("cnn", "cnn_log"), ("cnn", "cnn_nolog"), ("ml", "ml")):
        pair = lolo[kind][stem]["lolo"]["vs_baseline"]
        assert f"{pair['b']:.3f} [{pair['b_ci'][0]:.2f}-{pair['b_ci'][1]:.2f}]    {pair['a']:.3f}" in readme, stem
        paired = json.loads((ROOT / "results" / "hw0" / "genuine" / f"paired_{stem}.json").read_text())
        assert (f"{paired['b']:.3f} [{paired['b_ci'][0]:.2f}-{paired['b_ci'][1]:.2f}]    {paired['a']:.3f} "
                f"[{paired['a_ci'][0]:.2f}-{paired['a_ci'][1]:.2f}]    {paired['diff']:+.3f}") in readme, stem


def test_changed_or_foreign_results_are_caught(tmp_path):
    results = tmp_path / "hw0"
    shutil.copytree(ROOT / "results" / "hw0", results)
    f = results / "genuine" / "inference_ml.json"
    d = json.loads(f.read_text())
    d["top1"], d["n"] = 50 / 99, 99
    f.write_text(json.dumps(d))
    proc = run("--check", "--results_dir", results)
    assert proc.returncode == 1 and "out of date" in proc.stderr
    assert "0.505 [0.41-0.60]" in proc.stdout        # Wilson 95 % interval of 50 / 99

    d["checkpoint_sha256"] = hashlib.sha256(b"another model").hexdigest()
    f.write_text(json.dumps(d))
    proc = run("--check", "--results_dir", results)
    assert "! ml.joblib: genuine/inference_ml.json computed with another checkpoint" in proc.stdout

    d = json.loads((results / "genuine" / "paired_ml.json").read_text())
    d.update(a=0.5, b=0.4, diff=0.1, mcnemar_p=0.0004)
    (results / "genuine" / "paired_ml.json").write_text(json.dumps(d))
    out = run("--check", "--results_dir", results).stdout
    row = next(line for line in out.splitlines() if line.startswith("  ml.joblib") and line.endswith(" 99"))
    assert " 0.400 [" in row and " 0.500 [" in row and " +0.100 [" in row and " <0.001 " in row

    d = json.loads((results / "cnn_log.json").read_text())
    d["command"] = ("python hw0/train_cnn.py --train_dir /somewhere/x/mix9/train --valid_dir /somewhere/x/mix9/valid "
                    "--checkpoint_dir /tmp/ck --epochs 3")
    (results / "cnn_log.json").write_text(json.dumps(d))
    out = run("--check", "--results_dir", results).stdout
    assert "--train_dir DATA/mix9/train --valid_dir DATA/mix9/valid --epochs 3 --overwrite" in out
    assert "/tmp/ck" not in out and "/somewhere" not in out
