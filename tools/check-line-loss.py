#!/usr/bin/python3
"""PyTorch's view of a charrnn line model (developer-run, not CI).

  check-line-loss.py MODEL.safetensors LINES.txt

Loads the model with tools/check-pytorch-load.py's loader (strict state_dict,
so the line-mode metadata adds no tensor), then scores the non-empty lines of
LINES.txt as line mode defines it: every line from a zero state, inputs
[EOL] + chars, targets chars + [EOL], all lines in one batch padded to the
longest, padding ignored with nn.CrossEntropyLoss(ignore_index=-1). Prints
the mean in nats per character; `charrnn eval MODEL LINES.txt` must agree.
"""
import importlib.util, json, os, sys
import torch, torch.nn as nn

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("cpl", os.path.join(here, "check-pytorch-load.py"))
cpl = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cpl)

model_path, lines_path = sys.argv[1], sys.argv[2]
m, cfg, vocab = cpl.load_model(model_path)
_, metadata = cpl.read_safetensors(model_path)
eol = json.loads(metadata["lines"])["eol"]
ids = {c: i for i, c in enumerate(vocab)}
lines = [l.rstrip("\r") for l in open(lines_path, encoding="utf-8").read().split("\n")]
lines = [[ids[c] for c in l] for l in lines if l]
T = max(len(l) for l in lines) + 1
x = torch.full((len(lines), T), ids[eol], dtype=torch.long)
y = torch.full((len(lines), T), -1, dtype=torch.long)
for b, l in enumerate(lines):
    x[b, 1:len(l) + 1] = torch.tensor(l, dtype=torch.long)
    y[b, :len(l)] = torch.tensor(l, dtype=torch.long)
    y[b, len(l)] = ids[eol]
with torch.no_grad():
    logits, _ = m(x)
    loss = nn.CrossEntropyLoss(ignore_index=-1)(logits.reshape(-1, len(vocab)), y.reshape(-1))
print(json.dumps({"nats_per_char": loss.item(), "lines": len(lines), "chars": int((y >= 0).sum())}))
