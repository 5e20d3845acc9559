"""hw1/inference.py through its CLI: classification report, predictions CSV, whole-track activity, bad inputs, the
checkpoint and output folder it picks by default."""
import csv
import hashlib
import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hw1_fixtures as F  # noqa: E402

torch = pytest.importorskip("torch")
pretty_midi = pytest.importorskip("pretty_midi")
pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Tiny encoder, tiny course set, and a frozen-probe checkpoint trained on it through the training CLI."""
    enc = F.make_tiny_encoder(tmp_path_factory)
    tmp = tmp_path_factory.mktemp("hw1_inference")
    root = F.make_slakh_set(tmp / "slakh", seed=1)
    ckpt = tmp / "frozen.pt"
    F.run("finetune_mert.py", "--data_root", root, "--encoder", enc, "--cache_dir", tmp / "cache", "--epochs", "3",
          "--checkpoint", ckpt, "--results_dir", tmp / "train_results")
    return {"encoder": enc, "root": root, "ckpt": ckpt}


def infer(setup, *extra, check=True):
    return F.run("inference.py", "--checkpoint", setup["ckpt"], *extra, check=check)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_report_csv_json_and_figure(setup, tmp_path):
    root = setup["root"]
    p = infer(setup, "--test_dir", root / "test", "--labels", root / "test_labels.json", "--out_dir", tmp_path)
    for name in F.CLASS_NAMES + ["micro avg", "macro avg", "weighted avg", "samples avg"]:
        assert name in p.stdout, name
    res = json.loads((tmp_path / "inference.json").read_text())
    assert res["n"] == 10 and res["provenance"].startswith("synthetic test fixture")
    assert res["n_excluded"] == 0 and res["excluded"] == {} and "10 labelled clips, 0 excluded" in p.stdout
    assert res["checkpoint"] == str(setup["ckpt"]) and res["checkpoint_sha256"] == sha256(setup["ckpt"])
    assert {"micro avg", "macro avg", "weighted avg", "samples avg"} <= set(res["report"])
    assert all(res["report"][c]["support"] == s for c, s in
               zip(F.CLASS_NAMES, np.array(list(json.loads((root / "test_labels.json").read_text()).values())).sum(0)))
    assert "samples avg" in res["report_text"]
    assert (tmp_path / res["figures"]["per_class_f1"]).stat().st_size > 0
    rows = read_csv(tmp_path / "predictions.csv")
    assert len(rows) == 10 and len(rows[0]) == 1 + 2 * 9
    th = torch.load(setup["ckpt"], weights_only=True)["thresholds"]
    for r in rows:   # the 0/1 columns are the probabilities thresholded at the checkpoint's validation thresholds
        assert [int(r[f"pred_{c}"]) for c in F.CLASS_NAMES] == \
               [int(float(r[f"prob_{c}"]) >= t) for c, t in zip(F.CLASS_NAMES, th)] or \
               any(abs(float(r[f"prob_{c}"]) - t) < 1e-4 for c, t in zip(F.CLASS_NAMES, th))


def test_without_labels_finds_the_course_labels_file(setup, tmp_path):
    """The TA's run: --test_dir slakh/test and no --labels -> slakh/test_labels.json is used, and said so."""
    root = setup["root"]
    p = infer(setup, "--test_dir", root / "test", "--out_dir", tmp_path / "found")
    assert f"labels: {(root / 'test_labels.json').resolve()}" in p.stdout and "macro avg" in p.stdout
    res = json.loads((tmp_path / "found" / "inference.json").read_text())
    assert res["n"] == 10 and Path(res["labels"]) == (root / "test_labels.json").resolve()
    infer(setup, "--test_dir", str(root / "test") + "/", "--labels", root / "test_labels.json",
          "--out_dir", tmp_path / "given")
    given = json.loads((tmp_path / "given" / "inference.json").read_text())
    assert given["report_text"] == res["report_text"] and given["report"] == res["report"]


def test_without_labels_file_only_predictions(setup, tmp_path):
    d = tmp_path / "clips"
    shutil.copytree(setup["root"] / "test", d)               # no clips_labels.json beside it
    p = infer(setup, "--test_dir", d, "--out_dir", tmp_path / "out")
    assert "predictions only" in p.stdout and "clips_labels.json" in p.stdout and "macro avg" not in p.stdout
    assert sorted(x.name for x in (tmp_path / "out").iterdir()) == ["predictions.csv"]
    assert len(read_csv(tmp_path / "out" / "predictions.csv")) == 10


