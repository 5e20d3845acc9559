"""HW1 probe head: learnable softmax-weighted sum over MERT's hidden states -> MLP -> 9 logits."""
import torch
import torch.nn as nn


class ProbeHead(nn.Module):
    def __init__(self, n_states, dim, n_classes=9, hidden=512, dropout=0.2):
        super().__init__()
        self.layer_logits = nn.Parameter(torch.zeros(n_states))   # softmax -> layer weights, uniform at start
        self.norm = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, n_classes))

    def layer_weights(self):
        return torch.softmax(self.layer_logits, dim=0)

    def forward(self, z):
        """z: [B, n_states, dim] pooled hidden states -> [B, n_classes] logits."""
        w = self.layer_weights().to(z.dtype)
        x = (z * w[None, :, None]).sum(dim=1)
        return self.mlp(self.norm(x))
