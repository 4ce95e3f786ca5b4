#!/usr/bin/python3
"""PyTorch interoperability check for charrnn model files (developer-run, not CI).

charrnn stores a model as a safetensors file whose tensors carry PyTorch's
state_dict names (emb.weight, rnn.weight_ih_l0, ..., out.bias) and whose
__metadata__ holds format "charrnn/1", the vocabulary and the config as JSON.
This script needs only PyTorch: it reads files with tools/load_charrnn.py (the
loader docs/pytorch.md shows, a minimal safetensors reader included, since Debian
packages no safetensors) and has its own minimal writer.

  check MODEL.safetensors LOGITS.json
      Loads a charrnn-written model with tools/load_charrnn.py (nn.Embedding +
      nn.LSTM/GRU/RNN (batch_first) + nn.Linear, load_state_dict(strict=True)), runs the
      chunks in LOGITS.json from a zero state with the state carried between
      chunks, and compares with the logits charrnn computed. Exit status 1 when
      they differ by more than --tol.

  write-fixtures DIR
      Writes DIR/torch-{lstm,gru,rnn}.safetensors from PyTorch-initialised
      modules and DIR/torch-logits.json with PyTorch's logits on fixed input,
      for charrnn's tests to load and reproduce.

LOGITS.json: {"cell": str, "B": int, "T": int, "chunks": [{"input": [[id] * T] * B,
"logits": [[[float] * V] * T] * B}, ...]} (batch-first, as PyTorch sees it).
"""
import argparse, json, struct, sys
import torch

import load_charrnn  # beside this script

FORMAT = "charrnn/1"


def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, tensor), written in that order; header padded with spaces to a multiple of 8."""
    header = {"__metadata__": metadata}
    offset = 0
    blobs = []
    for name, t in tensors:
        flat = t.detach().to(torch.float32).contiguous().reshape(-1).tolist()
        blob = struct.pack(f"<{len(flat)}f", *flat)
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def load_model(path):
    """The loader of docs/pytorch.md (tools/load_charrnn.py, the very code docs/pytorch.md shows), plus a format check."""
    _, meta = load_charrnn.read_safetensors(path)
    if meta.get("format") != FORMAT:
        sys.exit(f"{path}: format {meta.get('format')!r}, expected {FORMAT}")
    m, cfg, vocab = load_charrnn.load(path)
    assert len(vocab) == cfg["vocabSize"], "vocabulary size differs from the config"
    return m, cfg, vocab


@torch.no_grad()
def run_chunks(m, inputs):
    """Logits for each chunk (batch-first ids), the recurrent state carried from one chunk to the next."""
    h = None
    out = []
    for ids in inputs:
        o, h = m(torch.tensor(ids, dtype=torch.long), h)
        out.append(o)
    return out


def check(model_path, logits_path, tol):
    m, cfg, vocab = load_model(model_path)
    ref = json.load(open(logits_path))
    assert ref["cell"] == cfg["cell"], f"logits are for {ref['cell']}, the model is {cfg['cell']}"
    got = run_chunks(m, [c["input"] for c in ref["chunks"]])
    worst = 0.0
    for k, (c, o) in enumerate(zip(ref["chunks"], got)):
        expected = torch.tensor(c["logits"], dtype=torch.float32)
        if expected.shape != o.shape:
            sys.exit(f"chunk {k}: charrnn logits have shape {list(expected.shape)}, PyTorch {list(o.shape)}")
        worst = max(worst, (expected - o).abs().max().item())
    ok = worst <= tol
    print(json.dumps({"model": model_path, "cell": cfg["cell"], "vocab": len(vocab), "chunks": len(got),
                      "max_abs_diff": worst, "tol": tol, "ok": ok, "torch": torch.__version__}))
    return 0 if ok else 1


def write_fixtures(outdir):
    # Characters from every UTF-8 length, the emoji outside the BMP (a surrogate pair in JSON).
    vocab = sorted(set("\n ab\u00e9\u4e2d\U0001F600"))
    B, T = 2, 3
    g = torch.Generator().manual_seed(1234)
    inputs = [torch.randint(0, len(vocab), (B, T), generator=g).tolist() for _ in range(2)]
    all_logits = {}
    for i, cell in enumerate(["lstm", "gru", "rnn"]):
        torch.manual_seed(100 + i)
        cfg = {"cell": cell, "layers": 2, "hidden": 5, "emb": 4, "vocabSize": len(vocab), "dropout": 0}
        m = load_charrnn.CharRNN(cfg).eval()
        meta = {"format": FORMAT, "vocab": json.dumps(vocab), "config": json.dumps(cfg), "written_by": "torch " + torch.__version__}
        path = f"{outdir}/torch-{cell}.safetensors"
        write_safetensors(path, list(m.state_dict().items()), meta)
        # Read back through the reader above and strict-load, so the fixture is known to be what PyTorch wrote.
        m2, _, _ = load_model(path)
        chunks = run_chunks(m2, inputs)
        all_logits[cell] = {"cell": cell, "B": B, "T": T,
                            "chunks": [{"input": ids, "logits": o.tolist()} for ids, o in zip(inputs, chunks)]}
    with open(f"{outdir}/torch-logits.json", "w") as f:
        json.dump(all_logits, f, indent=None)
        f.write("\n")
    print(f"wrote {outdir}/torch-{{lstm,gru,rnn}}.safetensors and {outdir}/torch-logits.json")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("model")
    c.add_argument("logits")
    c.add_argument("--tol", type=float, default=1e-5)
    w = sub.add_parser("write-fixtures")
    w.add_argument("outdir")
    a = p.parse_args()
    sys.exit(check(a.model, a.logits, a.tol) if a.cmd == "check" else write_fixtures(a.outdir))


if __name__ == "__main__":
    main()
