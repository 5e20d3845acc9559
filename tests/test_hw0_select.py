"""bench/hw0_select.py: leave-one-source-out folds and the genuine-notes score, through the CLI on fixture notes
(the 'genuine' folder here is a fixture split standing in for shared/realdata)."""
import json

from conftest import FAMILIES, make_nsynth, run_script


def test_select_holds_out_each_lineage_and_scores_the_real_folder(tmp_path):
    data = tmp_path / "rendered"
    lineage_of, meta = {}, {}
    for k, lineage in enumerate(["fluid", "fluid", "zyn"]):       # two instruments of one lineage, one of another
        names = make_nsynth(data / "train", pitches=(48, 72), velocities=(100,), inst_idx=k, seed=k, write_json=False)
        meta.update({n: dict(instrument_family=FAMILIES.index(n.rsplit("_", 2)[0]), instrument_str=n.rsplit("-", 2)[0])
                     for n in names})
        lineage_of.update({f"{f}_acoustic_{k:03d}": lineage for f in FAMILIES})
    (data / "train" / "examples.json").write_text(json.dumps(meta))
    make_nsynth(data / "valid", pitches=(60,), velocities=(100,), inst_idx=3, seed=3)
    real = make_nsynth(tmp_path / "real", pitches=(48,), velocities=(127,), inst_idx=4, seed=4)
    (data / "dataset_info.json").write_text(json.dumps(dict(
        provenance="test fixture", instruments={"train": {i: dict(lineage=lin) for i, lin in lineage_of.items()}})))
    out = tmp_path / "selection.json"
    args = ["bench/hw0_select.py", "--data", data, "--work", tmp_path / "work", "--model", "ml",
            "--recipe", "hgb=--models boosted_trees", "--real", tmp_path / "real", "--min_group_notes", "10",
            "--out", out]
    proc = run_script(*args)
    row = json.loads(out.read_text())["ml"]["hgb"]
    assert set(row["loso"]) == {"fluid", "zyn"}
    assert row["loso"]["fluid"]["n"] == 44 and row["loso"]["zyn"]["n"] == 22
    assert row["loso_worst"] in ("fluid", "zyn")
    assert row["loso_mean_top1"] == round((row["loso"]["fluid"]["top1"] + row["loso"]["zyn"]["top1"]) / 2, 4)
    assert row["genuine"]["n"] == len(real) == 11 and 0 <= row["genuine"]["top1"] <= row["genuine"]["top3"] <= 1
    # each fold trains only on the other lineage and is scored on exactly the held-out one
    for group, n_train, n_held in (("fluid", 22, 44), ("zyn", 44, 22)):
        fold = tmp_path / "work" / "folds" / group
        train_names = set(json.loads((fold / "train" / "examples.json").read_text()))
        held_names = set(json.loads((fold / "heldout" / "examples.json").read_text()))
        assert (len(train_names), len(held_names)) == (n_train, n_held) and not train_names & held_names
        assert all(lineage_of[n.rsplit("-", 2)[0]] == group for n in held_names)
    assert "genuine NSynth top-1" in proc.stdout and "held out zyn" in proc.stdout
    # a rerun with the same arguments reuses every run; a new recipe adds a row beside it
    again = run_script(*args)
    assert "notes): top-1" not in again.stdout and "genuine NSynth top-1" not in again.stdout
    assert json.loads(out.read_text())["ml"]["hgb"] == row
    # a cheaper LOSO screen: seeded subsets of the other lineages per fold; the folds are redone, the genuine score
    # (a training on the whole split, whose arguments did not change) is kept
    cheap = run_script(*args, "--loso_notes", "15", "--loso_args", "--fit_cap 15")
    screened = json.loads(out.read_text())["ml"]["hgb"]
    assert "held out zyn" in cheap.stdout and "genuine NSynth top-1" not in cheap.stdout
    assert screened["loso_notes"] == 15 and screened["loso_args"] == "--fit_cap 15"
    assert screened["genuine"] == row["genuine"] and set(screened["loso"]) == {"fluid", "zyn"}
    for group in ("fluid", "zyn"):
        fold = tmp_path / "work" / "folds" / f"{group}_n15"
        train_names = json.loads((fold / "train" / "examples.json").read_text())
        assert len(train_names) == 15 and all(lineage_of[n.rsplit("-", 2)[0]] != group for n in train_names)
        assert "--fit_cap" in (tmp_path / "work" / "results" / f"hgb_without_{group}.json").read_text()


def test_select_refuses_an_unknown_group(tmp_path):
    data = tmp_path / "rendered"
    make_nsynth(data / "train", families=["bass", "flute"], pitches=(48,), velocities=(100,))
    (data / "dataset_info.json").write_text(json.dumps(dict(instruments={"train": {
        "bass_acoustic_000": dict(lineage="fluid"), "flute_acoustic_000": dict(lineage="fluid")}})))
    proc = run_script("bench/hw0_select.py", "--data", data, "--work", tmp_path / "w", "--model", "ml",
                      "--recipe", "a=", "--real", data / "train", "--groups", "stk", check=False)
    assert proc.returncode != 0 and "--groups stk: no such lineage" in proc.stderr and "Traceback" not in proc.stderr
