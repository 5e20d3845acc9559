"""HW0 domain-randomisation augmentations (hw0/augment.py: bands, mixstyle, famix, resample, tilt, decay) on real log-mel
tensors, the source groups they pair notes by, and train_cnn.py running with them."""
import csv
import json
import math
import shutil
import sys

import librosa
import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import FAMILIES, ROOT, make_nsynth, note_audio, run_script

sys.path.insert(0, str(ROOT / "hw0"))      # as train_cnn.py imports them
import augment  # noqa: E402
import utils  # noqa: E402

MEL = dict(utils.MEL_DEFAULTS, n_fft=1024, hop_length=512, n_mels=64)
DB = math.log(10) / 10                      # dB -> natural-log power
NEW_KINDS = ["bands", "mixstyle", "famix", "resample", "tilt", "decay"]
SILENCE = math.log(1e-10)                   # what log_mel gives digital silence


@pytest.fixture(scope="module")
def batch():
    """Log-mel of 12 rendered notes (6 families x 2 pitches) as the cache holds them, with labels and 3 groups."""
    rng = np.random.default_rng(0)
    families = ["bass", "flute", "guitar", "organ", "reed", "vocal"]
    audio = np.stack([note_audio(f, p, 100, rng) for f in families for p in (48, 67)]).astype(np.float32)
    x = utils.log_mel(audio, MEL).half().float()
    labels = torch.tensor([FAMILIES.index(f) for f in families for _ in (48, 67)])
    return x, labels, torch.arange(12) % 3


def tone(bins, M=64, T=126, floor=-20.0):
    """One note per entry: a single bright mel bin (0) over a floor, all frames."""
    x = torch.full((len(bins), M, T), floor)
    x[torch.arange(len(bins)), torch.tensor(bins)] = 0.0
    return x


@pytest.mark.parametrize("kind", NEW_KINDS)
def test_new_kinds_keep_shape_dtype_and_finite_values(batch, kind):
    x, labels, groups = batch
    torch.manual_seed(0)
    out = augment.augment(x, [kind], MEL, labels=labels, groups=groups, p=1.0)
    assert out.shape == x.shape and out.dtype == torch.float32 and torch.isfinite(out).all()
    assert (out - x).abs().amax() > 0.1                     # it did something
    assert augment.augment(x, [kind], MEL, labels=labels, groups=groups, p=0.0).equal(x)   # p = 0: untouched
    out16 = augment.augment(x.half(), [kind], MEL, labels=labels, groups=groups)           # the cache's float16
    assert out16.dtype == torch.float32 and torch.isfinite(out16).all()


def test_bands_is_a_piecewise_gain_within_6_db():
    torch.manual_seed(1)
    x = torch.full((64, 64, 126), -5.0)
    gain_db = (augment.augment(x, ["bands"], MEL, p=1.0) - x) / DB
    assert (gain_db - gain_db[:, :, :1]).abs().amax() < 1e-4          # the same gain in every frame
    curve = gain_db[:, :, 0]
    assert curve.abs().amax() <= 6 + 1e-3 and (curve.abs().amax(1) > 0.1).all()
    # step or linear between at most 6 band centres: few kinks, unlike a smooth curve or noise (62 per note)
    kinks = (curve.diff(n=2, dim=1).abs() > 1e-3).sum(1)
    assert kinks.max() <= 12
    step = augment.band_eq_db(200, 64, variant="step")
    runs = 1 + (step.diff(dim=1).abs() > 0).sum(1)
    assert runs.max() <= 6 and runs.float().mean() > 3 and step.abs().max() <= 6
    linear = augment.band_eq_db(200, 64, variant="linear")
    assert (1 + (linear.diff(dim=1).abs() > 1e-6).sum(1)).float().mean() > 20   # ramps, not a few steps
    assert (linear.diff(n=2, dim=1).abs() > 1e-4).sum(1).max() <= 12 and linear.abs().max() <= 6


