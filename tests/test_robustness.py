"""Bad-input corpus through every CLI: each bad input ends in a one-line `error: ...` naming the file and the
fix, or in a counted warning that names the file, with the file left out of the metric (or fixed and scored, as the
READMEs say); never a traceback, never a wrong metric. Also: the test split never influences HW0 training/selection.

The corpus is the tables below (one row per bad input, with the CLIs it goes through and what must be said).
Fixtures are tiny and module-scoped: a 1-epoch width-8 CNN and a k-NN pipeline trained through the HW0 CLIs, a tiny
HuBERT-architecture encoder and a frozen-probe checkpoint trained through the HW1 CLI (tests/hw1_fixtures.py).
"""
import csv
import json
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from sklearn.metrics import classification_report, f1_score, top_k_accuracy_score

from conftest import FAMILIES, make_nsynth, note_audio, run_script

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hw1_fixtures as F  # noqa: E402

NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message")
ROOT_USER = hasattr(os, "geteuid") and os.geteuid() == 0
SKIPS = {"device-cuda-without-gpu": NO_CUDA,
         "unreadable-dir-chmod-000": pytest.mark.skipif(ROOT_USER, reason="root reads any folder: chmod can't bite")}


def params(table):
    """One pytest case per table row, named by the row's case id."""
    return [pytest.param(row, id=row[0], marks=SKIPS.get(row[0], ())) for row in table]


