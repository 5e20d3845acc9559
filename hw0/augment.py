"""The CNN's training-time augmentation and domain randomisation (train_cnn.py --augment, --specaugment).

All of it works on batches of cached log-mel [B, M, T] and keeps each note's family label. augment applies the
kinds the command line names, in AUGMENT_KINDS order; mixstyle and famix pair notes of different source groups
(source_groups: the sample library a note was rendered from, where known). Inference never imports this file: what
it shares with the network input (utils.resample_mel, the pitch shift on log-mel) lives in utils.py.
"""
import json
import math
from pathlib import Path

import numpy as np
import torch

import utils

# in the order augment applies them: other notes are mixed in and resampled as they are, MixStyle comes last
AUGMENT_KINDS = ("famix", "resample", "gain", "eq", "bands", "tilt", "decay", "reverb", "noise", "shift", "pitch",
                 "mixstyle")
CROSS_NOTE_KINDS = ("mixstyle", "famix")      # these pick a partner note, from another source group where possible


def source_groups(paths, split_dir):
    """Per-note source group, so that mixstyle / famix can pair notes of different sample libraries: the lineage
    standins/render_nsynth.py records in dataset_info.json (in the split folder or the one above), else the note's
    instrument_source in examples.json, else its instrument (note_str without pitch and velocity).
    -> (group ids int64 [N], group names: 'lineage fluid', 'instrument_source 2', 'instrument bass_acoustic_000'...)"""
    split_dir = Path(split_dir)
    if split_dir.name == "audio" and not (split_dir / "audio").is_dir():
        split_dir = split_dir.parent
    lineage, source = {}, {}
    for d in (split_dir, split_dir.parent):
        info = d / "dataset_info.json"
        if info.is_file():
            try:
                instruments = json.loads(info.read_text()).get("instruments", {})
            except (ValueError, OSError, AttributeError) as e:
                utils.warn(f"{info} is unreadable ({e}); source groups come from examples.json or the file names")
                break
            # instrument_str is unique over all splits (render_nsynth.py numbers instruments across splits)
            lineage = {inst: v["lineage"] for split in instruments.values() if isinstance(split, dict)
                       for inst, v in split.items() if isinstance(v, dict) and v.get("lineage")}
            break
    meta_file = split_dir / "examples.json"
    if meta_file.is_file():
        try:   # entries shrink to their instrument_source while parsing, as in list_nsynth
            source = json.loads(meta_file.read_text(),
                                object_hook=lambda obj: obj["instrument_source"] if "instrument_source" in obj else obj)
        except (ValueError, OSError):
            source = {}
    keys = []
    for p in paths:
        stem = Path(p).stem
        inst = stem.rsplit("-", 2)[0]
        if inst in lineage:
            keys.append(f"lineage {lineage[inst]}")
        elif isinstance(source, dict) and isinstance(source.get(stem), int):
            keys.append(f"instrument_source {source[stem]}")
        else:
            keys.append(f"instrument {inst}")
    names = sorted(set(keys))
    index = {k: i for i, k in enumerate(names)}
    return np.array([index[k] for k in keys], dtype=np.int64), names


def pick_partners(groups, same=None):
    """For each note of a batch a random partner: another note (with the same value of `same`, when given) from a
    different source group if there is one, else from the same group; the note itself when there is none.
    -> (partner index [B], found [B] bool)"""
    B = len(groups)
    allowed = ~torch.eye(B, dtype=torch.bool)
    if same is not None:
        allowed &= same[:, None] == same[None, :]
    preferred = allowed & (groups[:, None] != groups[None, :])
    score = torch.rand(B, B) + allowed.float() + preferred.float()        # preferred > allowed > none; random within
    found = allowed.any(1)
    return torch.where(found, score.argmax(1), torch.arange(B)), found


