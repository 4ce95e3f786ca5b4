#!/usr/bin/env python3
"""Batch-1 generation speed of the protocol's model in PyTorch (the peer for
`charrnn bench --vs-pytorch`): the same CharRNN as shared/bench/torch_ref.py, a
100-character prime, then one character at a time at temperature 1, state
carried; the clock starts after the prime. Prints one JSON line."""
import argparse, json, time
import torch, torch.nn as nn

p = argparse.ArgumentParser()
p.add_argument("--text", required=True)
p.add_argument("--cell", default="lstm", choices=["lstm", "gru", "rnn"])
p.add_argument("--layers", type=int, default=2)
p.add_argument("--hidden", type=int, default=128)
p.add_argument("--emb", type=int, default=64)
p.add_argument("--chars", type=int, default=2000)
p.add_argument("--threads", type=int, default=0)
a = p.parse_args()
if a.threads: torch.set_num_threads(a.threads)
torch.manual_seed(1)
text = open(a.text, encoding="utf-8").read()
vocab = sorted(set(text)); stoi = {c: i for i, c in enumerate(vocab)}; V = len(vocab)

class CharRNN(nn.Module):
    def __init__(s):
        super().__init__()
        s.emb = nn.Embedding(V, a.emb)
        s.rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[a.cell](a.emb, a.hidden, a.layers, batch_first=True)
        s.out = nn.Linear(a.hidden, V)
    def forward(s, x, h=None):
        y, h = s.rnn(s.emb(x), h)
        return s.out(y), h

m = CharRNN().eval()
with torch.no_grad():
    x = torch.tensor([[stoi[c] for c in text[:100]]])
    o, h = m(x)
    logits = o[0, -1]
    t0 = time.perf_counter()
    for _ in range(a.chars):
        nxt = torch.multinomial(torch.softmax(logits, -1), 1)
        o, h = m(nxt.view(1, 1), h)
        logits = o[0, -1]
    dt = time.perf_counter() - t0
print(json.dumps({"generate_chars_per_s": round(a.chars / dt), "chars": a.chars}))