def test_tilt_is_a_straight_line_over_octaves_on_the_sounding_note_only():
    octaves = np.log2(utils.mel_bin_hz(64, MEL["fmin"], MEL["fmax"]) / 1000.0)
    # loudest near 1 kHz and falling away from it, as real notes are, so no bin reaches the 12 dB range limit
    shape = -5.0 - 0.25 * (torch.arange(64) - int(np.argmin(np.abs(octaves)))).abs().float()
    x = shape[None, :, None].repeat(32, 1, 126)
    x[:, :, 100:] = SILENCE                                           # the note ends in digital silence
    torch.manual_seed(2)
    out = augment.augment(x, ["tilt"], MEL, p=1.0)
    assert out[:, :, 100:].equal(x[:, :, 100:])                       # no gain on silence
    gain_db = ((out - x) / DB)[:, :, :100]
    assert (gain_db - gain_db[:, :, :1]).abs().amax() < 1e-4          # the same in every sounding frame
    away = np.abs(octaves) > 0.25                                     # (a ratio near 1 kHz is 0 / 0)
    slope = gain_db[:, away, 0] / torch.from_numpy(octaves[away]).float()   # dB per octave, one per note
    assert (slope - slope[:, :1]).abs().amax() < 1e-3
    assert slope[:, 0].min() >= -3 - 1e-3 and slope[:, 0].max() <= 6 + 1e-3 and slope[:, 0].std() > 1
    assert gain_db[:, -1, 0].amax() > 9                               # 3 octaves above 1 kHz: up to +18 dB


def test_decay_fades_the_held_note_and_silences_the_release():
    t = np.arange(126) * MEL["hop_length"] / MEL["sr"]
    x = torch.full((32, 64, 126), -5.0)
    torch.manual_seed(6)
    out = augment.augment(x, ["decay"], MEL, p=1.0)
    for note in out:
        silent = (note == SILENCE).all(0).numpy()
        cut = int(np.argmax(silent))                                  # the release from here on is silence
        assert silent[cut:].all() and not silent[:cut].any() and 3.0 <= t[cut] <= 3.6 + 0.04
        gain_db = ((note[:, :cut] - x[0, :, :cut]) / DB)
        assert (gain_db - gain_db[:1]).abs().amax() < 1e-4            # the same in every bin
        fade = gain_db[0].numpy()
        held = t[:cut] <= 3.0
        assert np.all(np.diff(fade[held]) <= 1e-4) and -20 - 1e-3 <= fade.min() <= 0 and fade[0] == 0
        # a straight line over the 3 s hold, flat after it
        assert np.allclose(fade[held], fade[held][-1] * t[:cut][held] / t[:cut][held][-1], atol=0.2)
        assert np.allclose(fade[~held], fade.min(), atol=1e-3)
    assert augment.augment(x, ["decay"], MEL, p=0.0).equal(x)


def test_mixstyle_mixes_per_bin_stats_of_two_notes_and_keeps_labels(batch):
    x, labels, _ = batch
    pair, pair_labels = x[[0, 6]], labels[[0, 6]].clone()        # bass and organ, one source group each
    torch.manual_seed(3)
    out = augment.augment(pair, ["mixstyle"], MEL, labels=pair_labels, groups=torch.tensor([0, 1]), p=1.0)
    assert pair_labels.equal(labels[[0, 6]])
    mu, sd = pair.mean(2), pair.std(2, unbiased=False)
    mu_out, sd_out = out.mean(2), out.std(2, unbiased=False)
    # bins that the 12 dB range limit (test_augmented_notes_stay_within_12_db_of_their_own_range) left alone
    lo, hi = pair.amin(dim=(1, 2)) - 12 * DB, pair.amax(dim=(1, 2)) + 12 * DB
    free = ((out > lo[:, None, None] + 1e-4) & (out < hi[:, None, None] - 1e-4)).all(2)
    assert free.float().mean() > 0.5
    for i, j in ((0, 1), (1, 0)):
        f = free[i]
        assert (mu_out[i][f] >= torch.minimum(mu[i], mu[j])[f] - 1e-3).all()
        assert (mu_out[i][f] <= torch.maximum(mu[i], mu[j])[f] + 1e-3).all()
        assert (sd_out[i][f] >= torch.minimum(sd[i], sd[j])[f] - 1e-3).all()
        assert (sd_out[i][f] <= torch.maximum(sd[i], sd[j])[f] + 1e-3).all()
        # one mixing weight lambda in (0, 1) for all bins, for the mean and the std alike
        far = ((mu[i] - mu[j]).abs() > 1) & f
        lam = (mu_out[i] - mu[j])[far] / (mu[i] - mu[j])[far]
        assert 0 < lam.mean() < 1 and lam.std() < 1e-3
        far = ((sd[i] - sd[j]).abs() > 0.5) & f
        assert ((sd_out[i] - sd[j])[far] / (sd[i] - sd[j])[far] - lam.mean()).abs().max() < 1e-3
    assert (out - pair).abs().amax() > 0.5