def band_eq_db(B, M, variant="both", max_db=6.0):
    """FilterAugment-style random EQ (Nam et al., ICASSP 2022): the M mel bins are cut into 3-6 bands at random
    boundaries, each band gets a gain uniform in +-max_db; "step" keeps the gain constant within a band, "linear"
    interpolates it between band centres, "both" picks one per note. -> gain in dB [B, M]"""
    n_bands = torch.randint(3, 7, (B, 1))
    cuts = torch.rand(B, 5) * M
    cuts = torch.where(torch.arange(5)[None] < n_bands - 1, cuts, torch.full_like(cuts, M)).sort(1).values
    gains = torch.empty(B, 6).uniform_(-max_db, max_db)
    bins = torch.arange(M) + 0.5                                         # bin centres on the boundary axis
    step = gains.gather(1, (bins[None, None, :] >= cuts[:, :, None]).sum(1))
    edges = torch.cat([torch.zeros(B, 1), cuts, torch.full((B, 1), float(M))], 1)
    centres = (edges[:, :-1] + edges[:, 1:]) / 2                         # unused bands sit at M, past every bin
    j = torch.searchsorted(centres, bins.expand(B, M).contiguous(), right=True)
    lo, hi = (j - 1).clamp(min=0).minimum(n_bands - 1), j.minimum(n_bands - 1)
    c_lo, c_hi = centres.gather(1, lo), centres.gather(1, hi)
    w = ((bins - c_lo) / (c_hi - c_lo).clamp(min=1e-6)).clamp(0, 1)     # flat before the first / after the last
    linear = gains.gather(1, lo) * (1 - w) + gains.gather(1, hi) * w
    use_linear = torch.rand(B, 1) < 0.5
    if variant != "both":
        use_linear = torch.full((B, 1), variant == "linear")
    return torch.where(use_linear, linear, step)