def test_checkpoint_from_a_local_folder_falls_back_to_its_hub_id(setup, tmp_path):
    """Trained from the README's relative models/<name> folder; inference elsewhere (the TA's machine) finds the
    encoder by the hub id stored in the checkpoint, and without it names the hub id in the download hint."""
    work = tmp_path / "student"
    shutil.copytree(setup["encoder"], work / "models" / "tiny-mert")
    ckpt = tmp_path / "local.pt"
    F.run("finetune_mert.py", "--data_root", setup["root"], "--encoder", "models/tiny-mert", "--hub_id",
          "test-org/tiny-mert", "--cache_dir", tmp_path / "cache", "--epochs", "1", "--checkpoint", ckpt,
          "--results_dir", tmp_path / "res", cwd=work)
    ck = torch.load(ckpt, weights_only=True)
    assert ck["encoder"] == "models/tiny-mert" and ck["hub_id"] == "test-org/tiny-mert"
    assert ck["encoder_path"] == str((work / "models" / "tiny-mert").resolve())
    args = ("--checkpoint", ckpt, "--test_dir", setup["root"] / "test")
    p0 = F.run("inference.py", *args, "--out_dir", tmp_path / "here")          # the folder exists: used as is
    assert "not on this machine" not in p0.stdout
    shutil.rmtree(work / "models")                                            # the TA's machine has no such folder
    hub = F.hub_cache_with(tmp_path / "hub", "test-org/tiny-mert", setup["encoder"])
    p1 = F.run("inference.py", *args, "--out_dir", tmp_path / "there", cwd=tmp_path, env={"HF_HUB_CACHE": str(hub)})
    assert "not on this machine; using its hub id test-org/tiny-mert" in p1.stdout
    assert (tmp_path / "there" / "predictions.csv").read_text() == (tmp_path / "here" / "predictions.csv").read_text()
    p2 = F.run("inference.py", *args, "--out_dir", tmp_path / "none", check=False,
               env={"HF_HUB_CACHE": str(tmp_path / "empty_hub")})
    last = p2.stderr.strip().splitlines()[-1]
    assert p2.returncode != 0 and last.startswith("error:") and "Traceback" not in p2.stderr
    assert "hf download test-org/tiny-mert --local-dir models/tiny-mert" in last
    assert "download models/" not in last


def test_old_checkpoint_of_a_local_mert_folder_names_the_hub_id(setup, tmp_path):
    """A checkpoint written before hub ids were stored: encoder 'models/MERT-v1-95M' (a folder: revision 'local'),
    MERT-v1-95M's shape (13 states of 768). The hint names m-a-p/MERT-v1-95M, not the folder."""
    ProbeHead = F.load_hw1_model().ProbeHead
    ck = torch.load(setup["ckpt"], weights_only=True)
    for k in ("hub_id", "encoder_path", "layer_norm"):
        ck.pop(k, None)
    ck.update(encoder="models/MERT-v1-95M", revision="local", n_states=13, dim=768,
              head=ProbeHead(13, 768, 9, ck["hidden"], ck["dropout"]).state_dict())
    torch.save(ck, tmp_path / "old.pt")
    p = F.run("inference.py", "--checkpoint", tmp_path / "old.pt", "--test_dir", setup["root"] / "test", "--out_dir",
              tmp_path / "out", check=False, env={"HF_HUB_CACHE": str(tmp_path / "empty_hub")})
    last = p.stderr.strip().splitlines()[-1]
    assert p.returncode != 0 and "Traceback" not in p.stderr and "using its hub id m-a-p/MERT-v1-95M" in p.stdout
    assert "hf download m-a-p/MERT-v1-95M" in last and "download models/" not in last


def test_whole_track_activity(setup, tmp_path):
    tdir = tmp_path / "test_track"
    F.make_test_track(tdir)
    shutil.copy(tdir / "Track00001.flac", tdir / "Track00002.flac")   # audio without MIDI
    shutil.copy(tdir / "Track00001.mid", tdir / "Track00003.mid")     # MIDI without audio
    maps = F.write_course_maps(tmp_path / "maps")
    out = tmp_path / "out"
    p = infer(setup, "--test_track_dir", tdir, "--out_dir", out, "--class_map_dir", maps)
    assert p.stdout.count("note:") == 1 and "Wind instruments" in p.stdout
    assert "Track00002" in p.stdout and "Track00003" in p.stdout and "no matching" in p.stdout
    assert "Track00001: L=3 windows, micro-F1" in p.stdout
    res = json.loads((out / "tracks.json").read_text())
    assert res["unmatched_audio"] == ["Track00002"] and res["unmatched_midi"] == ["Track00003"]
    assert res["checkpoint"] == str(setup["ckpt"]) and res["checkpoint_sha256"] == sha256(setup["ckpt"])
    assert res["provenance"] == "unknown (no dataset_info.json)"
    (t,) = res["tracks"]
    L = math.ceil(pretty_midi.PrettyMIDI(str(tdir / "Track00001.mid")).get_end_time() / 5)
    assert t["name"] == "Track00001" and t["L"] == L == 3
    gt, pred = np.array(t["gt"]), np.array(t["pred"])
    assert gt.shape == pred.shape == (9, L) and set(np.unique(pred)) <= {0, 1}
    expected = np.zeros((9, L), int)
    for name, row in F.EXPECTED_TRACK.items():
        expected[F.CLASS_NAMES.index(name)] = row
    assert np.array_equal(gt, expected)       # drums are not Percussion by default
    assert 0 <= t["micro_f1"] <= 1 and 0 <= t["macro_f1"] <= 1
    assert (out / t["figure"]).stat().st_size > 0
    # the figure's TP / FP / FN cells, counted in tracks.json and the printed line
    assert (t["tp"], t["fp"], t["fn"]) == (int((gt & pred).sum()), int((pred & (1 - gt)).sum()),
                                           int((gt & (1 - pred)).sum()))
    assert f"(TP {t['tp']}, FP {t['fp']}, FN {t['fn']})" in p.stdout

    p = infer(setup, "--test_track_dir", tdir, "--out_dir", out, "--drums_as_percussion")
    gt_d = np.array(json.loads((out / "tracks.json").read_text())["tracks"][0]["gt"])
    assert gt_d[1].tolist() == [1, 1, 1] and np.array_equal(np.delete(gt_d, 1, 0), np.delete(expected, 1, 0))