def one_line_error(proc, *needles):
    """Failed, no traceback, the last stderr line is 'error: ...' and holds every needle (file name, the fix)."""
    assert proc.returncode != 0, proc.stdout[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error:"), proc.stderr[-3000:]
    for n in needles:
        assert str(n) in last, (n, last)
    return last


def ok(proc):
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def printed(metric, text):
    return float(re.search(rf"^{metric}: ([0-9.]+)$", text, re.M).group(1))


# ---------------------------------------------------------------------------------------------------------------------
# HW0 fixtures: three tiny splits and two checkpoints trained through the CLIs (not checkpoints/hw0/)

@pytest.fixture(scope="module")
def hw0(tmp_path_factory):
    root = tmp_path_factory.mktemp("hw0_robust")
    make_nsynth(root / "train", pitches=(48, 60), velocities=(100,), inst_idx=0, seed=0)
    make_nsynth(root / "valid", pitches=(54,), velocities=(100,), inst_idx=1, seed=1)
    make_nsynth(root / "test", pitches=(66,), velocities=(100,), inst_idx=2, seed=2)
    common = ["--train_dir", root / "train", "--valid_dir", root / "valid", "--checkpoint_dir", root / "ck",
              "--results_dir", root / "res", "--cache_dir", root / "cache"]
    ok(run_script("hw0/train_cnn.py", *common, "--epochs", "1", "--width", "8", "--n_blocks", "3"))
    ok(run_script("hw0/train_ml.py", *common, "--models", "knn"))
    return dict(root=root, train=root / "train", valid=root / "valid", test=root / "test",
                cnn=root / "ck" / "cnn_log.pt", ml=root / "ck" / "ml.joblib")


def hw0_cmd(cli, data, ctx, tmp, role="train"):
    """The argument list of one HW0 CLI with `data` as the folder under test (for training: the train or valid dir)."""
    out = ["--out_dir", tmp / "out"]
    if cli == "visualize":
        return ["hw0/visualize_mel.py", "--data_dir", data, *out]
    if cli == "inference":
        return ["hw0/inference.py", "--test_dir", data, "--checkpoint", ctx["cnn"], *out]
    if cli == "inference_ml":
        return ["hw0/inference.py", "--test_dir", data, "--model", "ml", "--checkpoint", ctx["ml"], *out]
    dirs = {"train": ctx["train"], "valid": ctx["valid"], role: data}
    common = ["--train_dir", dirs["train"], "--valid_dir", dirs["valid"], "--checkpoint_dir", tmp / "ck",
              "--results_dir", tmp / "res", "--cache_dir", ctx["root"] / "cache"]   # the good splits: cache hits
    if cli == "train_cnn":
        return ["hw0/train_cnn.py", *common, "--epochs", "1", "--width", "8", "--n_blocks", "3"]
    return ["hw0/train_ml.py", *common, "--models", "knn"]


def copy_split(src, dst):
    shutil.copytree(src, dst)
    return dst


def _audio_is_a_file(t, ctx):
    d = copy_split(ctx["test"], t / "s")
    shutil.rmtree(d / "audio")
    (d / "audio").write_text("not a folder")
    return d


def _only_other_files(t, ctx):
    d = t / "s" / "audio"
    d.mkdir(parents=True)
    (d / "notes.txt").write_text("x")
    sf.write(d / "bass_acoustic_000-060-100.flac", np.zeros(16000), 16000)
    return t / "s"


def _examples(t, ctx, text):
    d = copy_split(ctx["test"], t / "s")
    (d / "examples.json").write_bytes(text if isinstance(text, bytes) else text.encode())
    return d


def _a_file(t, ctx):
    (t / "f.wav").write_bytes(b"x")
    return t / "f.wav"


def _empty_dir(t, ctx):
    (t / "e").mkdir()
    return t / "e"


def _all_unreadable(t, ctx):
    d = copy_split(ctx["test"], t / "s")
    for w in (d / "audio").glob("*.wav"):
        w.write_bytes(b"")
    return d


def _unlabelled(t, ctx, src):
    d = t / "s" / "audio"
    d.mkdir(parents=True)
    for w in (ctx[src] / "audio").glob("*.wav"):
        shutil.copy(w, d / f"take_{w.stem.split('-')[1]}_{w.stem.split('_')[0]}.wav")   # no '<family>_..-p-v'
    return t / "s"


def _grid_note_nan(t, ctx):
    d = t / "s"
    make_nsynth(d, families=["guitar", "organ", "vocal"], pitches=(48, 60, 72), velocities=(100,))
    y = np.zeros(64000, np.float32)
    y[10] = np.nan
    sf.write(d / "audio" / "organ_acoustic_000-060-100.wav", y, 16000, subtype="FLOAT")
    return d


def _unreadable_dir(t, ctx):
    d = copy_split(ctx["test"], t / "s")
    os.chmod(d / "audio", 0)
    return d


ALL4 = ("visualize", "train_ml", "train_cnn", "inference")
# (case id, build(tmp, ctx) -> folder under test, CLIs, role of the folder for training CLIs, needles of the error)
HW0_ERRORS = [
    ("missing-dir", lambda t, c: t / "nope", ALL4, "train", ["nope", "does not exist", "pass an NSynth split folder"]),
    ("dir-is-a-file", _a_file, ("train_cnn",), "valid", ["f.wav", "is not a folder"]),
    ("empty-dir", _empty_dir, ("visualize", "inference_ml"), "train",
     ["no .wav files", "<split>/audio/<note_str>.wav"]),
    ("audio-is-a-file", _audio_is_a_file, ("inference",), "train", ["no .wav files"]),
    ("no-wav-only-flac-and-txt", _only_other_files, ("inference",), "train", ["no .wav files"]),
    ("examples-invalid-json", lambda t, c: _examples(t, c, "{not json"), ("inference", "train_ml"),
     "train", ["examples.json is not valid NSynth metadata", "fix or delete it"]),
    ("examples-top-level-list", lambda t, c: _examples(t, c, "[1, 2, 3]"), ("inference",), "train",
     ["examples.json", "top level is not an object"]),
    ("examples-not-utf8", lambda t, c: _examples(t, c, b"\xff\xfe\x00\x01"), ("train_cnn",), "valid",
     ["examples.json is not valid NSynth metadata"]),
    ("all-wavs-unreadable", _all_unreadable, ("train_cnn", "inference_ml"), "train",
     ["none of the 11 wav files could be read", "bass_acoustic_002-066-100.wav"]),
    ("valid-split-unlabelled", lambda t, c: _unlabelled(t, c, "valid"), ("train_cnn", "train_ml"), "valid",
     ["has no labelled notes", "examples.json"]),
    ("train-split-unlabelled", lambda t, c: _unlabelled(t, c, "train"), ("train_cnn", "train_ml"), "train",
     ["labelled"]),
    ("grid-note-is-nan", _grid_note_nan, ("visualize",), "train",
     ["organ_acoustic_000-060-100.wav", "could not be read", "replace the file"]),
    ("unreadable-dir-chmod-000", _unreadable_dir, ("inference",), "train", ["permission denied", "chmod"]),
]


@pytest.mark.parametrize("row,cli", [pytest.param(r, cli, id=f"{r[0]}-{cli}", marks=SKIPS.get(r[0], ()))
                                     for r in HW0_ERRORS for cli in r[2]])
def test_hw0_bad_folder_is_one_line_error(hw0, tmp_path, row, cli):
    case, build, _, role, needles = row
    data = build(tmp_path, hw0)
    try:
        one_line_error(run_script(*hw0_cmd(cli, data, hw0, tmp_path, role), check=False), *needles)
    finally:
        if (data / "audio").is_dir():
            os.chmod(data / "audio", 0o755)


# ---- metadata and names that are counted warnings: labels fall back, or notes are predicted but not scored ----------

def _missing_listed(t, ctx):
    d = copy_split(ctx["test"], t / "s")
    meta = json.loads((d / "examples.json").read_text())
    meta["bass_acoustic_077-060-100"] = dict(meta["bass_acoustic_002-066-100"])
    meta["organ_acoustic_077-060-100"] = dict(meta["organ_acoustic_002-066-100"])
    (d / "examples.json").write_text(json.dumps(meta))
    return d, 11, 0, ["2 notes listed in", "have no wav file", "bass_acoustic_077-060-100"]


def _bad_family_in_json(t, ctx):
    d = copy_split(ctx["test"], t / "s")
    meta = json.loads((d / "examples.json").read_text())
    meta["bass_acoustic_002-066-100"]["instrument_family"] = 42        # falls back to the file name: bass
    meta["reed_acoustic_002-066-100"]["instrument_family"] = "reed"
    (d / "examples.json").write_text(json.dumps(meta))
    return d, 11, 0, ["2 entries of", "no instrument_family in 0-10", "labels come from the file names"]


def _unknown_family_names(t, ctx):
    d = copy_split(ctx["test"], t / "s")
    (d / "examples.json").unlink()
    src = d / "audio" / "guitar_acoustic_002-066-100.wav"
    shutil.copy(src, d / "audio" / "kazoo_acoustic_000-060-100.wav")       # unknown family
    shutil.copy(src, d / "audio" / "recording 3.wav")                      # not a note_str at all
    return d, 11, 2, ["2 of 13 files have no derivable instrument family", "predicted but not scored"]


def _broken_links(t, ctx):
    d = copy_split(ctx["test"], t / "s")
    os.symlink(t / "gone.wav", d / "audio" / "bass_acoustic_005-060-100.wav")
    (d / "audio" / "flute_acoustic_005-060-100.wav").mkdir()
    return d, 11, 0, ["2 .wav entries", "not files", "bass_acoustic_005-060-100.wav", "flute_acoustic_005-060-100.wav"]


HW0_LISTING_WARNINGS = [("examples-lists-missing-files", _missing_listed),
                        ("examples-family-out-of-range", _bad_family_in_json),
                        ("unknown-family-in-file-name", _unknown_family_names),
                        ("broken-link-and-folder-named-wav", _broken_links)]


@pytest.mark.parametrize("build", [b for _, b in HW0_LISTING_WARNINGS], ids=[c for c, _ in HW0_LISTING_WARNINGS])
def test_hw0_listing_problems_are_counted_and_not_scored(hw0, tmp_path, build):
    data, n_scored, n_unscored, needles = build(tmp_path, hw0)
    proc = ok(run_script(*hw0_cmd("inference", data, hw0, tmp_path), check=False))
    warning = "\n".join(l for l in proc.stderr.splitlines() if l.startswith("warning:"))
    for n in needles:
        assert n in warning, (n, proc.stderr[-2000:])
    summary = json.loads(next((tmp_path / "out").glob("inference_*.json")).read_text())
    assert summary["n"] == n_scored and summary["n_unscored"] == n_unscored
    rows = read_csv(next((tmp_path / "out").glob("predictions_*.csv")))
    assert len(rows) == n_scored + n_unscored
    scored = [r for r in rows if r["true"]]
    assert printed("top-1", proc.stdout) == pytest.approx(
        np.mean([r["true"] == r["pred1"] for r in scored]), abs=1e-4)


# ---------------------------------------------------------------------------------------------------------------------
# HW0 wav corpus: every odd file in one folder next to the 11 good test notes, run once per CLI

SRC = ("guitar", 66)           # the note every variant is made from (the test split holds the original)


def _w(subtype, fn=lambda y: y, sr=16000, fmt=None):
    return lambda path, y: sf.write(path, fn(y), sr, subtype=subtype, format=fmt)


def _bytes(b):
    return lambda path, y: path.write_bytes(b)


def _truncated(path, y, n_bytes=30000):
    sf.write(path, y, 16000, subtype="PCM_16")
    path.write_bytes(path.read_bytes()[:n_bytes])      # the header still promises 128000 data bytes


def _nan(v):
    def fn(y):
        y = y.astype(np.float32).copy()
        y[1000:1100] = v
        return y
    return _w("FLOAT", fn)


def _resampled(sr):
    return _w("PCM_16", lambda y: np.interp(np.arange(0, len(y), 16000 / sr), np.arange(len(y)), y), sr)


# (case id, writer(path, y), fate, needle in its warning, same prediction as the 16-bit original)
# fate: "kept" scored, no warning; "fixed" scored with a counted warning naming it; "excluded" named, not scored
WAV_CORPUS = [
    ("pcm-8bit", _w("PCM_U8"), "kept", None, False),
    ("pcm-24bit", _w("PCM_24"), "kept", None, True),
    ("float32", _w("FLOAT"), "kept", None, True),
    ("float64", _w("DOUBLE"), "kept", None, True),
    ("flac-data-named-wav", _w("PCM_16", fmt="FLAC"), "kept", None, True),
    ("stereo", _w("PCM_16", lambda y: np.stack([y, y], 1)), "fixed", "multichannel (averaged to mono)", True),
    ("six-channels", _w("FLOAT", lambda y: np.stack([y] * 6, 1)), "fixed", "multichannel (averaged to mono)", True),
    ("44.1kHz", _resampled(44100), "fixed", "sample rate 44100 Hz (resampled to 16000)", False),
    ("8kHz", _resampled(8000), "fixed", "sample rate 8000 Hz (resampled to 16000)", False),
    ("short-1s", _w("PCM_16", lambda y: y[:16000]), "fixed", "length not 4 s (padded/trimmed)", False),
    ("long-6s", _w("PCM_16", lambda y: np.concatenate([y, y[:32000]])), "fixed", "length not 4 s", True),
    ("silent", _w("PCM_16", np.zeros_like), "fixed", "digital silence", False),
    ("empty-0-bytes", _bytes(b""), "excluded", "unreadable", None),
    ("header-only", lambda p, y: _truncated(p, y, 44), "excluded", "empty audio", None),
    ("truncated", _truncated, "excluded", "truncated (header promises 128000 data bytes", None),
    ("not-audio", _bytes(b"this is a text file, not a wav\n" * 50), "excluded", "unreadable", None),
    ("riff-header-then-junk", _bytes(b"RIFF\x24\xf4\x01\x00WAVEjunk" + bytes(range(256)) * 8), "excluded",
     "unreadable", None),
    ("nan-float", _nan(np.nan), "excluded", "NaN/inf samples", None),
    ("inf-float", _nan(np.inf), "excluded", "NaN/inf samples", None),
]


def corpus_name(i):
    return f"{SRC[0]}_acoustic_{100 + i:03d}-{SRC[1]:03d}-100.wav"


@pytest.fixture(scope="module")
def wav_corpus(hw0, tmp_path_factory):
    """The corpus folder (the 11 good test notes + one file per row; labels from file names for the rows), and the
    outputs of inference (CNN, ML), training (CNN, ML) on it, plus inference on the good notes alone."""
    t = tmp_path_factory.mktemp("wav_corpus")
    d = copy_split(hw0["test"], t / "corpus")
    sf.write(d / "audio" / corpus_name(99), note_audio(*SRC, 100, np.random.default_rng(2)), 16000, subtype="PCM_16")
    y, _ = sf.read(d / "audio" / corpus_name(99))      # the 16-bit original: its lossless variants decode to it exactly
    for i, (_, write, *_rest) in enumerate(WAV_CORPUS):
        write(d / "audio" / corpus_name(i), y)
    clean = copy_split(hw0["test"], t / "clean")
    shutil.copy(d / "audio" / corpus_name(99), clean / "audio")
    runs = {}
    for cli in ("inference", "inference_ml"):
        runs[cli] = ok(run_script(*hw0_cmd(cli, d, hw0, t / cli), check=False))
        runs[cli + "_clean"] = ok(run_script(*hw0_cmd(cli, clean, hw0, t / (cli + "_clean")), check=False))
    for cli in ("train_cnn", "train_ml"):
        runs[cli] = ok(run_script(*hw0_cmd(cli, d, hw0, t / cli, role="train"), check=False))
    runs["dir"] = t
    return runs


def _warning_lines(proc):
    return [l for l in proc.stderr.splitlines() if l.startswith("warning:")]


@pytest.mark.parametrize("i,row", list(enumerate(WAV_CORPUS)), ids=[r[0] for r in WAV_CORPUS])
@pytest.mark.parametrize("cli", ["inference", "inference_ml", "train_cnn", "train_ml"])
def test_hw0_odd_wav_is_fixed_or_named_and_excluded(wav_corpus, cli, i, row):
    case, _, fate, needle, _same = row
    name = corpus_name(i)
    mentioned = [l for l in _warning_lines(wav_corpus[cli]) if name in l]
    if fate == "kept":
        assert not mentioned, mentioned
    elif fate == "fixed":
        assert len(mentioned) == 1 and re.match(r"warning: \d+ files: ", mentioned[0]) and needle in mentioned[0], \
            (needle, mentioned, wav_corpus[cli].stderr[-2000:])
    else:
        assert len(mentioned) == 1 and "unreadable files excluded from prediction and metrics" in mentioned[0], \
            (mentioned, wav_corpus[cli].stderr[-2000:])
        assert needle in mentioned[0].split(name, 1)[1].split(";")[0], mentioned[0]     # its own reason
    if cli.startswith("inference"):
        files = {r["file"] for r in read_csv(next((wav_corpus["dir"] / cli / "out").glob("predictions_*.csv")))}
        assert (name in files) == (fate != "excluded")


N_GOOD = 11 + 1 + sum(r[2] != "excluded" for r in WAV_CORPUS)          # test notes + original + kept/fixed variants
N_EXCLUDED = sum(r[2] == "excluded" for r in WAV_CORPUS)


@pytest.mark.parametrize("cli", ["inference", "inference_ml"])
def test_hw0_corpus_metric_is_sklearns_on_the_kept_files(wav_corpus, cli):
    proc = wav_corpus[cli]
    assert f"({N_GOOD} notes scored)" in proc.stdout
    assert f"warning: {N_EXCLUDED} unreadable files excluded" in proc.stderr
    out = wav_corpus["dir"] / cli / "out"
    rows = read_csv(next(out.glob("predictions_*.csv")))
    assert len(rows) == N_GOOD
    scores = np.zeros((len(rows), 11))
    for j, r in enumerate(rows):
        for k in (1, 2, 3):
            scores[j, FAMILIES.index(r[f"pred{k}"])] = float(r[f"prob{k}"])
    y = np.array([FAMILIES.index(r["true"]) for r in rows])
    assert printed("top-1", proc.stdout) == pytest.approx(top_k_accuracy_score(y, scores, k=1, labels=range(11)),
                                                          abs=1e-4)
    assert printed("top-3", proc.stdout) == pytest.approx(top_k_accuracy_score(y, scores, k=3, labels=range(11)),
                                                          abs=1e-4)
    summary = json.loads(next(out.glob("inference_*.json")).read_text())
    assert summary["n"] == N_GOOD and np.array(summary["confusion_matrix"]).sum() == N_GOOD
    # the good notes get the predictions they get without the bad files beside them, and lossless variants of one
    # note (24-bit, float, FLAC, stereo copies, ...) the prediction of its 16-bit original
    pred = lambda r: [r[f"pred{k}"] for k in (1, 2, 3)] + [float(r[f"prob{k}"]) for k in (1, 2, 3)]  # noqa: E731
    by_file = {r["file"]: pred(r) for r in rows}
    for r in read_csv(next((wav_corpus["dir"] / (cli + "_clean") / "out").glob("predictions_*.csv"))):
        assert by_file[r["file"]] == pytest.approx(pred(r), abs=2e-4), r["file"]
    for i, (case, _, fate, _, same) in enumerate(WAV_CORPUS):
        if same:
            assert by_file[corpus_name(i)] == pytest.approx(by_file[corpus_name(99)], abs=2e-4), case


@pytest.mark.parametrize("cli", ["train_cnn", "train_ml"])
def test_hw0_corpus_trains_on_the_kept_files_only(wav_corpus, cli):
    out = wav_corpus[cli].stdout
    assert re.search(rf"^train {N_GOOD} notes", out, re.M), out[-2000:]
    assert f"warning: {N_EXCLUDED} unreadable files excluded" in wav_corpus[cli].stderr


# ---------------------------------------------------------------------------------------------------------------------
# HW0 checkpoints and devices

def _ckpt(t, ctx, edit):
    c = torch.load(ctx["cnn"], weights_only=True)
    edit(c)
    torch.save(c, t / "edited.pt")
    return t / "edited.pt"


def _joblib(t, obj):
    import joblib
    joblib.dump(obj, t / "edited.joblib")
    return t / "edited.joblib"


def _ml_other_features(t, ctx):
    import joblib
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    b = joblib.load(ctx["ml"])
    b["pipeline"] = make_pipeline(StandardScaler(), KNeighborsClassifier(1)).fit(np.eye(11, 20), range(11))
    return _joblib(t, b)


def _truncate(src, dst, n=5000):
    dst.write_bytes(Path(src).read_bytes()[:n])
    return dst


# (case id, model, build(tmp, ctx) -> checkpoint, extra args, needles)
HW0_CHECKPOINTS = [
    ("cnn-missing", "cnn", lambda t, c: t / "none.pt", [], ["none.pt", "not found", "hw0/train_cnn.py"]),
    ("cnn-truncated", "cnn", lambda t, c: _truncate(c["cnn"], t / "cut.pt"), [],
     ["cut.pt", "is not a usable hw0 CNN checkpoint", "retrain"]),
    ("cnn-is-the-ml-joblib", "cnn", lambda t, c: c["ml"], [], ["ml.joblib", "is not a usable hw0 CNN checkpoint"]),
    ("cnn-width-mismatch", "cnn", lambda t, c: _ckpt(t, c, lambda d: d["model_config"].update(width=16)), [],
     ["edited.pt", "size mismatch"]),
    ("cnn-without-mel-settings", "cnn", lambda t, c: _ckpt(t, c, lambda d: d.pop("mel")), [],
     ["edited.pt", "KeyError"]),
    ("cnn-normalisation-for-other-mels", "cnn",
     lambda t, c: _ckpt(t, c, lambda d: d.update(norm_mean=torch.zeros(32), norm_std=torch.ones(32))), [],
     ["edited.pt", "normalisation"]),
    ("ml-missing", "ml", lambda t, c: t / "none.joblib", [], ["none.joblib", "not found", "hw0/train_ml.py"]),
    ("ml-truncated", "ml", lambda t, c: _truncate(c["ml"], t / "cut.joblib", 3000), [],
     ["cut.joblib", "is not a usable hw0 ML checkpoint"]),
    ("ml-is-the-cnn-checkpoint", "ml", lambda t, c: c["cnn"], [], ["cnn_log.pt", "is not a usable hw0 ML checkpoint"]),
    ("ml-pipeline-of-other-features", "ml", _ml_other_features, [], ["edited.joblib", "235 features"]),
    ("ml-bundle-without-pipeline", "ml", lambda t, c: _joblib(t, {"model": "knn"}), [], ["edited.joblib", "pipeline"]),
    ("device-cuda-without-gpu", "cnn", lambda t, c: c["cnn"], ["--device", "cuda"], ["no CUDA GPU", "--device cpu"]),
    ("device-not-a-device", "cnn", lambda t, c: c["cnn"], ["--device", "tpu"], ["--device tpu", "use cpu"]),
]


@pytest.mark.parametrize("row", params(HW0_CHECKPOINTS))
def test_hw0_bad_checkpoint_or_device_is_one_line_error(hw0, tmp_path, row):
    case, model, build, extra, needles = row
    ckpt = build(tmp_path, hw0)
    one_line_error(run_script("hw0/inference.py", "--test_dir", hw0["test"], "--model", model, "--checkpoint", ckpt,
                              "--out_dir", tmp_path / "out", *extra, check=False), *needles)


@NO_CUDA
def test_hw0_train_cnn_cuda_without_gpu(hw0, tmp_path):
    one_line_error(run_script(*hw0_cmd("train_cnn", hw0["train"], hw0, tmp_path), "--device", "cuda", check=False),
                   "no CUDA GPU", "--device cpu")


# ---------------------------------------------------------------------------------------------------------------------
# HW0: the test split never influences training or selection

def _relabel_test_split(src, dst):
    d = copy_split(src, dst)
    meta = json.loads((d / "examples.json").read_text())
    for entry in meta.values():                         # every note gets another family; the class counts change too
        entry["instrument_family"] = 3 if entry["instrument_family"] != 3 else 4
    (d / "examples.json").write_text(json.dumps(meta))
    return d


def test_hw0_test_split_labels_do_not_change_training(hw0, tmp_path):
    test_a = copy_split(hw0["test"], tmp_path / "test_a")
    test_b = _relabel_test_split(hw0["test"], tmp_path / "test_b")
    res = {}
    for tag, test in (("a", test_a), ("b", test_b)):
        common = ["--train_dir", hw0["train"], "--valid_dir", hw0["valid"], "--test_dir", test, "--cache_dir",
                  tmp_path / "cache", "--checkpoint_dir", tmp_path / tag, "--results_dir", tmp_path / tag]
        ok(run_script("hw0/train_cnn.py", *common, "--epochs", "2", "--width", "8", "--n_blocks", "3", "--seed", "3"))
        ok(run_script("hw0/train_ml.py", *common, "--models", "knn,svm", "--seed", "3"))
        res[tag] = {n: json.loads((tmp_path / tag / f"{n}.json").read_text()) for n in ("cnn_log", "ml")}

    a, b = (torch.load(tmp_path / t / "cnn_log.pt", weights_only=True) for t in "ab")
    assert a["state_dict"].keys() == b["state_dict"].keys()
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])
    assert a["epoch"] == b["epoch"] and torch.equal(a["norm_mean"], b["norm_mean"])
    ra, rb = res["a"]["cnn_log"], res["b"]["cnn_log"]
    assert ra["history"] == rb["history"] and ra["val"] == rb["val"] and ra["best_epoch"] == rb["best_epoch"]
    assert ra["test"]["confusion_matrix"] != rb["test"]["confusion_matrix"]     # the shuffle did reach the test

    import joblib
    ma, mb = (joblib.load(tmp_path / t / "ml.joblib") for t in "ab")
    assert ma["model"] == mb["model"]
    strip = lambda c: {m: {k: v for k, v in s.items() if k != "fit_s"} for m, s in c.items()}   # noqa: E731
    assert strip(res["a"]["ml"]["candidates"]) == strip(res["b"]["ml"]["candidates"])
    assert res["a"]["ml"]["val"] == res["b"]["ml"]["val"]
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hw0"))     # as the scripts import it
    import utils
    import features
    X, _ = utils.cached_task2_rows(*utils.list_nsynth(hw0["valid"]), tmp_path / "cache",    # cache hits
                                   features.HARMONIC_DEFAULTS)
    assert np.array_equal(ma["pipeline"].predict_proba(X), mb["pipeline"].predict_proba(X))
    assert res["a"]["ml"]["test"]["confusion_matrix"] != res["b"]["ml"]["test"]["confusion_matrix"]


