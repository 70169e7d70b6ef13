"""The mini-GPT of ``lmcourse.models.gpt`` written in plain PyTorch, for timing.

The same architecture, shapes and parameter count as ``lmcourse.models.gpt.GPT``
(pre-LN blocks, learned positions, GELU feed-forward, a final LayerNorm, an untied output
layer with bias), in the style of nanoGPT's ``model.py``: a fused query/key/value ``Linear``
and ``torch.nn.functional.scaled_dot_product_attention`` with ``is_causal=True`` (or the
attention written out, ``flash=False``). Only ``benchmarks/gpt_char.py`` uses it; install
PyTorch with ``pip install -r benchmarks/requirements-bench.txt``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model: int, num_heads: int, dropout: float, flash: bool = True):
        super().__init__()
        assert d_model % num_heads == 0, f"d_model={d_model} % num_heads={num_heads} != 0"
        self.qkv = nn.Linear(d_model, 3 * d_model)  # = the Keras layer's query/key/value kernels
        self.proj = nn.Linear(d_model, d_model)  # = its output kernel (H, d_head, d)
        self.attn_dropout = nn.Dropout(dropout)
        self.resid_dropout = nn.Dropout(dropout)
        self.num_heads, self.dropout, self.flash = num_heads, dropout, flash

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (
            t.view(B, T, self.num_heads, C // self.num_heads).transpose(1, 2) for t in (q, k, v)
        )  # (B, H, T, d_head)
        if self.flash:
            y = F.scaled_dot_product_attention(
                q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True
            )
        else:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
            mask = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
            att = self.attn_dropout(F.softmax(att.masked_fill(~mask, float("-inf")), dim=-1))
            y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.proj(y))


class Block(nn.Module):
    def __init__(self, d_model, num_heads, ff_dim, dropout, flash=True):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d_model, eps=1e-5)
        self.attn = CausalSelfAttention(d_model, num_heads, dropout, flash)
        self.ln_2 = nn.LayerNorm(d_model, eps=1e-5)
        self.mlp = nn.Sequential(
            nn.Linear(d_model, ff_dim), nn.GELU(), nn.Linear(ff_dim, d_model), nn.Dropout(dropout)
        )

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class TorchGPT(nn.Module):
    """ids ``(B, T)`` -> logits ``(B, T, V)``; the parameters of ``lmcourse``'s ``GPT``."""

    def __init__(
        self,
        vocab_size,
        seq_len,
        d_model=128,
        num_heads=4,
        num_layers=4,
        ff_dim=None,
        dropout=0.0,
        flash=True,
    ):
        super().__init__()
        ff_dim = ff_dim or 4 * d_model
        self.tok = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Embedding(seq_len, d_model)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            Block(d_model, num_heads, ff_dim, dropout, flash) for _ in range(num_layers)
        )
        self.ln_f = nn.LayerNorm(d_model, eps=1e-5)
        self.head = nn.Linear(d_model, vocab_size)
        for name, p in self.named_parameters():  # GPT-2 style initialization, as nanoGPT
            if p.dim() >= 2:
                nn.init.normal_(p, mean=0.0, std=0.02)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, ids):
        T = ids.shape[1]
        x = self.drop(self.tok(ids) + self.pos(torch.arange(T, device=ids.device)))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def make_train_step(
    model, lr=1e-3, weight_decay=0.1, betas=(0.9, 0.99), clip=1.0, autocast_dtype=None
):
    """A standard training step: forward, cross-entropy, backward, clip, AdamW."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=betas, weight_decay=weight_decay)
    device_type = next(model.parameters()).device.type

    def step(x, y):
        with torch.autocast(device_type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
            logits = model(x)
            loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        return loss

    return step
