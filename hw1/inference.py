"""HW1 inference: 9-class instrument activity with a trained MERT probe (or fine-tuned MERT).

  python hw1/inference.py --test_dir data/slakh/test --labels data/slakh/test_labels.json   # report + CSV
  python hw1/inference.py --test_dir data/slakh/test      # labels found next to it: data/slakh/test_labels.json
  python hw1/inference.py --test_dir some/clips           # no <split>_labels.json beside it: predictions CSV only
  python hw1/inference.py --test_track_dir data/test_track     # TrackXXXXX.flac + TrackXXXXX.mid -> activity plots
Outputs go to runs/hw1/inference/<name of the data folder>/ unless --out_dir says where (the shipped results:
--out_dir results/hw1). The checkpoint is the only .pt in checkpoints/hw1/ (what a hand-in holds), or --checkpoint.
Add --encoder models/MERT-v1-95M to use a local copy of the encoder the checkpoint was trained on. Without it, the
checkpoint's encoder folder is used when it exists here, else the hub id stored beside it (local hub cache first).
An unusable clip (not a float .npy waveform, NaN/inf samples) is named in a warning and left out of the predictions
and the metrics; the report and inference.json count it.
"""
import argparse
import csv
import json
import shlex
import sys
from pathlib import Path

import numpy as np

import utils as U

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--test_dir", default=None, help="folder of 5 s 24 kHz .npy clips (course format)")
parser.add_argument("--labels", default=None,
                    help="labels JSON {\"<name>.npy\": [9 ints]} (default: <split>_labels.json next to --test_dir, "
                         "as the course data has it; without one, predictions only)")
parser.add_argument("--test_track_dir", default=None, help="folder of TrackXXXXX.flac + TrackXXXXX.mid (whole tracks)")
parser.add_argument("--checkpoint", default=None,
                    help="default: the only .pt in checkpoints/hw1/ (a hand-in's, whatever its name); with several, "
                         "finetune.pt, then frozen.pt")
parser.add_argument("--encoder", default=None, help="override the checkpoint's encoder (hub id or local folder)")
parser.add_argument("--revision", default=None, help="override the checkpoint's encoder revision")
parser.add_argument("--out_dir", default=None,
                    help="default runs/hw1/inference/<name of --test_dir, else of --test_track_dir>/; the shipped "
                         "results are written with --out_dir results/hw1")
parser.add_argument("--csv", default=None, help="predictions CSV (default <out_dir>/predictions.csv)")
parser.add_argument("--provenance", default=None, metavar="TEXT",
                    help="what the data is, recorded in the results JSON (default: the \"provenance\" of a "
                         "dataset_info.json in the data folder or its parents, else "
                         "\"unknown (no dataset_info.json)\")")
parser.add_argument("--class_map_dir", default=None, help="folder with the course's class map JSONs (track mode)")
parser.add_argument("--drums_as_percussion", action="store_true",
                    help="track mode: count drum kits (is_drum) as Percussion; the released labels do not")
parser.add_argument("--batch_size", type=int, default=16)
parser.add_argument("--workers", type=int, default=None, help="clip-reading worker processes (default min(4, cores-1))")
parser.add_argument("--device", default="auto", help="auto (a CUDA GPU if torch sees one, else the CPU), cpu, cuda[:N]")
parser.add_argument("--precision", default="auto", choices=U.PRECISIONS,
                    help="encoder precision: auto = bf16 autocast on GPUs of compute capability >= 8.0, fp16 autocast "
                         "below, fp32 on a CPU; fp32 if fp16 gives NaN/inf features")