# ---------------------------------------------------------------------------------------------------------------------
# HW1 fixtures: tiny encoder, tiny course set, a frozen probe trained through the CLI, a test track

@pytest.fixture(scope="module")
def hw1(tmp_path_factory):
    enc = F.make_tiny_encoder(tmp_path_factory)
    t = tmp_path_factory.mktemp("hw1_robust")
    root = F.make_slakh_set(t / "slakh", sizes=(8, 6, 5), seed=2)
    ckpt = t / "frozen.pt"
    ok(F.run("finetune_mert.py", "--data_root", root, "--encoder", enc, "--cache_dir", t / "cache", "--epochs", "1",
             "--checkpoint", ckpt, "--results_dir", t / "res", check=False))
    F.make_test_track(t / "track")
    return dict(enc=enc, root=root, ckpt=ckpt, track=t / "track", t=t)


class _Boom:
    """Unpickling this creates a folder: proof that a pickled clip was (or was not) unpickled."""
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _pickled(path, marker):
    np.save(path, np.array([_Boom(marker)], dtype=object), allow_pickle=True)


def _clip(write):
    """Copy the test clips, then write(bad clip path, tmp) over one of them; returns (clip dir, labels file)."""
    def build(t, ctx):
        d = copy_split(ctx["root"] / "test", t / "test")
        write(d / "Track00002_test.npy", t)
        return d, ctx["root"] / "test_labels.json"
    return build