def test_augmented_notes_stay_within_12_db_of_their_own_range(batch):
    """MixStyle re-scales a bin's spread by partner / own: a near-constant bin given a wide-spread partner's style
    would rise by 100+ dB, and exp() of that is inf for --no_log input (it was: NaN loss in the first epoch)."""
    T = 126
    still = -20.0 + 0.01 * torch.randn(1, 64, T)                     # a note of near-constant bins
    wide = torch.where(torch.arange(T) % 2 == 0, -20.0, 5.0).expand(1, 64, T).clone()   # 25 ln units of spread
    x = torch.cat([still, wide])
    for seed in range(10):
        torch.manual_seed(seed)
        out = augment.augment(x, ["mixstyle"], MEL, groups=torch.tensor([0, 1]), p=1.0)
        assert (out.amax(dim=(1, 2)) <= x.amax(dim=(1, 2)) + 12 * DB + 1e-4).all()
        assert (out.amin(dim=(1, 2)) >= x.amin(dim=(1, 2)) - 12 * DB - 1e-4).all()
    assert (out[0] - still[0]).abs().amax() > 1                      # still restyled, just bounded
    x, labels, groups = batch
    torch.manual_seed(0)
    out = augment.augment(x, NEW_KINDS + ["gain"], MEL, labels=labels, groups=groups, p=1.0)
    assert (out.amax(dim=(1, 2)) <= x.amax(dim=(1, 2)) + 12 * DB + 1e-4).all()
    assert torch.isfinite(utils.model_input(out, False, torch.zeros(64), torch.ones(64))).all()


def test_partners_come_from_another_group_where_there_is_one():
    torch.manual_seed(4)
    groups, labels = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2]), torch.tensor([3, 3, 5, 3, 5, 5, 7, 7])
    for _ in range(20):
        partner, found = augment.pick_partners(groups)
        assert found.all() and (groups[partner] != groups).all()
        partner, found = augment.pick_partners(groups, same=labels)
        assert (labels[partner] == labels).all() and found.all() and (partner != torch.arange(8)).all()
        assert (groups[partner] != groups)[:6].all()            # a same-family partner in another group exists
        assert partner[6:].tolist() == [7, 6]                    # family 7 lives in group 2 only: same group then
    partner, found = augment.pick_partners(torch.tensor([0, 0]), same=torch.tensor([1, 2]))
    assert not found.any() and partner.tolist() == [0, 1]       # no partner: the note itself


def test_famix_adds_a_same_family_note_from_another_group_never_itself():
    bins = [5, 13, 21, 29, 37, 45]
    labels, groups = torch.tensor([0, 0, 0, 1, 1, 2]), torch.tensor([0, 1, 1, 0, 1, 0])
    x = tone(bins)
    seen_for_0 = set()
    torch.manual_seed(5)
    for _ in range(20):
        out = augment.augment(x, ["famix"], MEL, labels=labels, groups=groups, p=1.0)
        for i in range(6):
            bright = [j for j, b in enumerate(bins) if out[i, b, 0] > -19]
            assert out[i, bins[i], 0] >= 0 and i in bright            # its own note is kept
            others = [j for j in bright if j != i]
            if i == 5:                                                # the only note of its family: unchanged
                assert others == [] and out[i].equal(x[i])
                continue
            assert len(others) == 1
            j = others[0]
            assert labels[j] == labels[i] and groups[j] != groups[i]
            assert -12 - 1e-3 <= out[i, bins[j], 0] / DB <= 1e-3       # added 0..12 dB down
            if i == 0:
                seen_for_0.add(j)
    assert seen_for_0 == {1, 2}                                       # a random partner among the allowed ones