def augment(x, kinds, mel_cfg, labels=None, groups=None, p=0.5, pitches=None):
    """Log-mel-domain augmentation for train_cnn.py (and bench/hw0_train.py): x [B, M, T] natural-log mel power;
    each kind in `kinds` (AUGMENT_KINDS, applied in that order) is given to each note with probability p.
    famix needs the notes' family labels; mixstyle and famix prefer partners from another source group (`groups`,
    per note, e.g. from source_groups). Labels are never changed: every kind here keeps the family.
    pitches: the notes' MIDI pitches [B]; given, the result is (x, pitches after "resample" moved them)."""
    B, M, T = x.shape
    pick = lambda: (torch.rand(B, 1, 1) < p).float()
    db = math.log(10) / 10                                           # dB -> natural-log power
    # every note stays within 12 dB of its own range (the most any kind adds): MixStyle with a partner of much
    # larger spread would otherwise lift a quiet bin by 150 dB and more, which exp() turns into inf for --no_log
    lowest = x.amin(dim=(1, 2), keepdim=True).float() - 12 * db
    loudest = x.amax(dim=(1, 2), keepdim=True).float() + 12 * db
    if any(k in kinds for k in ("bands", "tilt", "decay", "resample", "mixstyle", "famix")):
        x = x.float()                                                # (the cache is float16)
        groups = torch.zeros(B, dtype=torch.long) if groups is None else torch.as_tensor(groups)
    if "famix" in kinds:          # add another note of the same family, -12..0 dB, in the power domain
        if labels is None:
            raise ValueError("augment: famix needs the batch's family labels")
        partner, found = pick_partners(groups, same=torch.as_tensor(labels))
        gain = torch.empty(B, 1, 1).uniform_(-12, 0) * db
        use = pick().bool() & found.view(B, 1, 1)
        x = torch.where(use, torch.logaddexp(x, x[partner] + gain), x)
    if "resample" in kinds:       # pitch shift by resampling, +-1..12 semitones
        semitones = torch.empty(B).uniform_(1, 12) * (torch.randint(0, 2, (B,)) * 2 - 1)
        use = pick().bool().view(B)
        if use.any():
            x = x.clone()
            x[use] = utils.resample_mel(x[use], semitones[use], mel_cfg)
        if pitches is not None:
            pitches = torch.as_tensor(pitches).float() + semitones * use
    if "gain" in kinds:
        x = x + pick() * torch.empty(B, 1, 1).uniform_(-12, 12) * db
    if "eq" in kinds:                                                # smooth random EQ curve, up to about +-6 dB
        f = torch.linspace(0, math.pi, M)[None, :, None]
        curve = sum(torch.randn(B, 1, 1) * torch.cos(k * f + torch.rand(B, 1, 1) * 6.28) for k in (1, 2, 3))
        x = x + pick() * curve * 2.0 * db
    if "bands" in kinds:                                             # FilterAugment: 3-6 bands, +-6 dB each
        x = x + pick() * band_eq_db(B, M)[:, :, None] * db
    # tilt and decay change the sounding note only: a gain on digital silence would invent a noise floor
    sounding = lambda: (x > x.amin(dim=(1, 2), keepdim=True) + 3 * db).float()
    if "tilt" in kinds:           # spectral tilt, -3..+6 dB per octave around 1 kHz (real NSynth notes are brighter)
        octaves = torch.from_numpy(np.log2(utils.mel_bin_hz(M, mel_cfg["fmin"], mel_cfg["fmax"]) / 1000.0)).float()
        slope = torch.empty(B, 1, 1).uniform_(-3, 6)
        x = x + pick() * sounding() * slope * octaves[None, :, None] * db
    silent_tail = torch.zeros(B, 1, T, dtype=torch.bool)
    if "decay" in kinds:          # the held note fades by 0-20 dB over its 3 s, and the release may end in silence
        t = torch.arange(T) * mel_cfg["hop_length"] / mel_cfg["sr"]          # frame centres in seconds
        fade = -torch.empty(B, 1, 1).uniform_(0, 20) * (t.clamp(max=3.0) / 3.0)[None, None, :]
        x = x + pick() * sounding() * fade * db
        silent_tail = pick().bool() & (t[None, None, :] >= torch.empty(B, 1, 1).uniform_(3.0, 3.6))
    if "reverb" in kinds:                                            # exponential tail per mel band (RT60 0.2-1.5 s)
        hop_s = mel_cfg["hop_length"] / mel_cfg["sr"]
        rt60 = torch.empty(B, 1).uniform_(0.2, 1.5)
        decay = torch.exp(-6.9 * hop_s / rt60)                      # power decay per frame: 60 dB in rt60
        wet = torch.empty(B, 1).uniform_(0.05, 0.5) * pick()[:, :, 0]
        power, tail, out = torch.exp(x), torch.zeros(B, M), []
        for t in range(T):
            tail = tail * decay + power[:, :, t] * (1 - decay)
            out.append(power[:, :, t] + wet * tail)
        x = torch.log(torch.stack(out, dim=2) + 1e-10)
    if "noise" in kinds:                                             # coloured noise 20-50 dB below the clip
        level = x.exp().mean(dim=(1, 2), keepdim=True).log() - torch.empty(B, 1, 1).uniform_(20, 50) * db
        tilt = torch.linspace(-1, 1, M)[None, :, None] * torch.randn(B, 1, 1) * 10 * db
        x = torch.logaddexp(x, level + tilt + torch.log(pick() + 1e-10))
    if "shift" in kinds:                                             # onset up to 0.3 s late
        shift = torch.randint(0, max(1, int(0.3 * mel_cfg["sr"] / mel_cfg["hop_length"])), (B,)) * pick().long().view(B)
        idx = (torch.arange(T)[None, :] - shift[:, None]).clamp(min=0)
        floor = x.amin(dim=(1, 2), keepdim=True)
        x = torch.where((torch.arange(T)[None, :] < shift[:, None])[:, None, :], floor,
                        torch.gather(x, 2, idx[:, None, :].expand(B, M, T)))
    if "pitch" in kinds:                                             # small spectral shift, +-2 mel bins
        k = int(torch.randint(-2, 3, (1,)))
        if k:
            rolled = torch.roll(x, k, dims=1)
            if k > 0:
                rolled[:, :k] = x[:, :1]
            else:
                rolled[:, k:] = x[:, -1:]
            m = pick()
            x = m * rolled + (1 - m) * x
    if "mixstyle" in kinds:       # Freq-MixStyle: re-style each note with a mix of its and a partner's per-bin stats
        mu = x.mean(2, keepdim=True)
        sig = ((x - mu).square().mean(2, keepdim=True) + 1e-6).sqrt()     # (torch's var is slow on this layout)
        partner, _ = pick_partners(groups)
        lam = torch.distributions.Beta(0.4, 0.4).sample((B, 1, 1))
        mixed = (x - mu) / sig * (lam * sig + (1 - lam) * sig[partner]) + lam * mu + (1 - lam) * mu[partner]
        x = torch.where(pick().bool(), mixed, x)
    x = torch.minimum(torch.maximum(x.float(), lowest), loudest)
    # digital silence is log_mel's floor, log(1e-10), below the 12 dB limit of a note with a noise floor
    x = torch.where(silent_tail, torch.full_like(x, math.log(1e-10)), x)
    return x if pitches is None else (x, torch.as_tensor(pitches).float())


def spec_mask(x):
    """SpecAugment on the normalised input [B, M, T] or [B, C, M, T]: one frequency mask (<= 8 bins) and one time
    mask (<= 16 frames) per note, the same in every channel."""
    B, (M, T) = x.shape[0], x.shape[-2:]
    f0, fw = torch.randint(0, M, (B, 1)), torch.randint(0, 9, (B, 1))
    t0, tw = torch.randint(0, T, (B, 1)), torch.randint(0, 17, (B, 1))
    fm = (torch.arange(M)[None] >= f0) & (torch.arange(M)[None] < f0 + fw)
    tm = (torch.arange(T)[None] >= t0) & (torch.arange(T)[None] < t0 + tw)
    mask = fm[:, :, None] | tm[:, None, :]
    return x.masked_fill(mask if x.dim() == 3 else mask[:, None], 0.0)