def _labels(text):
    def build(t, ctx):
        (t / "labels.json").write_text(text(json.loads((ctx["root"] / "test_labels.json").read_text())))
        return ctx["root"] / "test", t / "labels.json"
    return build


def _save(arr):
    return lambda p, t: np.save(p, arr)


def _nan_clip(v):
    x = np.zeros(120000, np.float32)
    x[123] = v
    return _save(x)


def _all_text(t, ctx):
    """Every clip of the test folder replaced by a text file: nothing usable."""
    d = copy_split(ctx["root"] / "test", t / "test")
    for f in d.glob("*.npy"):
        f.write_text("hello")
    return d, ctx["root"] / "test_labels.json"


INF, BOTH = ("inference.py",), ("inference.py", "finetune_mert.py")
TEST_LABELS = lambda t, c: c["root"] / "test_labels.json"   # noqa: E731

# (case id, scripts, write(bad clip path, tmp), why): one unusable clip among the test clips, through
# hw1/inference.py --test_dir --labels and, with those clips as the validation split, through hw1/finetune_mert.py.
# It is named in one warning, left out of predictions and metrics (or of its split), and counted in the results.
HW1_BAD_CLIPS = [
    ("npy-object-array-pickled", BOTH, lambda p, t: _pickled(p, t / "UNPICKLED"), "pickled (object) data"),
    ("npy-int16", INF, _save(np.zeros(120000, np.int16)), "dtype int16, not a float waveform"),
    ("npy-stereo-2d", BOTH, _save(np.zeros((2, 120000), np.float32)), "shape (2, 120000), not a 1-D mono waveform"),
    ("npy-nan", INF, _nan_clip(np.nan), "NaN or inf samples"),
    ("npy-inf", BOTH, _nan_clip(-np.inf), "NaN or inf samples"),
    ("npy-not-npy", INF, lambda p, t: p.write_text("hello"), "not a NumPy .npy file (bad header)"),
    ("npy-truncated", INF, lambda p, t: p.write_bytes(p.read_bytes()[:50000]), "truncated (50000 of"),
    ("npy-empty", INF, _save(np.zeros(0, np.float32)), "empty (0 samples)"),
]

