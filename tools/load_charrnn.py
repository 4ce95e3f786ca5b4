import json, struct, torch, torch.nn as nn

def read_safetensors(path):  # safetensors.torch.load_file(path) gives the same tensors; this needs only torch
    raw = bytearray(open(path, "rb").read())
    n = struct.unpack_from("<Q", raw)[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    return {k: torch.frombuffer(raw, dtype=torch.float32, offset=8 + n + v["data_offsets"][0],
                                count=(v["data_offsets"][1] - v["data_offsets"][0]) // 4).reshape(v["shape"])
            for k, v in header.items()}, meta

class CharRNN(nn.Module):
    def __init__(s, cfg):
        super().__init__(); V, E, H = cfg["vocabSize"], cfg["emb"], cfg["hidden"]
        s.emb, s.out = nn.Embedding(V, E), nn.Linear(H, V)
        s.rnn = getattr(nn, cfg["cell"].upper())(E, H, cfg["layers"], batch_first=True)
    def forward(s, x, h=None): y, h = s.rnn(s.emb(x), h); return s.out(y), h

def load(path):  # the model (eval mode), its config and its vocabulary (one string per id)
    tensors, meta = read_safetensors(path)
    cfg, vocab = json.loads(meta["config"]), json.loads(meta["vocab"])
    model = CharRNN(cfg); model.load_state_dict(tensors, strict=True)
    return model.eval(), cfg, vocab
