#!/usr/bin/env python3
"""Writes test/fixtures/torch-trace/*.safetensors: what a trace must find at
every character of two texts, computed by PyTorch in float64 from a zero state.

For each cell type, a 2-layer model with PyTorch's own initialisation reads
two texts of different lengths (each from a zero state). Stored: the weights,
the vocabulary and texts (metadata), and per text the surprise (-log softmax
at the next character), the top-5 guesses and their probabilities, and per
layer the hidden state, the cell state (LSTM) and the gates after their
nonlinearities (LSTM i f g o, GRU r z n, RNN the tanh) at every character.
The gates are computed here by hand from the weights, and the hand-computed
hidden and cell states are checked against nn.LSTM/GRU/RNN's own outputs
before anything is written.

Run: python3 tools/make-trace-fixtures.py (needs torch).
"""
import importlib.util
import json
import os
import sys

import torch
import torch.nn as nn

TEXTS = ["the cat sat on the hot tea. the tree rode the boat.\nhello", "a bold robe. the rat ate the hare."]
VOCAB = sorted(set("".join(TEXTS)))
H, E, LAYERS, K = 13, 6, 2, 5
SEED = 4321
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "torch-trace")

# The safetensors writer of the model fixtures (tools/make-fixtures.py, a name Python cannot import as is).
_spec = importlib.util.spec_from_file_location("make_fixtures", os.path.join(os.path.dirname(os.path.abspath(__file__)), "make-fixtures.py"))
_make_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_make_fixtures)
write_safetensors = _make_fixtures.write_safetensors


def step(cell, w, x, h, c):
    """One step of one layer by hand: returns gates [G*H], h, c."""
    gi = w["weight_ih"] @ x + w["bias_ih"]
    gh = w["weight_hh"] @ h + w["bias_hh"]
    if cell == "lstm":
        pre = gi + gh
        i, f, g, o = pre.split(H)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g
        return torch.cat([i, f, g, o]), o * torch.tanh(c), c
    if cell == "gru":
        ir, iz, inn = gi.split(H)
        hr, hz, hn = gh.split(H)
        r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
        n = torch.tanh(inn + r * hn)
        return torch.cat([r, z, n]), (1 - z) * n + z * h, None
    a = torch.tanh(gi + gh)
    return a, a, None


def make(cell, seed):
    torch.manual_seed(seed)
    V = len(VOCAB)
    emb = nn.Embedding(V, E)
    rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell](E, H, LAYERS)
    out = nn.Linear(H, V)
    tensors = {"weight.emb.weight": emb.weight.clone(), "weight.out.weight": out.weight.clone(), "weight.out.bias": out.bias.clone()}
    for name, p in rnn.state_dict().items():
        tensors[f"weight.rnn.{name}"] = p.clone()
    emb, rnn, out = emb.double(), rnn.double(), out.double()
    for s, text in enumerate(TEXTS):
        ids = torch.tensor([VOCAB.index(ch) for ch in text])
        n = len(ids)
        with torch.no_grad():
            x = emb(ids)  # [n, E]
            module_out, _ = rnn(x.unsqueeze(1))  # [n, 1, H]: PyTorch's own top layer
            layer_in = x
            for l in range(LAYERS):
                w = {k: getattr(rnn, f"{k}_l{l}") for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
                h = torch.zeros(H, dtype=torch.float64)
                c = torch.zeros(H, dtype=torch.float64)
                hs, cs, gs = [], [], []
                for t in range(n):
                    g, h, c = step(cell, w, layer_in[t], h, c)
                    hs.append(h)
                    gs.append(g)
                    if c is not None:
                        cs.append(c)
                hs = torch.stack(hs)
                tensors[f"text{s}.hidden{l}"] = hs
                tensors[f"text{s}.gates{l}"] = torch.stack(gs)
                if cell == "lstm":
                    tensors[f"text{s}.cell{l}"] = torch.stack(cs)
                layer_in = hs
            err = (layer_in - module_out[:, 0]).abs().max().item()
            assert err < 1e-12, f"{cell}: the hand-computed layers differ from PyTorch's by {err}"
            logp = torch.log_softmax(out(layer_in), dim=-1)  # [n, V]: row t predicts character t + 1
            surprise = torch.full((n,), float("nan"), dtype=torch.float64)
            surprise[1:] = -logp[:-1].gather(1, ids[1:].unsqueeze(1)).squeeze(1)
            top_p, top_ids = torch.topk(logp[:-1].exp(), K, dim=-1)
        tensors[f"text{s}.surprise"] = surprise
        tensors[f"text{s}.top_ids"] = top_ids.to(torch.int32)  # [n - 1, K]: for characters 1 .. n - 1
        tensors[f"text{s}.top_p"] = top_p
    metadata = {
        "generator": "tools/make-trace-fixtures.py",
        "torch": torch.__version__,
        "seed": str(seed),
        "config": json.dumps({"cell": cell, "layers": LAYERS, "hidden": H, "emb": E, "vocabSize": len(VOCAB), "dropout": 0}),
        "vocab": json.dumps(VOCAB),
        "texts": json.dumps(TEXTS),
        "k": str(K),
    }
    return tensors, metadata


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    for i, cell in enumerate(("lstm", "gru", "rnn")):
        tensors, metadata = make(cell, SEED + i)
        path = os.path.join(OUT_DIR, f"{cell}-l{LAYERS}-h{H}.safetensors")
        write_safetensors(path, tensors, metadata)
        print(f"wrote {os.path.relpath(path)}  {os.path.getsize(path)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