def main():
    args = parser.parse_args()
    if not args.test_dir and not args.test_track_dir:
        parser.error("give --test_dir (clips) and/or --test_track_dir (whole tracks)")
    if args.labels and not args.test_dir:
        parser.error("--labels needs --test_dir")

    import torch
    from model import ProbeHead

    device = U.pick_device(args.device)
    workers = U.default_workers() if args.workers is None else args.workers
    # a run on any data writes to a folder of its own, never over the shipped results/hw1 (only an explicit --out_dir)
    data_name = Path(args.test_dir or args.test_track_dir).resolve().name
    out_dir = Path(args.out_dir) if args.out_dir else U.REPO / "runs" / "hw1" / "inference" / data_name

    # ------------------------------------------------------------------------------------------------------------------
    # check every input before loading any model
    files = labelled = y = None
    problems = {}          # unusable clips {path: why}: named in one warning, left out of predictions and metrics
    if args.test_dir:
        files = U.list_clips(args.test_dir)
        if not args.labels:   # the course layout: slakh/test/ has its labels in slakh/test_labels.json
            beside = Path(args.test_dir).resolve()
            beside = beside.parent / f"{beside.name}_labels.json"
            if beside.is_file():
                args.labels = str(beside)
                print(f"labels: {beside} (found next to {args.test_dir}; --labels chooses another file)")
        if args.labels:
            labelled, y, _ = U.match_labels(files, U.read_labels(args.labels), args.test_dir, args.labels)
        problems, _ = U.check_clips(files, where=args.test_dir)        # headers: dtype, shape, size (NaN: when read)
        if len(problems) == len(files):
            U.report_excluded(files, problems, args.test_dir)          # nothing usable: one error line, no model loaded

    pairs = []
    if args.test_track_dir:
        tdir = Path(args.test_track_dir)
        if not tdir.is_dir():
            sys.exit(f"error: --test_track_dir {tdir}: folder not found (expected TrackXXXXX.flac + TrackXXXXX.mid)")
        audio = {p.stem: p for ext in ("flac", "wav") for p in tdir.glob(f"*.{ext}")}
        midi = {p.stem: p for ext in ("mid", "midi") for p in tdir.glob(f"*.{ext}")}
        pairs = [(stem, audio[stem], midi[stem]) for stem in sorted(audio) if stem in midi]   # paired by name only
        no_mid, no_audio = sorted(set(audio) - set(midi)), sorted(set(midi) - set(audio))
        if no_mid:
            print(f"warning: {len(no_mid)} audio files in {tdir} have no matching .mid, skipped: {', '.join(no_mid)}")
        if no_audio:
            print(f"warning: {len(no_audio)} .mid files in {tdir} have no matching audio, skipped: "
                  f"{', '.join(no_audio)}")
        if not pairs:
            sys.exit(f"error: {tdir}: no TrackXXXXX.flac with a TrackXXXXX.mid of the same name")
        prog2idx = U.load_program_map(args.class_map_dir)
        import soundfile as sf
        midis, track_windows = {}, 0
        for name, audio_path, midi_path in pairs:     # both files open (NaN samples are caught when a track is read)
            midis[name] = U.load_midi(midi_path)     # parsed once, used again for the ground truth below
            try:
                track_windows += int(sf.info(str(audio_path)).duration // U.CLIP_SECONDS) + 1
            except Exception as e:
                sys.exit(f"error: {audio_path}: cannot read audio ({e.__class__.__name__}: "
                         f"{str(e).splitlines()[0][:120]})")

    # ------------------------------------------------------------------------------------------------------------------
    # checkpoint + encoder
    def default_checkpoint():
        """The only .pt in checkpoints/hw1/ next to this script (a hand-in zip holds one, whatever its name); with
        several, finetune.pt, then frozen.pt; else stop and ask for --checkpoint."""
        ckpt_dir = U.REPO / "checkpoints" / "hw1"
        found = sorted(ckpt_dir.glob("*.pt"))
        if len(found) == 1:
            return found[0]
        for name in ("finetune.pt", "frozen.pt"):
            if ckpt_dir / name in found:
                return ckpt_dir / name
        if not found:
            sys.exit(f"error: no checkpoint (.pt) in {ckpt_dir}; train one with python hw1/finetune_mert.py "
                     f"--data_root ... or pass --checkpoint FILE")
        sys.exit(f"error: {ckpt_dir} holds {len(found)} checkpoints ({', '.join(f.name for f in found)}), none named "
                 f"finetune.pt or frozen.pt; pass --checkpoint FILE to choose one")

    ckpt_path = Path(args.checkpoint) if args.checkpoint else default_checkpoint()
    if not ckpt_path.is_file():
        sys.exit(f"error: checkpoint {ckpt_path} not found; train one with python hw1/finetune_mert.py --data_root ... "
                 f"or pass --checkpoint")
    try:
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        absent = [k for k in ("mode", "encoder", "revision", "pooling", "n_states", "dim", "hidden", "dropout", "head")
                  if k not in ckpt]
        if absent:
            raise KeyError(f"no {', '.join(absent)}")
        class_names, thresholds = list(ckpt["class_names"]), np.array(ckpt["thresholds"], dtype=np.float32)
        if thresholds.shape != (len(class_names),) or ckpt["pooling"] not in ("mean", "meanstd"):
            raise ValueError(f"{len(thresholds)} thresholds for {len(class_names)} classes, pooling {ckpt['pooling']}")
        head = ProbeHead(ckpt["n_states"], ckpt["dim"], len(class_names), ckpt["hidden"], ckpt["dropout"],
                         ckpt.get("layer_norm", False))   # checkpoints from before the flag: no per-layer LayerNorm
        head.load_state_dict(ckpt["head"])
    except Exception as e:
        sys.exit(f"error: {ckpt_path}: not an HW1 checkpoint from hw1/finetune_mert.py ({e.__class__.__name__}: "
                 f"{' '.join(str(e).split())[:160]}); retrain with hw1/finetune_mert.py or pass the right --checkpoint")
    ckpt_sha256 = U.sha256_of(ckpt_path)       # the results name the exact bytes they came from
    # the encoder: --encoder; else the folder it was trained from, when it exists here; else the hub id stored beside
    # it. Older checkpoints have no encoder_path / hub_id: revision "local" marks a folder, and the hub id is the one
    # MERT-v1 model of the checkpoint's shape.
    was_folder = ckpt["revision"] == "local" or U.looks_like_path(ckpt["encoder"])
    local = ckpt.get("encoder_path") or (ckpt["encoder"] if was_folder else None)
    hub_id = ckpt.get("hub_id") or (None if local else ckpt["encoder"]) or \
        U.hub_id_for(ckpt["dim"] // (2 if ckpt["pooling"] == "meanstd" else 1), ckpt["n_states"] - 1)
    enc_id = args.encoder
    if not enc_id and local:
        enc_id = next((p for p in (ckpt.get("encoder_path"), ckpt["encoder"]) if p and Path(p).is_dir()), None)
        if enc_id is None and not hub_id:
            sys.exit(f"error: {ckpt_path}: its encoder folder {local} is not on this machine and the checkpoint "
                     f"names no hub id; pass --encoder with a copy of the encoder it was trained on")
        if enc_id is None:
            print(f"note: encoder folder {local} (from the checkpoint) is not on this machine; using its hub id "
                  f"{hub_id}")
    enc_id = enc_id or hub_id
    rev = args.revision or (None if ckpt["revision"] in ("local", "main") else ckpt["revision"])
    precision = U.precision_name(device, args.precision)
    print(f"checkpoint {ckpt_path} ({ckpt['mode']}, pooling {ckpt['pooling']}), encoder {enc_id}"
          f"{' @ ' + rev if rev and not Path(enc_id).is_dir() else ''}, device {device} ({precision})")
    U.warn_cpu_fallback(args.device, device, len(files or []) + (track_windows if pairs else 0), enc_id,
                        "clips through MERT")
    encoder, fe, _ = U.load_encoder(enc_id, rev, device, hub_id=hub_id)
    enc_dim = encoder.config.hidden_size * (2 if ckpt["pooling"] == "meanstd" else 1)
    if (encoder.config.num_hidden_layers + 1, enc_dim) != (ckpt["n_states"], ckpt["dim"]):
        sys.exit(f"error: {ckpt_path} was trained on an encoder with {ckpt['n_states'] - 1} layers of width "
                 f"{ckpt['dim']} ({ckpt['pooling']} pooling); --encoder {enc_id} has "
                 f"{encoder.config.num_hidden_layers} of {enc_dim} (use the encoder named in the checkpoint: "
                 f"{ckpt['encoder']})")
    if ckpt.get("encoder_state"):
        try:
            state = {k: v.float() for k, v in ckpt["encoder_state"].items()}   # saved in fp16, computed in fp32
            missing, unexpected = encoder.load_state_dict(state, strict=False)
        except RuntimeError as e:     # shape mismatch
            unexpected = [str(e).splitlines()[-1].strip()[:160]]
        if unexpected:
            sys.exit(f"error: {ckpt_path}: fine-tuned weights do not fit encoder {enc_id} (e.g. {unexpected[0]})")
    head.to(device).eval()

    @torch.no_grad()
    def predict(clips, desc, problems=None):
        """Clip paths or waveforms -> [N, 9] probabilities; features as training saw them (float16 like the frozen
        probe's cache, float32 for a fine-tuned encoder), then the head in fp32, as in training and threshold tuning.
        Clips that can't be read are recorded in problems and have no row."""
        z = U.extract_pooled(encoder, fe, clips, ckpt["pooling"], args.batch_size, device, desc=desc, workers=workers,
                             out_dtype=np.float16 if ckpt["mode"] == "frozen" else np.float32, problems=problems,
                             precision=args.precision)
        return torch.sigmoid(U.head_logits(head, torch.from_numpy(z).to(device))).cpu().numpy()

    from sklearn.metrics import classification_report, f1_score

    out_dir.mkdir(parents=True, exist_ok=True)
    command = "python " + shlex.join(sys.argv)
    checkpoint_info = {"checkpoint": U.shown_path(ckpt_path), "checkpoint_sha256": ckpt_sha256}

    # ------------------------------------------------------------------------------------------------------------------
    # clips: predictions CSV, and with labels the classification report
    if args.test_dir:
        probs = predict([f for f in files if f not in problems], "clips", problems)   # NaN/inf found here join problems
        excluded = {f.name: problems[f] for f in files if f in problems}
        files = U.report_excluded(files, problems, args.test_dir)   # one warning naming them; the usable clips
        pred = (probs >= thresholds).astype(int)
        csv_path = Path(args.csv) if args.csv else out_dir / "predictions.csv"
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        with open(csv_path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["file"] + [f"prob_{c}" for c in class_names] + [f"pred_{c}" for c in class_names])
            for path, p, b in zip(files, probs, pred):
                w.writerow([path.name] + [f"{v:.5f}" for v in p] + [int(v) for v in b])
        print(f"wrote {len(files)} predictions to {csv_path}" + (f" ({len(problems)} excluded as unusable)"
                                                                  if problems else ""))
        if args.labels:
            idx = {p.name: i for i, p in enumerate(files)}
            scored = [k for k, p in enumerate(labelled) if p.name in idx]   # labelled and usable
            rows = [idx[labelled[k].name] for k in scored]
            y, y_pred = y[scored], pred[rows]
            n_excluded_labelled = len(labelled) - len(scored)
            if not scored:
                sys.exit(f"error: none of the {len(labelled)} labelled clips in {args.test_dir} is usable (see the "
                         f"warning above); predictions of the others are in {csv_path}")
            report_text = classification_report(y, y_pred, target_names=class_names, zero_division=0, digits=4)
            report = classification_report(y, y_pred, target_names=class_names, zero_division=0, output_dict=True)
            print(f"classification report on {len(rows)} labelled clips, {n_excluded_labelled} excluded as unusable "
                  f"(thresholds from validation):")
            print(report_text)
            U.save_bar([report[c]["f1-score"] for c in class_names], class_names, out_dir / "per_class_f1.png",
                       f"HW1 test per-class F1 (macro {report['macro avg']['f1-score']:.3f}, "
                       f"micro {report['micro avg']['f1-score']:.3f}, n={len(rows)})", "F1")
            (out_dir / "inference.json").write_text(json.dumps(
                {**checkpoint_info, "mode": ckpt["mode"], "encoder": str(enc_id), "precision": precision,
                 "test_dir": U.shown_path(args.test_dir),
                 "labels": U.shown_path(args.labels), "provenance": args.provenance or U.provenance(args.test_dir),
                 "command": command, "n": len(rows), "n_predicted": len(files), "n_excluded": len(excluded),
                 "excluded": excluded, "class_names": class_names,
                 "thresholds": [float(t) for t in thresholds], "report": report, "report_text": report_text,
                 "predictions_csv": U.shown_path(csv_path), "figures": {"per_class_f1": "per_class_f1.png"}}, indent=1))
            print(f"wrote {out_dir / 'inference.json'} and {out_dir / 'per_class_f1.png'}")
        else:
            print(f"no --labels given and no {Path(args.test_dir).resolve().name}_labels.json next to {args.test_dir}: "
                  f"wrote predictions only")

    # ------------------------------------------------------------------------------------------------------------------
    # whole tracks: non-overlapping 5 s windows, [9, L] prediction vs the MIDI ground truth
    if pairs:
        import librosa
        tracks = []
        for name, audio_path, midi_path in pairs:
            gt, midi_end = U.midi_activity(midis[name], prog2idx, args.drums_as_percussion, len(class_names))
            L = gt.shape[1]
            try:
                wav, sr = sf.read(audio_path, dtype="float32", always_2d=True)
            except Exception as e:
                sys.exit(f"error: {audio_path}: cannot read audio ({e.__class__.__name__}: "
                         f"{str(e).splitlines()[0][:120]})")
            wav = wav.mean(axis=1)
            if len(wav) == 0 or not np.isfinite(wav).all():
                sys.exit(f"error: {audio_path}: {'no samples' if len(wav) == 0 else 'NaN or inf samples'}; "
                         f"re-export the track's mix (TrackXXXXX.flac)")
            if sr != U.SR:
                wav = librosa.resample(wav, orig_sr=sr, target_sr=U.SR, res_type="soxr_hq")
            audio_s = len(wav) / U.SR
            if audio_s < (L - 1) * U.CLIP_SECONDS:
                print(f"warning: {audio_path}: audio is {audio_s:.1f} s but the MIDI runs {midi_end:.1f} s; "
                      f"missing windows are silence")
            wav = np.pad(wav, (0, max(0, L * U.CLIP_SAMPLES - len(wav))))[:L * U.CLIP_SAMPLES]   # pad the last window
            windows = list(wav.reshape(L, U.CLIP_SAMPLES).astype(np.float32))
            probs = predict(windows, name)
            pred = (probs >= thresholds).astype(int).T                       # [9, L], same shape as gt
            present = sorted(set(np.flatnonzero(gt.any(1))) | set(np.flatnonzero(pred.any(1))))
            micro = float(f1_score(gt.T, pred.T, average="micro", zero_division=0))
            macro = float(f1_score(gt.T, pred.T, average="macro", labels=present, zero_division=0)) if present else 1.0
            counts = U.plot_track(gt, pred, class_names, out_dir / f"track_{name}.png",
                                  f"{name}: micro-F1 {micro:.3f}, macro-F1 {macro:.3f} ({L} windows of 5 s)")
            print(f"{name}: L={L} windows, micro-F1 {micro:.4f}, macro-F1 {macro:.4f} "
                  f"(TP {counts['tp']}, FP {counts['fp']}, FN {counts['fn']})")
            tracks.append({"name": name, "L": L, "micro_f1": micro, "macro_f1": macro, "figure": f"track_{name}.png",
                           **counts,
                           "audio": U.shown_path(audio_path), "midi": U.shown_path(midi_path),
                           "audio_s": round(audio_s, 3),
                           "midi_end_s": round(midi_end, 3), "gt": gt.tolist(), "pred": pred.tolist(),
                           "probs": np.round(probs.T, 4).tolist()})
        (out_dir / "tracks.json").write_text(json.dumps(
            {**checkpoint_info, "track_dir": U.shown_path(args.test_track_dir), "command": command,
             "provenance": args.provenance or U.provenance(args.test_track_dir), "class_names": class_names,
             "drums_as_percussion": args.drums_as_percussion,
             "macro_f1_over": "classes active in the ground truth or the prediction of the track",
             "unmatched_audio": no_mid, "unmatched_midi": no_audio, "tracks": tracks}, indent=1))
        print(f"wrote {out_dir / 'tracks.json'} and {len(tracks)} track figure(s)")


if __name__ == "__main__":   # worker processes started by spawn (Windows, macOS) import this file: no re-run
    main()