def _object(path):
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)


def _int16(path):
    np.save(path, np.zeros(120000, np.int16))


def _stereo(path):
    np.save(path, np.zeros((2, 120000), np.float32))


def _nan(path):
    x = np.zeros(120000, np.float32)
    x[5] = np.inf
    np.save(path, x)


def _text(path):
    path.write_text("0.1, 0.2, 0.3\n")


@pytest.mark.parametrize("make,why", [(_object, "pickled (object) data"), (_text, "not a NumPy .npy file (bad header)"),
                                      (_int16, "dtype int16"), (_stereo, "shape (2, 120000)"), (_nan, "NaN or inf")])
def test_bad_clip_is_named_excluded_and_the_metric_is_on_the_rest(setup, tmp_path, make, why):
    d = tmp_path / "test"
    shutil.copytree(setup["root"] / "test", d)
    make(d / "Track00003_test.npy")
    labels = setup["root"] / "test_labels.json"
    p = infer(setup, "--test_dir", d, "--labels", labels, "--out_dir", tmp_path / "out")
    (warning,) = [ln for ln in p.stdout.splitlines() if "unusable" in ln and ln.startswith("warning:")]
    assert "1 of 10 clips" in warning and f"Track00003_test.npy ({why}" in warning
    assert "excluded from predictions and metrics" in warning and "float32 array of 120000 samples" in warning
    assert "classification report on 9 labelled clips, 1 excluded as unusable" in p.stdout
    res = json.loads((tmp_path / "out" / "inference.json").read_text())
    assert res["n"] == 9 and res["n_predicted"] == 9 and res["n_excluded"] == 1
    assert list(res["excluded"]) == ["Track00003_test.npy"] and res["excluded"]["Track00003_test.npy"].startswith(why)
    rows = {r["file"]: r for r in read_csv(tmp_path / "out" / "predictions.csv")}
    assert len(rows) == 9 and "Track00003_test.npy" not in rows
    truth = json.loads(labels.read_text())
    y = np.array([truth[k] for k in rows])
    pred = np.array([[int(r[f"pred_{c}"]) for c in F.CLASS_NAMES] for r in rows.values()])
    from sklearn.metrics import classification_report
    want = classification_report(y, pred, target_names=F.CLASS_NAMES, zero_division=0, output_dict=True)
    for key in F.CLASS_NAMES + ["micro avg", "macro avg", "samples avg"]:
        assert res["report"][key] == pytest.approx(want[key]), key


def test_no_usable_clip_is_one_line_error(setup, tmp_path):
    d = tmp_path / "clips"
    d.mkdir()
    _text(d / "a.npy")
    _object(d / "b.npy")
    p = infer(setup, "--test_dir", d, "--out_dir", tmp_path / "out", check=False)
    assert p.returncode != 0 and "Traceback" not in p.stderr
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("error: none of the 2 clips") and "a.npy: not a NumPy .npy file (bad header)" in last
    assert not (tmp_path / "out").exists()


