"""HW1 probe head: learnable softmax-weighted sum over MERT's hidden states -> MLP -> 9 logits."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class ProbeHead(nn.Module):
    def __init__(self, n_states, dim, n_classes=9, hidden=512, dropout=0.2, layer_norm=False):
        super().__init__()
        # layer_norm: normalise each hidden state (parameter-free LayerNorm over its features) before the weighted
        # sum. MERT's layers differ in scale (the pre-LN 330M's residual stream grows with depth), so without it a
        # large-scale layer dominates the sum whatever its weight, and the learned weights are not comparable.
        # Checkpoints record the flag; those from before it existed were trained without (the default here).
        self.layer_norm = layer_norm
        self.layer_logits = nn.Parameter(torch.zeros(n_states))   # softmax -> layer weights, uniform at start
        self.norm = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, n_classes))

    def layer_weights(self):
        return torch.softmax(self.layer_logits, dim=0)

    def forward(self, z):
        """z: [B, n_states, dim] pooled hidden states -> [B, n_classes] logits."""
        if self.layer_norm:
            z = F.layer_norm(z, z.shape[-1:])
        w = self.layer_weights().to(z.dtype)
        x = (z * w[None, :, None]).sum(dim=1)
        return self.mlp(self.norm(x))