# (case id, scripts, build(tmp, ctx) -> (clip dir, labels json), needles): not about one clip, so the run stops with
# one line; through hw1/inference.py --test_dir --labels and, as the validation split, through hw1/finetune_mert.py
HW1_CLIP_ERRORS = [
    ("npy-none-usable", BOTH, _all_text, ["none of the 5 clips", "is usable", "not a NumPy .npy file (bad header)",
                                          "float32 array of 120000 samples"]),
    ("clip-dir-missing", INF, lambda t, c: (t / "nope", TEST_LABELS(t, c)), ["nope", "clip folder not found"]),
    ("clip-dir-empty", INF, lambda t, c: (_empty_dir(t, c), TEST_LABELS(t, c)), ["no .npy clips found"]),
    ("labels-missing", INF, lambda t, c: (c["root"] / "test", t / "none.json"), ["none.json", "file not found"]),
    ("labels-invalid-json", INF, _labels(lambda d: json.dumps(d)[:-5]), ["labels.json", "not valid JSON"]),
    ("labels-top-level-list", INF, _labels(lambda d: json.dumps(list(d.values()))),
     ["labels.json", "expected a JSON object"]),
    ("labels-wrong-length", BOTH, _labels(lambda d: json.dumps({k: v[:8] for k, v in d.items()})),
     ["labels.json", "expected a list of 9 0/1 ints"]),
    ("labels-no-key-matches", BOTH, _labels(lambda d: json.dumps({"x" + k: v for k, v in d.items()})),
     ["labels.json", "no clip in", "keys must be '<name>.npy'"]),
]