def test_length_and_label_mismatches_are_counted(setup, tmp_path):
    d = tmp_path / "test"
    shutil.copytree(setup["root"] / "test", d)
    np.save(d / "Track00004_test.npy", np.ones(90000, np.float32) * 0.1)
    np.save(d / "unlabelled.npy", np.ones(120001, np.float32) * 0.1)
    labels = json.loads((setup["root"] / "test_labels.json").read_text())
    labels["gone1.npy"] = labels["gone2.npy"] = labels["gone3.npy"] = [0] * 8 + [1]
    (tmp_path / "labels.json").write_text(json.dumps(labels))
    p = infer(setup, "--test_dir", d, "--labels", tmp_path / "labels.json", "--out_dir", tmp_path / "out")
    assert "warning: 2 of 11 clips" in p.stdout and "not 120000 samples" in p.stdout
    assert "warning: 1 of 11 clips" in p.stdout and "no key" in p.stdout
    assert "warning: 3 of 13 keys" in p.stdout and "no clip" in p.stdout
    res = json.loads((tmp_path / "out" / "inference.json").read_text())
    assert res["n"] == 10 and res["n_predicted"] == 11
    assert len(read_csv(tmp_path / "out" / "predictions.csv")) == 11     # still predicted, just not scored


def test_missing_checkpoint_is_one_line_error(setup, tmp_path):
    p = F.run("inference.py", "--checkpoint", tmp_path / "none.pt", "--test_dir", setup["root"] / "test", check=False)
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert p.stderr.strip().splitlines()[-1].startswith("error:") and "none.pt" in p.stderr


def test_track_figure_marks_agreement_in_one_panel_on_a_5s_grid(tmp_path):
    import matplotlib.image as mpimg
    U = F.load_hw1_utils()
    gt = np.array([[1, 1, 0, 0], [0, 0, 1, 1]])
    pred = np.array([[1, 0, 1, 0], [0, 0, 1, 0]])
    codes = U.agreement(gt, pred)
    assert codes.tolist() == [[1, 3, 2, 0], [0, 0, 1, 3]]           # TP, FN, FP, agree-off / ... , TP, FN
    counts = U.plot_track(gt, pred, ["A", "B"], tmp_path / "t.png", "t")
    assert counts == {"tp": 2, "fp": 1, "fn": 2}
    img = (mpimg.imread(tmp_path / "t.png")[..., :3] * 255).round().astype(int)
    colours = {tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for _, c in U.AGREEMENT[1:]}
    present = {tuple(px) for px in img.reshape(-1, 3)}
    assert colours <= present                                       # TP, FP and FN cells are all drawn


def test_handin_layout_default_checkpoint_out_dir_and_provenance(setup, tmp_path):
    """A hand-in zip unpacked: hw1/ and checkpoints/hw1/<any name>.pt. The TA's bare command finds the one checkpoint
    and writes under runs/hw1/inference/<data folder name>/, never into results/."""
    hand = tmp_path / "handin"
    shutil.copytree(F.HW1, hand / "hw1", ignore=shutil.ignore_patterns("__pycache__"))
    ckpt_dir = hand / "checkpoints" / "hw1"
    ckpt_dir.mkdir(parents=True)
    shutil.copy(setup["ckpt"], ckpt_dir / "mine.pt")
    data = tmp_path / "course"                            # no dataset_info.json: the provenance is not claimed
    shutil.copytree(setup["root"] / "test", data / "test")
    shutil.copy(setup["root"] / "test_labels.json", data / "test_labels.json")
    args = ("--test_dir", data / "test", "--labels", data / "test_labels.json")

    p = F.run("inference.py", *args, cwd=hand, hw1_dir=hand / "hw1")
    assert f"checkpoint {ckpt_dir / 'mine.pt'}" in p.stdout
    out = hand / "runs" / "hw1" / "inference" / "test"
    res = json.loads((out / "inference.json").read_text())
    assert res["checkpoint"] == "checkpoints/hw1/mine.pt" and res["checkpoint_sha256"] == sha256(ckpt_dir / "mine.pt")
    assert res["provenance"] == "unknown (no dataset_info.json)" and res["n"] == 10
    assert (out / "predictions.csv").is_file() and not (hand / "results").exists()

    shutil.copy(setup["ckpt"], ckpt_dir / "other.pt")     # several, none with a known name: ask
    p = F.run("inference.py", *args, cwd=hand, hw1_dir=hand / "hw1", check=False)
    last = p.stderr.strip().splitlines()[-1]
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert last.startswith("error:") and "mine.pt, other.pt" in last and "--checkpoint" in last

    shutil.copy(setup["ckpt"], ckpt_dir / "frozen.pt")    # several: frozen.pt (finetune.pt first, were it there)
    F.run("inference.py", *args, "--provenance", "course release of Slakh2100", cwd=hand, hw1_dir=hand / "hw1")
    res = json.loads((out / "inference.json").read_text())
    assert res["checkpoint"] == "checkpoints/hw1/frozen.pt" and res["provenance"] == "course release of Slakh2100"

    for f in ckpt_dir.iterdir():
        f.unlink()
    p = F.run("inference.py", *args, cwd=hand, hw1_dir=hand / "hw1", check=False)
    last = p.stderr.strip().splitlines()[-1]
    assert p.returncode != 0 and last.startswith("error: no checkpoint (.pt) in") and "--checkpoint" in last
