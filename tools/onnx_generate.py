"""Generates text from a charrnn model exported by `charrnn export-onnx`, on ONNX
Runtime (pip install onnxruntime numpy), without charrnn:

    python3 onnx_generate.py MODEL.onnx [PRIME] [LENGTH] [TEMPERATURE]

TEMPERATURE 0 (the default) takes the most likely character each time, as
`charrnn sample --greedy` does.
"""
import json
import sys
import unicodedata

import numpy as np
import onnxruntime as ort

path = sys.argv[1]
prime = sys.argv[2] if len(sys.argv) > 2 else ""
length = int(sys.argv[3]) if len(sys.argv) > 3 else 200
temperature = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0

session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
meta = session.get_modelmeta().custom_metadata_map
vocab = json.loads(meta["vocab"])  # the characters in id order, one code point each
config = json.loads(meta["config"])
id_of = {c: i for i, c in enumerate(vocab)}
unknown = id_of.get("\ufffd", -1)  # the unknown symbol (if any) is never generated
if meta["normalize"] != "none":
    prime = unicodedata.normalize(meta["normalize"].upper(), prime)
outputs = [o.name for o in session.get_outputs()]  # logits, hn (and cn for an LSTM)

# Every layer's state, [layers, streams = 1, hidden]; an LSTM has a cell state too.
state = {"h0": np.zeros((config["layers"], 1, config["hidden"]), np.float32)}
if config["cell"] == "lstm":
    state["c0"] = np.zeros_like(state["h0"])


def read(ids):
    """Reads character ids from the state (and moves it on); returns the logits after the last."""
    global state
    out = dict(zip(outputs, session.run(None, {"ids": np.array(ids, np.int64).reshape(-1, 1), **state})))
    state = {"h0": out["hn"], **({"c0": out["cn"]} if "cn" in out else {})}
    return out["logits"][-1, 0].astype(np.float64)


# Without a prime, start as at the beginning of a line.
logits = read([id_of[c] for c in prime] if prime else [id_of["\n"]])
rng = np.random.default_rng()
text = prime
for _ in range(length):
    if unknown >= 0:
        logits[unknown] = -np.inf
    if temperature > 0:
        p = np.exp((logits - logits.max()) / temperature)
        next_id = int(rng.choice(len(vocab), p=p / p.sum()))
    else:
        next_id = int(np.argmax(logits))
    text += vocab[next_id]
    logits = read([next_id])
print(text)