def _as_validation(t, ctx, clip_dir, labels):
    """A copy of the tiny set whose validation split is the bad clip folder / labels file."""
    root = t / "root"
    root.mkdir()
    for s in ("train", "test"):
        os.symlink(ctx["root"] / s, root / s)
        os.symlink(ctx["root"] / f"{s}_labels.json", root / f"{s}_labels.json")
    if Path(clip_dir).exists():
        os.symlink(clip_dir, root / "validation")
    if Path(labels).exists():
        os.symlink(labels, root / "validation_labels.json")
    return root


@pytest.mark.parametrize("row,script", [pytest.param(r, script, id=f"{r[0]}-{script[:-3]}")
                                        for r in HW1_CLIP_ERRORS for script in r[1]])
def test_hw1_bad_clip_or_labels_is_one_line_error(hw1, tmp_path, row, script):
    case, _, build, needles = row
    clip_dir, labels = build(tmp_path, hw1)
    if script == "inference.py":
        proc = F.run(script, "--checkpoint", hw1["ckpt"], "--test_dir", clip_dir, "--labels", labels, "--out_dir",
                     tmp_path / "out", check=False)
    else:
        root = _as_validation(tmp_path, hw1, clip_dir, labels)
        renamed = {Path(labels).name: "validation_labels.json", Path(clip_dir).name: "validation"}
        needles = [renamed.get(n, n) for n in needles]
        proc = F.run(script, "--data_root", root, "--encoder", hw1["enc"], "--cache_dir", tmp_path / "cache",
                     "--epochs", "1", "--checkpoint", tmp_path / "x.pt", "--results_dir", tmp_path / "res", check=False)
    one_line_error(proc, *needles)
    assert not (tmp_path / "UNPICKLED").exists()       # the pickled clip was never unpickled
    assert not (tmp_path / "out" / "inference.json").exists()


@pytest.mark.parametrize("row,script", [pytest.param(r, script, id=f"{r[0]}-{script[:-3]}")
                                        for r in HW1_BAD_CLIPS for script in r[1]])
def test_hw1_bad_clip_is_named_excluded_and_the_metric_is_sklearns_on_the_rest(hw1, tmp_path, row, script):
    case, _, write, why = row
    clip_dir, labels = _clip(write)(tmp_path, hw1)
    bad = "Track00002_test.npy"
    if script == "inference.py":
        proc = ok(F.run(script, "--checkpoint", hw1["ckpt"], "--test_dir", clip_dir, "--labels", labels, "--out_dir",
                        tmp_path / "out", check=False))
        left_out_of, n_kept = "predictions and metrics", 4
        res = json.loads((tmp_path / "out" / "inference.json").read_text())
        assert (res["n"], res["n_predicted"], res["n_excluded"]) == (4, 4, 1)
        excluded = res["excluded"]
        assert "classification report on 4 labelled clips, 1 excluded as unusable" in proc.stdout
        rows = {r["file"]: r for r in read_csv(tmp_path / "out" / "predictions.csv")}
        assert sorted(rows) == sorted(f.name for f in clip_dir.glob("*.npy") if f.name != bad)
        truth = json.loads(labels.read_text())
        y = np.array([truth[k] for k in rows])
        pred = np.array([[int(r[f"pred_{c}"]) for c in res["class_names"]] for r in rows.values()])
        want = classification_report(y, pred, target_names=res["class_names"], zero_division=0, output_dict=True)
        for key in res["class_names"] + ["micro avg", "macro avg", "samples avg"]:
            assert res["report"][key] == pytest.approx(want[key]), key
    else:
        root = _as_validation(tmp_path, hw1, clip_dir, labels)
        proc = ok(F.run(script, "--data_root", root, "--encoder", hw1["enc"], "--cache_dir", tmp_path / "cache",
                        "--epochs", "1", "--checkpoint", tmp_path / "x.pt", "--results_dir", tmp_path / "res",
                        check=False))
        left_out_of, n_kept = "the validation split", 4
        counts = json.loads((tmp_path / "res" / "frozen.json").read_text())["data"]["counts"]["validation"]
        assert (counts["n"], counts["n_excluded"]) == (n_kept, 1)
        excluded = counts["excluded"]
    (warning,) = [ln for ln in proc.stdout.splitlines() if ln.startswith("warning:") and "unusable" in ln]
    assert "1 of 5 clips" in warning and f"excluded from {left_out_of}" in warning and f"{bad} ({why}" in warning
    assert list(excluded) == [bad] and excluded[bad].startswith(why)
    assert not (tmp_path / "UNPICKLED").exists()       # the pickled clip was never unpickled


def test_the_pickle_probe_is_live(tmp_path):
    """Guards the check above: loading the probe clip with allow_pickle=True does run its payload."""
    _pickled(tmp_path / "p.npy", tmp_path / "FIRED")
    np.load(tmp_path / "p.npy", allow_pickle=True)
    assert (tmp_path / "FIRED").is_dir()