def test_resample_up_an_octave_moves_a_tone_up_and_halves_its_length():
    hz = librosa.mel_frequencies(MEL["n_mels"] + 2, fmin=MEL["fmin"], fmax=MEL["fmax"])[1:-1]
    x = tone([20])
    up = utils.resample_mel(x, torch.tensor([12.0]), MEL)[0]
    expected = int(np.argmin(np.abs(hz - 2 * hz[20])))                # about 15 bins up at this height
    assert expected - 20 > 10 and abs(int(up[:, 0].argmax()) - expected) <= 1
    sounding = (up.amax(0) > -19).sum()
    assert abs(int(sounding) - 63) <= 2                               # 4 s played twice as fast: 2 s, then silence
    down = utils.resample_mel(x, torch.tensor([-12.0]), MEL)[0]
    expected = int(np.argmin(np.abs(hz - hz[20] / 2)))
    assert abs(int(down[:, 0].argmax()) - expected) <= 1 and (down.amax(0) > -19).all()
    assert down[-5:].amax() <= -20 + 1e-4                             # nothing above fmax / 2: silence up there
    semi = utils.resample_mel(x, torch.tensor([1.0]), MEL)[0]         # one semitone: a fraction of a bin
    assert 20 <= int(semi[:, 0].argmax()) <= 21


def write_info(root, lineage_of):
    (root / "dataset_info.json").write_text(json.dumps(dict(
        provenance="test fixture", instruments={"train": {k: dict(lineage=v) for k, v in lineage_of.items()}})))


def test_source_groups_from_dataset_info_then_examples_json_then_instrument(tmp_path):
    split = tmp_path / "data" / "train"
    names = make_nsynth(split, families=["bass", "organ"], pitches=(48, 60), velocities=(100,))
    names += make_nsynth(split, families=["bass"], pitches=(48,), velocities=(100,), inst_idx=1, write_json=False)
    paths = [split / "audio" / f"{n}.wav" for n in names]

    # 1. no dataset_info.json: examples.json's instrument_source where listed, else the instrument
    meta = json.loads((split / "examples.json").read_text())
    for k in meta:
        meta[k]["instrument_source"] = 2 if k.startswith("organ") else 0
    (split / "examples.json").write_text(json.dumps(meta))
    ids, group_names = augment.source_groups(paths, split)
    assert [group_names[i] for i in ids] == ["instrument_source 0"] * 2 + ["instrument_source 2"] * 2 + \
        ["instrument bass_acoustic_001"]
    # 2. the renderer's dataset_info.json one level above the split: lineages
    write_info(tmp_path / "data", {"bass_acoustic_000": "fluid", "organ_acoustic_000": "opl3",
                                   "bass_acoustic_001": "opl3"})
    ids, group_names = augment.source_groups(paths, split / "audio")
    assert group_names == ["lineage fluid", "lineage opl3"] and ids.tolist() == [0, 0, 1, 1, 1]
    # 3. neither: the instrument
    (tmp_path / "data" / "dataset_info.json").unlink()
    (split / "examples.json").unlink()
    ids, group_names = augment.source_groups(paths, split)
    assert group_names == ["instrument bass_acoustic_000", "instrument bass_acoustic_001",
                           "instrument organ_acoustic_000"] and ids.tolist() == [0, 0, 2, 2, 1]


