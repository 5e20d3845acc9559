"""The Task-3 CNN: a short-chunk-style 2-D CNN on (log-)mel-spectrograms.

Design after the short-chunk CNN of Won et al. (minzwon/sota-music-tagging-models, ISMIR 2020): stacks of 3x3
conv + batch-norm + ReLU + 2x2 max-pool, then global pooling and a linear classifier. Written from the paper's
description, not from its code. Differences, each for unseen-instrument generalisation or CPU cost:
- fewer, narrower layers (the input is a 4 s note, not a song chunk), so it trains on 2 CPU cores;
- global max over frequency before pooling over time: the same timbre at another pitch moves along the frequency
  axis, and max-pooling over it makes the clip embedding less pitch-dependent;
- mean + max pooling over time (sustain and attack both count), dropout, and logits for cross-entropy (no sigmoid).
in_channels=2 is train_cnn.py --pitch_channel: the mel input plus the same input aligned on the note's pitch
(utils.pitch_aligned), an ablation that did not help on genuine NSynth notes (README "Numbers").
rfn > 0 is train_cnn.py --rfn: relaxed instance frequency-wise normalisation after the first conv block (Kim et al.,
"Domain generalization with relaxed instance frequency-wise normalization for multi-device acoustic scene
classification", Interspeech 2022): each note's feature map, normalised per frequency over channels and time, is
blended with the map itself, rfn * normalised + (1 - rfn) * map. It removes part of what a recording chain (here: a
sample library) imprints per frequency, at train and test time alike. Another ablation that did not help on genuine
NSynth notes (README "Numbers").
"""
import torch
import torch.nn as nn


def conv_block(c_in, c_out):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True), nn.MaxPool2d(2))


class NoteCNN(nn.Module):
    def __init__(self, n_mels=64, n_classes=11, width=24, n_blocks=5, dropout=0.3, in_channels=1, rfn=0.0):
        super().__init__()
        self.rfn = rfn
        chans = [in_channels] + [width * min(2 ** i, 8) for i in range(n_blocks)]
        self.input_norm = nn.BatchNorm2d(in_channels)
        self.blocks = nn.Sequential(*[conv_block(chans[i], chans[i + 1]) for i in range(n_blocks)])
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(2 * chans[-1], n_classes)

    def embed(self, x):
        """x: [B, n_mels, frames] normalised mel input, or [B, in_channels, n_mels, frames] -> [B, 2*C] clip
        embedding."""
        h = self.blocks[0](self.input_norm(x.unsqueeze(1) if x.dim() == 3 else x))   # [B, C, F, T]
        if self.rfn:
            mean, var = h.mean(dim=(1, 3), keepdim=True), h.var(dim=(1, 3), keepdim=True)
            h = self.rfn * (h - mean) / (var + 1e-5).sqrt() + (1 - self.rfn) * h
        h = self.blocks[1:](h)                                # [B, C, F', T']
        h = h.amax(dim=2)                                     # max over frequency
        return torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1)

    def forward(self, x):
        return self.fc(self.dropout(self.embed(x)))


def load_checkpoint(path, device="cpu"):
    """Load a train_cnn.py checkpoint (weights + everything inference needs) -> (model in eval mode, checkpoint)."""
    import sys
    from pathlib import Path
    if not Path(path).is_file():
        sys.exit(f"error: checkpoint {path} not found; train one with hw0/train_cnn.py or pass --checkpoint FILE")
    try:
        ckpt = torch.load(path, map_location=device, weights_only=True)
        model = NoteCNN(**ckpt["model_config"])
        model.load_state_dict(ckpt["state_dict"])
        n_mels = ckpt["mel"]["n_mels"]            # everything inference reads besides the weights
        if not ({"sr", "n_fft", "hop_length", "fmin", "fmax"} <= set(ckpt["mel"])
                and isinstance(ckpt["log_input"], bool) and ckpt["norm_mean"].shape == ckpt["norm_std"].shape == (n_mels,)):
            raise ValueError(f"mel settings, log_input or normalisation for {n_mels} mel bins missing or inconsistent")
    except Exception as e:  # truncated file, wrong format, or another model's weights
        why = " ".join(str(e).split())[:160]
        sys.exit(f"error: {path} is not a usable hw0 CNN checkpoint ({type(e).__name__}: {why}); "
                 f"re-download it or retrain with hw0/train_cnn.py")
    ckpt.setdefault("peak_norm", False)       # checkpoints from before --peak_norm
    ckpt.setdefault("pitch_ref", None)        # ... and from before --pitch_channel
    return model.to(device).eval(), ckpt