def test_hw1_length_and_key_problems_are_counted_and_metric_is_sklearns(hw1, tmp_path):
    d = copy_split(hw1["root"] / "test", tmp_path / "test")
    np.save(d / "Track00001_test.npy", np.load(d / "Track00001_test.npy")[:70000])          # short: padded, scored
    np.save(d / "Track00003_test.npy", np.concatenate([np.load(d / "Track00003_test.npy")] * 2))   # long: trimmed
    np.save(d / "extra.npy", np.zeros(120000, np.float32))                                     # no label key
    labels = json.loads((hw1["root"] / "test_labels.json").read_text())
    labels["gone.npy"] = [1] + [0] * 8                                                         # key without clip
    (tmp_path / "labels.json").write_text(json.dumps(labels))
    proc = ok(F.run("inference.py", "--checkpoint", hw1["ckpt"], "--test_dir", d, "--labels", tmp_path / "labels.json",
                    "--out_dir", tmp_path / "out", check=False))
    assert "warning: 2 of 6 clips" in proc.stdout and "not 120000 samples" in proc.stdout
    assert "warning: 1 of 6 clips" in proc.stdout and "extra.npy" in proc.stdout
    assert "warning: 1 of 6 keys" in proc.stdout and "gone.npy" in proc.stdout
    res = json.loads((tmp_path / "out" / "inference.json").read_text())
    assert res["n"] == 5 and res["n_predicted"] == 6
    rows = {r["file"]: r for r in read_csv(tmp_path / "out" / "predictions.csv")}
    names = [k for k in labels if k != "gone.npy"]
    y = np.array([labels[k] for k in names])
    pred = np.array([[int(rows[k][f"pred_{c}"]) for c in res["class_names"]] for k in names])
    want = classification_report(y, pred, target_names=res["class_names"], zero_division=0, output_dict=True)
    for avg in ("micro avg", "macro avg", "samples avg"):
        assert res["report"][avg] == pytest.approx(want[avg]), avg
    assert res["report"]["macro avg"]["f1-score"] == pytest.approx(f1_score(y, pred, average="macro", zero_division=0))


# ---- HW1 checkpoints, encoders, devices ------------------------------------------------------------------------------

def _hw1_ckpt(edit):
    def build(t, ctx):
        c = torch.load(ctx["ckpt"], weights_only=True)
        edit(c)
        torch.save(c, t / "edited.pt")
        return t / "edited.pt", []
    return build


def _hw0_style_ckpt(t, ctx):
    torch.save({"state_dict": {}, "model_config": {}, "class_names": FAMILIES, "mel": {}}, t / "hw0.pt")
    return t / "hw0.pt", []


def _other_encoder(t, ctx):
    """Same layer count, other width: the head can't take its features."""
    from transformers import HubertConfig, HubertModel, Wav2Vec2FeatureExtractor
    d = t / "enc16"
    cfg = HubertConfig(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                       conv_dim=(16,) * 7, conv_stride=(5, 2, 2, 2, 2, 2, 2), conv_kernel=(10, 3, 3, 3, 3, 2, 2),
                       conv_bias=False, feat_extract_norm="group", num_conv_pos_embeddings=16,
                       num_conv_pos_embedding_groups=2, vocab_size=32)
    HubertModel(cfg).save_pretrained(d)
    Wav2Vec2FeatureExtractor(sampling_rate=24000, feature_size=1, do_normalize=True, padding_value=0.0,
                             return_attention_mask=False).save_pretrained(d)
    return ctx["ckpt"], ["--encoder", d]


# (case id, build(tmp, ctx) -> (checkpoint, extra args), needles)
HW1_CHECKPOINTS = [
    ("missing", lambda t, c: (t / "none.pt", []), ["none.pt", "not found", "hw1/finetune_mert.py"]),
    ("truncated", lambda t, c: (_truncate(c["ckpt"], t / "cut.pt", 3000), []), ["cut.pt", "not an HW1 checkpoint"]),
    ("hw0-checkpoint", _hw0_style_ckpt, ["hw0.pt", "not an HW1 checkpoint", "retrain with hw1/finetune_mert.py"]),
    ("thresholds-wrong-length", _hw1_ckpt(lambda c: c.update(thresholds=c["thresholds"][:5])),
     ["edited.pt", "5 thresholds for 9 classes"]),
    ("head-shapes-mismatch", _hw1_ckpt(lambda c: c.update(dim=64)), ["edited.pt", "size mismatch"]),
    ("no-pooling-key", _hw1_ckpt(lambda c: c.pop("pooling")), ["edited.pt", "pooling"]),
    ("encoder-of-other-width", _other_encoder, ["frozen.pt", "trained on an encoder with 2 layers of width 32",
                                                "has 2 of 16"]),
    ("encoder-missing", lambda t, c: (c["ckpt"], ["--encoder", t / "no_such_model"]),
     ["no_such_model", "folder not found", "hf download"]),
    ("device-cuda-without-gpu", lambda t, c: (c["ckpt"], ["--device", "cuda"]), ["no CUDA GPU", "--device cpu"]),
    ("device-not-a-device", lambda t, c: (c["ckpt"], ["--device", "tpu"]), ["--device tpu", "use cpu"]),
]


@pytest.mark.parametrize("row", params(HW1_CHECKPOINTS))
def test_hw1_bad_checkpoint_encoder_or_device_is_one_line_error(hw1, tmp_path, row):
    case, build, needles = row
    ckpt, extra = build(tmp_path, hw1)
    one_line_error(F.run("inference.py", "--checkpoint", ckpt, "--test_dir", hw1["root"] / "test", "--out_dir",
                         tmp_path / "out", *extra, check=False), *needles)


@NO_CUDA
def test_hw1_finetune_cuda_without_gpu(hw1, tmp_path):
    one_line_error(F.run("finetune_mert.py", "--data_root", hw1["root"], "--encoder", hw1["enc"], "--device", "cuda",
                         "--cache_dir", tmp_path / "c", "--checkpoint", tmp_path / "x.pt", check=False),
                   "no CUDA GPU", "--device cpu")


# ---- HW1 whole tracks and class maps ---------------------------------------------------------------------------------

def _course_maps(t, edit=None):
    U = F.load_hw1_utils()
    d = t / "maps"
    d.mkdir(exist_ok=True)
    maps = {"idx2instrument_class.json": dict(U.COURSE_PROGRAM_TO_CLASS),
            "MIDIClassName2class_idx.json": dict(U.COURSE_CLASS_TO_IDX),
            "class_idx2MIDIClass.json": dict(U.COURSE_IDX_TO_CLASS)}
    if edit:
        edit(maps)
    for name, m in maps.items():
        if m is not None:
            (d / name).write_text(json.dumps(m))
    return d