def test_train_cnn_with_the_new_augmentations(nsynth_root, tmp_path):
    """Two instruments per family from two lineages: mixstyle / famix find partners in the other one."""
    train = tmp_path / "data" / "train"
    for k in (0, 1):
        make_nsynth(train, pitches=(48, 72), velocities=(100,), inst_idx=k, seed=k, write_json=False)
    write_info(tmp_path / "data", {f"{f}_acoustic_00{k}": ("fluid", "opl3")[k] for f in FAMILIES for k in (0, 1)})
    common = ["hw0/train_cnn.py", "--train_dir", train, "--valid_dir", nsynth_root / "nsynth-valid", "--width", "8",
              "--n_blocks", "3", "--batch_size", "16", "--epochs", "1", "--cache_dir", tmp_path / "cache",
              "--augment", ",".join(NEW_KINDS), "--augment_p", "0.8"]
    proc = run_script(*common, "--checkpoint_dir", tmp_path / "a", "--results_dir", tmp_path / "ra")
    assert "source groups for mixstyle/famix: 2 (lineage fluid, lineage opl3)" in proc.stdout
    summary = json.loads((tmp_path / "ra" / "cnn_log.json").read_text())
    assert summary["recipe"]["augment"] == NEW_KINDS and summary["recipe"]["augment_p"] == 0.8
    assert len(summary["history"]) == 1 and math.isfinite(summary["history"][0]["train_loss"])
    # the augmentation draws from the global torch RNG: the same run with DataLoader workers gives the same weights
    run_script(*common, "--checkpoint_dir", tmp_path / "b", "--results_dir", tmp_path / "rb", "--workers", "2")
    a = torch.load(tmp_path / "a" / "cnn_log.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "b" / "cnn_log.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)

    # linear mel input (--no_log) trains on the same augmented notes with a finite loss
    run_script(*common, "--no_log", "--checkpoint_dir", tmp_path / "d", "--results_dir", tmp_path / "rd")
    assert math.isfinite(json.loads((tmp_path / "rd" / "cnn_nolog.json").read_text())["history"][0]["train_loss"])

    bad = run_script(*common, "--augment", "bands,wobble", "--checkpoint_dir", tmp_path / "c", check=False)
    assert bad.returncode != 0 and "unknown kind(s) ['wobble']" in bad.stderr and "Traceback" not in bad.stderr


def test_train_cnn_stops_with_a_message_when_the_loss_turns_non_finite(nsynth_root, tmp_path):
    """An absurd learning rate blows the weights up within the first epoch: the run must stop, say why and what to
    change, and leave no checkpoint behind (never a silently unusable model)."""
    proc = run_script("hw0/train_cnn.py", "--train_dir", nsynth_root / "nsynth-train", "--valid_dir",
                      nsynth_root / "nsynth-valid", "--width", "8", "--n_blocks", "3", "--batch_size", "16",
                      "--epochs", "2", "--lr", "1e30", "--cache_dir", tmp_path / "cache",
                      "--checkpoint_dir", tmp_path / "ck", "--results_dir", tmp_path / "res", check=False)
    assert proc.returncode != 0 and "training loss became" in proc.stderr and "--lr" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "ck" / "cnn_log.pt").exists()


def test_peak_norm_input_does_not_depend_on_recording_level(batch, tmp_path):
    """--peak_norm: a gain is a constant shift of log-mel, and the note's loudest bin is set to 0 dB first, so the
    network input is the same for a note at any level (log and linear mel alike); without it the input moves."""
    x, _, _ = batch
    mean, std = x.mean(dim=(0, 2)), x.std(dim=(0, 2)) + 1e-5
    for log_input in (True, False):
        a = utils.model_input(x, log_input, mean, std, peak_norm=True)
        b = utils.model_input(x - 12 * DB, log_input, mean, std, peak_norm=True)       # 12 dB quieter
        assert (a - b).abs().amax() < 0.05 * a.abs().amax()                        # float16 rounding only
    plain = utils.model_input(x, True, mean, std), utils.model_input(x - 12 * DB, True, mean, std)
    assert torch.allclose(plain[0] - plain[1], (12 * DB / std)[:, None].expand_as(plain[0]), atol=0.02)   # a shift
    # the statistics are those of the peak-normalised input: standardised, it has mean 0 and std 1 per bin
    np.save(tmp_path / "rows.npy", x.half().numpy())
    m, s = utils.mel_stats(tmp_path / "rows.npy", np.arange(len(x)), True, peak_norm=True)
    z = utils.model_input(x, True, m, s, peak_norm=True)
    assert z.mean(dim=(0, 2)).abs().amax() < 1e-2 and ((z.std(dim=(0, 2)) - 1).abs() < 0.05).all()


