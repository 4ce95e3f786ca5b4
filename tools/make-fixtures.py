#!/usr/bin/env python3
"""Writes the PyTorch parity fixtures under test/fixtures/torch/.

Run by developers after changing what the fixtures cover, not by CI (CI has no
PyTorch and reads the committed files). On Debian, PyTorch comes from apt
(python3-torch) and lives with the system interpreter, so run it as

    /usr/bin/python3 tools/make-fixtures.py

Each fixture is one model built the way shared/bench/torch_ref.py builds its
CharRNN (nn.Embedding -> nn.LSTM/GRU/RNN(batch_first=True) -> nn.Linear, no
dropout), run forward and backward once from a random non-zero initial state.
Weights, inputs and the initial state are drawn in float32 and the model is then
run in float64, so the expected values are the exact answers (to float64
rounding) for weights that a float32 engine holds without rounding.

The sizes reach the engines' vector code and its tails: hidden 17, 33 and 129
(one past 16, 32 and 128 lanes), 1, 5 and 50 streams, 1 and 7 steps, every cell
type with 1 and 2 layers. Not the full product (that would be 54 files, tens of
MB): FIXTURES below is a covering set in which every value of every size occurs
for every cell type.

One safetensors file per fixture (this script writes the format itself: Debian
packages no safetensors). Inputs that a float32 engine holds exactly (weights,
initial state) are F32, ids I32, every expected value F64; tensors are in
PyTorch's layout: batch-first [B, T] ids, [B, T, V] logits, [layers, B, H]
states, weights under their state_dict names prefixed "weight." and gradients
prefixed "grad.". __metadata__ holds the config, B, T and the generator.
"""
import json
import os
import struct
import sys

import torch
import torch.nn as nn

V, E = 13, 9
# (cell, layers, hidden, B, T): per cell type, hidden 17 / 33 / 129, B 1 / 5 / 50, T 1 / 7, layers 1 / 2.
SHAPES = [(2, 17, 1, 1), (2, 33, 5, 7), (1, 129, 50, 7), (2, 17, 50, 7)]
FIXTURES = [(cell, *s) for cell in ("lstm", "gru", "rnn") for s in SHAPES]
SEED = 1234
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "torch")
DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int32: "I32"}


class CharRNN(nn.Module):
    def __init__(s, cell, layers, V, E, H):
        super().__init__()
        s.emb = nn.Embedding(V, E)
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
        s.rnn = rnn(E, H, layers, batch_first=True, dropout=0.0)
        s.out = nn.Linear(H, V)


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        data = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    js = json.dumps(header, separators=(",", ":")).encode()
    js += b" " * (-len(js) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(js)) + js + b"".join(blobs))


def make(cell, layers, H, B, T, seed):
    torch.manual_seed(seed)
    m = CharRNN(cell, layers, V, E, H)  # float32 draws, PyTorch's own initialisation
    x = torch.randint(0, V, (B, T), dtype=torch.int32)
    y = torch.randint(0, V, (B, T), dtype=torch.int32)
    h0 = (torch.randn(layers, B, H) * 0.5).float()
    c0 = (torch.randn(layers, B, H) * 0.5).float() if cell == "lstm" else None
    tensors = {f"weight.{name}": p.clone() for name, p in m.state_dict().items()}
    tensors["x"], tensors["y"], tensors["h0"] = x, y, h0
    if c0 is not None:
        tensors["c0"] = c0

    m = m.double()
    h0 = h0.double().requires_grad_()
    if c0 is not None:
        c0 = c0.double().requires_grad_()
    emb = m.emb(x.long())
    emb.retain_grad()
    rnn_out, state = m.rnn(emb, (h0, c0) if cell == "lstm" else h0)
    logits = m.out(rnn_out)
    loss = nn.functional.cross_entropy(logits.reshape(-1, V), y.long().reshape(-1))  # mean over B*T
    loss.backward()

    h_n, c_n = state if cell == "lstm" else (state, None)
    tensors["logits"] = logits
    tensors["loss"] = loss.reshape(1)
    tensors.update({f"grad.{name}": p.grad for name, p in m.named_parameters()})
    tensors["h_n"] = h_n
    if c_n is not None:
        tensors["c_n"] = c_n
    # Gradients the model API does not expose (it truncates at the chunk's start),
    # for checking the cell kernels directly: at every layer's initial state and
    # at the recurrent stack's input.
    tensors["dh0"] = h0.grad
    if c0 is not None:
        tensors["dc0"] = c0.grad
    tensors["d_emb_out"] = emb.grad
    metadata = {
        "generator": "tools/make-fixtures.py",
        "torch": torch.__version__,
        "seed": str(seed),
        "config": json.dumps({"cell": cell, "layers": layers, "hidden": H, "emb": E, "vocabSize": V, "dropout": 0}),
        "B": str(B),
        "T": str(T),
    }
    return tensors, metadata, loss.item()


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    for old in os.listdir(OUT_DIR):
        os.remove(os.path.join(OUT_DIR, old))
    total = 0
    for i, (cell, layers, H, B, T) in enumerate(FIXTURES):
        tensors, metadata, loss = make(cell, layers, H, B, T, SEED + i)
        path = os.path.join(OUT_DIR, f"{cell}-l{layers}-h{H}-b{B}-t{T}.safetensors")
        write_safetensors(path, tensors, metadata)
        total += os.path.getsize(path)
        print(f"wrote {os.path.relpath(path)}  {os.path.getsize(path)} bytes  loss {loss:.6f}", file=sys.stderr)
    print(f"{len(FIXTURES)} fixtures, {total} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
