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


def test_leave_one_library_out_holds_out_each_sample_library_with_a_paired_baseline(tmp_path):
    """--lolo: each sample-library lineage (source:library) is held out once and scored through hw0/inference.py by
    a model trained on everything else; engine lineages are never held out; --lolo_folds packs libraries into folds;
    --baseline is scored on the same notes (paired test)."""
    data = tmp_path / "rendered"
    plan = [("fluid", ["bass", "flute", "guitar", "reed"]), ("sfz:liba", ["bass", "guitar"]),
            ("sfz:libb", ["reed"]), ("philharmonia:flute", ["flute"])]
    lineage_of, meta = {}, {}
    for k, (lineage, families) in enumerate(plan):
        names = make_nsynth(data / "train", families=families, pitches=(48, 60, 72), velocities=(100,), inst_idx=k,
                            seed=k, write_json=False)
        meta.update({n: dict(instrument_family=FAMILIES.index(n.rsplit("_", 2)[0]), instrument_str=n.rsplit("-", 2)[0])
                     for n in names})
        lineage_of.update({f"{f}_acoustic_{k:03d}": lineage for f in families})
    (data / "train" / "examples.json").write_text(json.dumps(meta))
    make_nsynth(data / "valid", families=["bass", "flute", "guitar", "reed"], pitches=(54, 66), velocities=(100,),
                inst_idx=7, seed=7)
    (data / "dataset_info.json").write_text(json.dumps(dict(
        provenance="test fixture", instruments={"train": {i: dict(lineage=lin) for i, lin in lineage_of.items()}})))
    run_script("hw0/train_ml.py", "--train_dir", data / "valid", "--valid_dir", data / "valid", "--models",
               "boosted_trees", "--name", "base", "--checkpoint_dir", tmp_path / "base", "--results_dir",
               tmp_path / "base", "--cache_dir", tmp_path / "cache")
    out = tmp_path / "selection.json"
    args = ["bench/hw0_select.py", "--data", data, "--work", tmp_path / "work", "--model", "ml", "--lolo",
            "--recipe", "hgb=--models boosted_trees", "--baseline", tmp_path / "base" / "base.joblib",
            "--skip_genuine", "--out", out]
    proc = run_script(*args)
    lolo = json.loads(out.read_text())["ml"]["hgb"]["lolo"]
    assert set(lolo["per_library"]) == {"sfz:liba", "sfz:libb", "philharmonia:flute"}
    assert {k: v["n"] for k, v in lolo["per_library"].items()} == {"sfz:liba": 6, "sfz:libb": 3,
                                                                    "philharmonia:flute": 3}
    assert lolo["pooled"]["n"] == 12 and lolo["pooled"]["top1_ci"][0] <= lolo["pooled"]["top1"] <= lolo["pooled"]["top1_ci"][1]
    assert {k: v["n"] for k, v in lolo["per_family"].items()} == {"bass": 3, "flute": 3, "guitar": 3, "reed": 3}
    assert lolo["vs_baseline"]["n"] == 12 and 0 <= lolo["vs_baseline"]["mcnemar_p"] <= 1
    for fold_name, members in lolo["folds"].items():          # trained without exactly the held-out library
        fold = tmp_path / "work" / "folds" / fold_name
        train_names = set(json.loads((fold / "train" / "examples.json").read_text()))
        held = set(json.loads((fold / "heldout" / "examples.json").read_text()))
        assert {lineage_of[n.rsplit("-", 2)[0]] for n in held} == set(members) and not train_names & held
        assert len(train_names) + len(held) == 24
    assert "leave-one-library-out top-1" in proc.stdout and "vs baseline" in proc.stdout
    packed = run_script(*args[:-2], "--lolo_folds", "2", "--out", tmp_path / "packed.json")
    folds = json.loads((tmp_path / "packed.json").read_text())["ml"]["hgb"]["lolo"]["folds"]
    assert sorted(len(m) for m in folds.values()) == [1, 2] and "held out" in packed.stdout
    assert sorted(sum(folds.values(), [])) == ["philharmonia:flute", "sfz:liba", "sfz:libb"]