def test_train_cnn_peak_norm_is_kept_in_the_checkpoint_and_used_by_inference(nsynth_root, tmp_path):
    """A --peak_norm model says so in its checkpoint and results, and inference applies it: the same notes 12 dB
    quieter get the same predictions."""
    run_script("hw0/train_cnn.py", "--train_dir", nsynth_root / "nsynth-train", "--valid_dir",
               nsynth_root / "nsynth-valid", "--width", "8", "--n_blocks", "3", "--batch_size", "16", "--epochs", "1",
               "--peak_norm", "--cache_dir", tmp_path / "cache", "--checkpoint_dir", tmp_path / "ck",
               "--results_dir", tmp_path / "res")
    ckpt = torch.load(tmp_path / "ck" / "cnn_log.pt", weights_only=True)
    assert ckpt["peak_norm"] is True
    assert json.loads((tmp_path / "res" / "cnn_log.json").read_text())["recipe"]["peak_norm"] is True
    quiet = tmp_path / "quiet"
    (quiet / "audio").mkdir(parents=True)
    for wav in sorted((nsynth_root / "nsynth-valid" / "audio").glob("*.wav")):
        y, sr = sf.read(wav, dtype="float32")
        sf.write(quiet / "audio" / wav.name, y * 10 ** (-12 / 20), sr, subtype="PCM_16")
    shutil.copy(nsynth_root / "nsynth-valid" / "examples.json", quiet / "examples.json")
    probs = []
    for folder, out in ((nsynth_root / "nsynth-valid", tmp_path / "o1"), (quiet, tmp_path / "o2")):
        run_script("hw0/inference.py", "--test_dir", folder, "--checkpoint", tmp_path / "ck" / "cnn_log.pt",
                   "--out_dir", out)
        rows = list(csv.DictReader(open(out / "predictions_cnn_log.csv")))
        probs.append({r["file"]: {r[f"pred{k}"]: float(r[f"prob{k}"]) for k in (1, 2, 3)} for r in rows})
    assert probs[0].keys() == probs[1].keys() and len(probs[0]) > 10
    for name, top in probs[0].items():
        other = probs[1][name]
        assert max(abs(p - other.get(f, 0.0)) for f, p in top.items()) < 0.02, name


def test_pitch_aligned_puts_every_notes_harmonics_in_the_same_bins():
    """The same harmonic timbre at MIDI 48, 55, 60 and 67 (real log-mel): unaligned, harmonic 1 sits in four
    different bins; aligned to MIDI 72, harmonics 1-3 of every note land within a bin of 523, 1047 and 1568 Hz, and
    the time axis is untouched. (Lower, the 64-bin mel no longer resolves the fundamental: MIDI 36 lands 3 bins
    low.)"""
    hz = utils.mel_bin_hz(MEL["n_mels"], MEL["fmin"], MEL["fmax"])
    t = np.arange(utils.N_SAMPLES) / utils.SR
    pitches = [48, 55, 60, 67]
    audio = np.stack([sum(np.sin(2 * np.pi * k * 440 * 2 ** ((p - 69) / 12) * t) / k for k in (1, 2, 3))
                      * np.exp(-t) for p in pitches]).astype(np.float32)
    x = utils.log_mel(audio, MEL)
    aligned = utils.pitch_aligned(x, torch.tensor(pitches), MEL, 72)
    assert aligned.shape == x.shape
    profile, raw = aligned[:, :, 10:60].mean(2), x[:, :, 10:60].mean(2)
    assert len({int(b) for b in raw.argmax(1)}) == 4
    for k in (1, 2, 3):
        want = int(np.argmin(np.abs(hz - k * 523.25)))
        for n in range(4):
            assert abs(int(profile[n, want - 3:want + 4].argmax()) - 3) <= 1, (k, pitches[n])
    # time untouched: the aligned peak decays frame by frame as the note does (-1 nepers per s: 0.032 per frame)
    assert torch.allclose(aligned.amax(1)[:, 5:90].diff(), x.amax(1)[:, 5:90].diff(), atol=0.005)
    # unknown pitch (-1): left where it is
    assert utils.pitch_aligned(x[:1], torch.tensor([-1]), MEL, 72).allclose(x[:1], atol=1e-4)


