#!/usr/bin/env python3
"""Writes the PyTorch parity fixtures under test/fixtures/torch/.

Run by developers after changing what the fixtures cover, not by CI (CI has no
PyTorch and reads the committed JSON). On Debian, PyTorch comes from apt
(python3-torch) and lives with the system interpreter, so run it as

    /usr/bin/python3 tools/make-fixtures.py

Each fixture is one small model built the way shared/bench/torch_ref.py builds
its CharRNN (nn.Embedding -> nn.LSTM/GRU/RNN(batch_first=True) -> nn.Linear, no
dropout), run forward and backward once from a random non-zero initial state.
Weights, inputs and the initial state are drawn in float32 and the model is then
run in float64, so the expected values are the exact answers (to float64
rounding) for weights that a float32 engine holds without rounding.

Tensors are written as {"shape": [...], "data": [row-major flat list]} in
PyTorch's own layout: batch-first [B, T] ids, [B, T, V] logits, [layers, B, H]
states, weights by state_dict name.
"""
import json
import os
import sys

import torch
import torch.nn as nn

SIZES = dict(vocabSize=7, emb=5, hidden=6)
B, T = 3, 4
SEED = 1234
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "torch")


class CharRNN(nn.Module):
    def __init__(s, cell, layers, V, E, H):
        super().__init__()
        s.emb = nn.Embedding(V, E)
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
        s.rnn = rnn(E, H, layers, batch_first=True, dropout=0.0)
        s.out = nn.Linear(H, V)


def tensor(t):
    t = t.detach()
    # float() of a float64 is exact, and json writes the shortest repr that reads
    # back to the same double, so no precision is lost either way.
    data = [float(v) for v in t.reshape(-1).tolist()] if t.is_floating_point() else [int(v) for v in t.reshape(-1).tolist()]
    return {"shape": list(t.shape), "data": data}


def dumps(obj, depth=0):
    """JSON with one line per tensor: readable diffs, still small."""
    if isinstance(obj, dict) and "data" not in obj and obj and depth < 2:
        pad = " " * (depth + 1)
        items = [f"{pad}{json.dumps(k)}: {dumps(v, depth + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * depth + "}" + ("\n" if depth == 0 else "")
    return json.dumps(obj)


def make(cell, layers, seed):
    torch.manual_seed(seed)
    V, E, H = SIZES["vocabSize"], SIZES["emb"], SIZES["hidden"]
    m = CharRNN(cell, layers, V, E, H)  # float32 draws, PyTorch's own initialisation
    x = torch.randint(0, V, (B, T))
    y = torch.randint(0, V, (B, T))
    h0 = (torch.randn(layers, B, H) * 0.5).float()
    c0 = (torch.randn(layers, B, H) * 0.5).float() if cell == "lstm" else None
    weights = {name: tensor(p.double()) for name, p in m.state_dict().items()}

    m = m.double()
    h0 = h0.double().requires_grad_()
    if c0 is not None:
        c0 = c0.double().requires_grad_()
    emb = m.emb(x)
    emb.retain_grad()
    rnn_out, state = m.rnn(emb, (h0, c0) if cell == "lstm" else h0)
    rnn_out.retain_grad()
    logits = m.out(rnn_out)
    loss = nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1))  # mean over B*T
    loss.backward()

    h_n, c_n = state if cell == "lstm" else (state, None)
    fx = {
        "generator": "tools/make-fixtures.py",
        "torch": torch.__version__,
        "seed": seed,
        "config": {"cell": cell, "layers": layers, "hidden": H, "emb": E, "vocabSize": V, "dropout": 0},
        "B": B,
        "T": T,
        "weights": weights,
        "x": tensor(x),
        "y": tensor(y),
        "h0": tensor(h0),
        "c0": tensor(c0) if c0 is not None else None,
        "logits": tensor(logits),
        "loss": float(loss.item()),
        "grads": {name: tensor(p.grad) for name, p in m.named_parameters()},
        "h_n": tensor(h_n),
        "c_n": tensor(c_n) if c_n is not None else None,
        # Gradients the model API does not expose (it truncates at the chunk's
        # start), for checking the cell kernels directly: at the initial state
        # of every layer, at the recurrent stack's output and at its input.
        "dh0": tensor(h0.grad),
        "dc0": tensor(c0.grad) if c0 is not None else None,
        "d_rnn_out": tensor(rnn_out.grad),
        "d_emb_out": tensor(emb.grad),
    }
    return fx


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    for i, cell in enumerate(["lstm", "gru", "rnn"]):
        for layers in (1, 2):
            fx = make(cell, layers, SEED + 10 * i + layers)
            path = os.path.join(OUT_DIR, f"{cell}-{layers}layer.json")
            with open(path, "w") as f:
                f.write(dumps(fx))
            print(f"wrote {os.path.relpath(path)}  loss {fx['loss']:.6f}", file=sys.stderr)


if __name__ == "__main__":
    main()