def _track(edit):
    def build(t, ctx):
        d = copy_split(ctx["track"], t / "track")
        edit(d)
        return d, []
    return build


def _track_audio(wav):
    def edit(d):
        (d / "Track00001.flac").unlink()
        sf.write(d / "Track00001.wav", wav, 24000, subtype="FLOAT")
    return edit


def _maps(edit):
    return lambda t, c: (c["track"], ["--class_map_dir", _course_maps(t, edit)])


# (case id, build(tmp, ctx) -> (track dir, extra args), needles); through hw1/inference.py --test_track_dir
HW1_TRACK_ERRORS = [
    ("track-dir-missing", lambda t, c: (t / "nope", []), ["nope", "folder not found", "TrackXXXXX.mid"]),
    ("track-dir-without-pairs", _track(lambda d: (d / "Track00001.mid").rename(d / "Other.mid")),
     ["no TrackXXXXX.flac with a TrackXXXXX.mid"]),
    ("track-audio-unreadable", _track(lambda d: (d / "Track00001.flac").write_bytes(b"fLaC junk")),
     ["Track00001.flac", "cannot read audio"]),
    ("track-audio-nan", _track(_track_audio(np.full(48000, np.nan, np.float32))), ["Track00001.wav", "NaN or inf",
                                                                                   "re-export"]),
    ("track-midi-unreadable", _track(lambda d: (d / "Track00001.mid").write_bytes(b"MThd junk")),
     ["Track00001.mid", "cannot read MIDI"]),
    ("classmap-file-missing", _maps(lambda m: m.update({"MIDIClassName2class_idx.json": None})),
     ["MIDIClassName2class_idx.json", "file not found"]),
    ("classmap-unknown-class", _maps(lambda m: m["idx2instrument_class.json"].update({"5": "Harpsichords"})),
     ["idx2instrument_class.json", "program 5 maps to 'Harpsichords'"]),
    ("classmap-programs-missing", _maps(lambda m: m["idx2instrument_class.json"].pop("128")),
     ["idx2instrument_class.json", "no class for MIDI programs [128]"]),
    ("classmap-index-not-int", _maps(lambda m: m.update({"MIDIClassName2class_idx.json": {"Piano": "0"}})),
     ["MIDIClassName2class_idx.json", "label index"]),
    ("classmap-is-a-list", _maps(lambda m: m.update({"idx2instrument_class.json": ["Piano"] * 129})),
     ["idx2instrument_class.json", "expected the course's JSON object"]),
]


@pytest.mark.parametrize("row", params(HW1_TRACK_ERRORS))
def test_hw1_bad_track_or_class_map_is_one_line_error(hw1, tmp_path, row):
    case, build, needles = row
    tdir, extra = build(tmp_path, hw1)
    one_line_error(F.run("inference.py", "--checkpoint", hw1["ckpt"], "--test_track_dir", tdir, "--out_dir",
                         tmp_path / "out", *extra, check=False), *needles)
    assert not (tmp_path / "out" / "tracks.json").exists()


def test_hw1_class_names_map_with_wrong_keys_is_one_line_error(hw1, tmp_path):
    maps = _course_maps(tmp_path, lambda m: m.update({"class_idx2MIDIClass.json": list(F.CLASS_NAMES)}))
    one_line_error(F.run("finetune_mert.py", "--data_root", hw1["root"], "--encoder", hw1["enc"], "--class_map_dir",
                         maps, "--cache_dir", tmp_path / "c", "--checkpoint", tmp_path / "x.pt", check=False),
                   "class_idx2MIDIClass.json", "keys '0'..'8'")


def test_hw1_course_typo_class_map_counts_wind_instruments(hw1, tmp_path):
    """The released map sends programs 109/111 to 'Wind instruments': a note, not an error, and they count."""
    import pretty_midi
    d = copy_split(hw1["track"], tmp_path / "track")
    pm = pretty_midi.PrettyMIDI(str(d / "Track00001.mid"))
    bagpipe = pretty_midi.Instrument(program=109)                         # Bagpipe: a "Wind instruments" program
    bagpipe.notes = [pretty_midi.Note(velocity=100, pitch=60, start=6.0, end=7.0)]
    pm.instruments.append(bagpipe)
    pm.write(str(d / "Track00001.mid"))
    maps = _course_maps(tmp_path)
    assert json.loads((maps / "idx2instrument_class.json").read_text())["109"] == "Wind instruments"
    proc = ok(F.run("inference.py", "--checkpoint", hw1["ckpt"], "--test_track_dir", d, "--class_map_dir", maps,
                    "--out_dir", tmp_path / "out", check=False))
    assert proc.stdout.count("note:") == 1 and "misspelt 'Wind instruments'" in proc.stdout
    (t,) = json.loads((tmp_path / "out" / "tracks.json").read_text())["tracks"]
    assert t["gt"][F.CLASS_NAMES.index("Wind Instruments")] == [0, 1, 0]


# ---------------------------------------------------------------------------------------------------------------------
# reports/make_report.py on broken results folders

REPORT_ERRORS = [
    ("results-json-invalid", lambda d: (d / "ml.json").write_text("{bad"), ["ml.json", "is not valid JSON", "re-run"]),
    ("results-json-is-a-list", lambda d: (d / "cnn_log.json").write_text("[1, 2]"),
     ["cnn_log.json", "expected a JSON object", "re-run"]),
    ("results-field-wrong-type", lambda d: (d / "cnn_log.json").write_text(json.dumps(
        {"name": "cnn_log", "val": "high", "test": {"top1": "0.5", "confusion_matrix": [[1, 2], [3]]}})),
     ["cnn_log.json", "does not follow the results schema", "re-run"]),
]


@pytest.mark.parametrize("row", params(REPORT_ERRORS))
def test_report_on_broken_results_is_one_line_error(tmp_path, row):
    case, write, needles = row
    (tmp_path / "res").mkdir()
    write(tmp_path / "res")
    one_line_error(run_script("reports/make_report.py", "--hw", "0", "--results_dir", tmp_path / "res", "--out",
                              tmp_path / "r.pdf", check=False), *needles)
    assert not (tmp_path / "r.pdf").exists()


def test_report_with_invalid_config_is_one_line_error(tmp_path):
    (tmp_path / "cfg.json").write_text("{name: me}")
    one_line_error(run_script("reports/make_report.py", "--hw", "1", "--results_dir", tmp_path, "--config",
                              tmp_path / "cfg.json", "--out", tmp_path / "r.pdf", check=False),
                   "cfg.json", "not valid JSON", "student_id")