def test_resample_augmentation_reports_the_moved_pitch_and_alignment_undoes_it():
    """augment(..., pitches=) returns each note's pitch after "resample": aligning the augmented note with that pitch
    puts its fundamental where aligning the original puts it."""
    t = np.arange(utils.N_SAMPLES) / utils.SR
    audio = np.stack([sum(np.sin(2 * np.pi * k * 440 * 2 ** ((p - 69) / 12) * t) / k for k in (1, 2))
                      for p in (45, 50, 55, 60)]).astype(np.float32)
    x = utils.log_mel(audio, MEL)
    pitches = torch.tensor([45, 50, 55, 60])
    torch.manual_seed(3)
    out, moved = augment.augment(x, ["resample"], MEL, p=1.0, pitches=pitches)
    shift = moved - pitches
    assert ((shift.abs() >= 1) & (shift.abs() <= 12)).all()        # every note moved by 1-12 semitones
    before = utils.pitch_aligned(x, pitches, MEL, 72)[:, :, 5:30].mean(2).argmax(1)
    after = utils.pitch_aligned(out, moved, MEL, 72)[:, :, 5:30].mean(2).argmax(1)
    assert (before - after).abs().max() <= 1
    assert augment.augment(x, ["bands"], MEL, p=1.0, pitches=pitches)[1].equal(pitches.float())   # others keep it


def test_spec_mask_masks_the_same_bins_and_frames_in_both_channels():
    torch.manual_seed(0)
    x = torch.randn(32, 2, 64, 126) + 5.0                         # nothing is exactly 0 before masking
    masked = augment.spec_mask(x) == 0
    assert masked[:, 0].equal(masked[:, 1]) and masked.any()
    assert (masked[:, 0].all(2).sum(1) <= 8).all() and (masked[:, 0].all(1).sum(1) <= 16).all()


def test_rfn_removes_what_a_recording_chain_imprints_per_frequency():
    """--rfn (relaxed instance frequency-wise normalisation after the first conv block): a per-frequency gain and
    offset on that block's feature map, which is what a sample library's colouring looks like there, leaves the
    output unchanged at rfn 1, changes it partly at 0.5 and fully without it; rfn 0 is the network as before."""
    from hw0.model import NoteCNN

    class PerFrequencyAffine(torch.nn.Module):
        def forward(self, h):                               # [B, C, F, T]: each frequency row its own gain, offset
            f = torch.arange(h.shape[2], dtype=h.dtype)[None, None, :, None]
            return h * (1.5 + torch.sin(f)) + torch.cos(3 * f)

    x = torch.randn(4, 64, 126)
    change = {}
    for rfn in (0.0, 0.5, 1.0):
        torch.manual_seed(0)
        model = NoteCNN(width=8, n_blocks=3, rfn=rfn).eval()
        with torch.no_grad():
            before = model.embed(x)
            model.blocks[0] = torch.nn.Sequential(model.blocks[0], PerFrequencyAffine())
            after = model.embed(x)
        change[rfn] = ((after - before).norm() / before.norm()).item()
    assert change[1.0] < 1e-4 and change[0.5] > 1e-2 and change[0.0] > change[0.5]
    torch.manual_seed(0)
    plain = NoteCNN(width=8, n_blocks=3).eval()
    torch.manual_seed(0)
    off = NoteCNN(width=8, n_blocks=3, rfn=0.0).eval()
    assert plain.state_dict().keys() == off.state_dict().keys()          # old checkpoints load unchanged
    with torch.no_grad():
        assert torch.equal(plain(x), off(x))

