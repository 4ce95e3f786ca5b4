#!/usr/bin/env python3
"""Writes the optimizer and training-step parity fixtures under test/fixtures/torch-optim/.

Developer-run, like tools/make-fixtures.py (CI has no PyTorch and reads the
committed JSON). Run it with the system interpreter, where Debian's python3-torch
lives:

    /usr/bin/python3 tools/make-optimizer-fixtures.py

Three kinds of fixture, all computed in float64 from float32-representable
inputs, so the expected values are exact answers (to float64 rounding) for
inputs a float32 engine holds without rounding:

- kernels.json: torch.optim.Adam / RMSprop / SGD (momentum 0.9 and 0) on one
  random parameter vector for 5 steps of random gradients; the parameters
  after every step.
- clip.json: torch.nn.utils.clip_grad_norm_(max_norm=5) on a list of gradient
  tensors whose global norm is above 5 and below 5; the clipped gradients and
  the returned norm.
- schedules.json: the learning rate of every step from torch.optim.lr_scheduler:
  SequentialLR(LinearLR warm-up, then StepLR / CosineAnnealingLR / constant).
- train-*.json: shared/bench/torch_ref.py's CharRNN and training step
  (zero_grad -> forward with the carried, detached state -> mean cross-entropy
  -> backward -> clip_grad_norm_ -> opt.step), 4 steps on fixed chunks of B
  streams of T characters laid out as torch_ref.py's `streams` lays them out.
  The initial weights, the chunks (batch-first [B, T], as PyTorch has them),
  every step's loss, gradient norm, learning rate and weights after the step,
  and the token sequence the chunks were cut from. train-lstm-adamw.json adds
  decoupled weight decay (torch.optim.AdamW with the weight matrices in a group of
  their own), warm-up + cosine decay, and an EMA of the weights
  (torch.optim.swa_utils.AveragedModel, updated by torch.lerp after each step).

Tensors are {"shape": [...], "data": [row-major flat list]}, as in
tools/make-fixtures.py.
"""
import json
import os
import sys

import torch
import torch.nn as nn

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "torch-optim")
KERNEL_N = 17  # parameter vector length for the kernel-level fixtures
KERNEL_STEPS = 5


def tensor(t):
    t = t.detach()
    # float() of a float64 is exact and json writes the shortest repr that reads
    # back to the same double: no precision is lost.
    data = [float(v) for v in t.reshape(-1).tolist()] if t.is_floating_point() else [int(v) for v in t.reshape(-1).tolist()]
    return {"shape": list(t.shape), "data": data}


def dumps(obj, depth=0):
    """JSON with one line per tensor: readable diffs, still small."""
    is_tensor = isinstance(obj, dict) and set(obj) == {"shape", "data"}
    if isinstance(obj, dict) and not is_tensor and obj and depth < 3:
        pad = " " * (depth + 1)
        items = [f"{pad}{json.dumps(k)}: {dumps(v, depth + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * depth + "}" + ("\n" if depth == 0 else "")
    if isinstance(obj, list) and obj and isinstance(obj[0], dict) and depth < 3:
        pad = " " * (depth + 1)
        return "[\n" + ",\n".join(pad + dumps(v, depth + 1) for v in obj) + "\n" + " " * depth + "]"
    return json.dumps(obj)


def f32(t):
    """A float64 tensor holding float32-representable values."""
    return t.float().double()


# ---------------------------------------------------------------- kernel level

OPTIMIZERS = {
    # name: (torch constructor, hyper-parameters as charrnn names them)
    "adam": (lambda ps: torch.optim.Adam(ps, lr=2e-3, betas=(0.9, 0.999), eps=1e-8),
             {"lr": 2e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}),
    "rmsprop": (lambda ps: torch.optim.RMSprop(ps, lr=1e-2, alpha=0.99, eps=1e-8),
                {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8}),
    "sgd-momentum": (lambda ps: torch.optim.SGD(ps, lr=1e-2, momentum=0.9),
                     {"lr": 1e-2, "momentum": 0.9}),
    "sgd": (lambda ps: torch.optim.SGD(ps, lr=1e-2, momentum=0.0),
            {"lr": 1e-2, "momentum": 0.0}),
    # Decoupled weight decay, large enough (lr * wd = 2e-3 per step) that a
    # missing or coupled decay shows far above float32 rounding.
    "adamw": (lambda ps: torch.optim.AdamW(ps, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1.0),
              {"lr": 2e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weightDecay": 1.0}),
}


def kernel_fixture(seed):
    torch.manual_seed(seed)
    out = {"generator": "tools/make-optimizer-fixtures.py", "torch": torch.__version__, "seed": seed, "optimizers": {}}
    for name, (make, hyper) in OPTIMIZERS.items():
        p0 = f32(torch.randn(KERNEL_N))
        # Gradients of mixed scale (x0.01 to x3) so Adam/RMSprop's normalisation
        # and eps matter differently per element, and sign changes between steps.
        scales = f32(torch.logspace(-2, 0.5, KERNEL_N))
        grads = [f32(torch.randn(KERNEL_N) * scales) for _ in range(KERNEL_STEPS)]
        p = p0.clone().requires_grad_()
        opt = make([p])
        after = []
        for g in grads:
            p.grad = g.clone()
            opt.step()
            after.append(tensor(p))
        out["optimizers"][name] = {
            "hyper": hyper,
            "param": tensor(p0),
            "grads": [tensor(g) for g in grads],
            "after": after,
        }
    return out


# ---------------------------------------------------------------- clipping

def clip_fixture(seed):
    torch.manual_seed(seed)
    cases = []
    shapes = [(3, 4), (5,), (2, 3)]
    for label, target in (("above", 12.5), ("below", 2.0), ("just-above", 5.0 + 1e-3)):
        grads = [torch.randn(*s) for s in shapes]
        total = torch.sqrt(sum((g.double() ** 2).sum() for g in grads))
        grads = [f32(g * (target / total.item())) for g in grads]
        params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
        for p, g in zip(params, grads):
            p.grad = g.clone()
        norm = nn.utils.clip_grad_norm_(params, max_norm=5.0)
        cases.append({
            "label": label,
            "maxNorm": 5.0,
            "grads": [tensor(g) for g in grads],
            "norm": float(norm.item()),
            "clipped": [tensor(p.grad) for p in params],
        })
    return {"generator": "tools/make-optimizer-fixtures.py", "torch": torch.__version__, "seed": seed, "cases": cases}


# ---------------------------------------------------------------- schedules

def warmup_then(opt, warmup, after):
    """charrnn's schedule: LinearLR from lr / (warmup + 1) over `warmup` steps, then `after`."""
    if warmup == 0:
        return after
    lin = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1 / (warmup + 1), end_factor=1.0, total_iters=warmup)
    return torch.optim.lr_scheduler.SequentialLR(opt, [lin, after], milestones=[warmup])


def schedule_case(name, lr, warmup, steps, decay=1.0, decay_every=0, lr_min=0.0, total=0):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    if name == "step":
        after = torch.optim.lr_scheduler.StepLR(opt, step_size=decay_every, gamma=decay)
    elif name == "cosine":
        after = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total - warmup, eta_min=lr_min)
    else:
        after = torch.optim.lr_scheduler.ConstantLR(opt, factor=1.0, total_iters=0)
    sched = warmup_then(opt, warmup, after)
    rates = []
    for _ in range(steps):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return {"schedule": {"lr": lr, "name": name, "warmup": warmup, "decay": decay, "decayEvery": decay_every,
                         "lrMin": lr_min, "totalSteps": total}, "rates": rates}


def schedules_fixture():
    import warnings
    warnings.filterwarnings("ignore")  # SequentialLR's deprecation chatter about step(epoch)
    return {"generator": "tools/make-optimizer-fixtures.py", "torch": torch.__version__, "cases": [
        # Up to the planned end only: past T_max, CosineAnnealingLR climbs back up
        # (it is periodic) where charrnn holds lr_min (tested by hand).
        schedule_case("cosine", 2e-3, 5, 30, lr_min=1e-4, total=30),
        schedule_case("cosine", 3e-3, 0, 25, lr_min=0.0, total=25),
        schedule_case("step", 2e-3, 3, 30, decay=0.97, decay_every=4),
        schedule_case("step", 1e-2, 0, 12, decay=0.5, decay_every=3),
        schedule_case("constant", 2e-3, 4, 10),
    ]}


# ---------------------------------------------------------------- training runs

class CharRNN(nn.Module):
    """shared/bench/torch_ref.py's model with dropout 0."""

    def __init__(s, cell, layers, V, E, H):
        super().__init__()
        s.emb = nn.Embedding(V, E)
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
        s.rnn = rnn(E, H, layers, batch_first=True, dropout=0.0)
        s.drop = nn.Dropout(0.0)
        s.out = nn.Linear(H, V)

    def forward(s, x, h=None):
        y, h = s.rnn(s.emb(x), h)
        return s.out(s.drop(y)), h


def decay_groups(m, wd):
    """AdamW parameter groups: decay the recurrent and output weight matrices, not biases or the embedding."""
    decayed = [p for n, p in m.named_parameters() if n.startswith("rnn.weight_") or n == "out.weight"]
    rest = [p for n, p in m.named_parameters() if not (n.startswith("rnn.weight_") or n == "out.weight")]
    return [{"params": decayed, "weight_decay": wd}, {"params": rest, "weight_decay": 0.0}]


def detach(h):
    return tuple(t.detach() for t in h) if isinstance(h, tuple) else h.detach()


def streams(d, B):
    """torch_ref.py's layout: row b is d[b*L:(b+1)*L], targets shifted by one."""
    L = (len(d) - 1) // B
    x = torch.stack([d[b * L: b * L + L] for b in range(B)])
    y = torch.stack([d[b * L + 1: b * L + L + 1] for b in range(B)])
    return x, y


def train_fixture(seed, cell, optimizer, opt_config, clip, lr_decay=None, steps=4, B=2, T=5, V=6, E=4, H=5, layers=2,
                  schedule=None, ema=None):
    torch.manual_seed(seed)
    m = CharRNN(cell, layers, V, E, H)  # float32 draws, PyTorch's own initialisation
    initial = {name: tensor(p.double()) for name, p in m.state_dict().items()}
    m = m.double()
    data = torch.randint(0, V, (B * steps * T + 1,))
    tx, ty = streams(data, B)

    opt = optimizer(m)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=lr_decay[1], gamma=lr_decay[0]) if lr_decay else None
    if schedule:
        after = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=schedule["totalSteps"] - schedule["warmup"], eta_min=schedule["lrMin"])
        sched = warmup_then(opt, schedule["warmup"], after)
    averaged = torch.optim.swa_utils.AveragedModel(m, avg_fn=lambda a, p, n: torch.lerp(a, p, 1 - ema)) if ema else None
    h = None
    pos = 0
    xs, ys, records = [], [], []
    m.train()
    for _ in range(steps):
        x, y = tx[:, pos:pos + T], ty[:, pos:pos + T]
        pos += T
        lr = opt.param_groups[0]["lr"]  # the rate this step's update uses
        opt.zero_grad(set_to_none=True)
        o, h = m(x, h)
        h = detach(h)
        loss = nn.functional.cross_entropy(o.reshape(-1, V), y.reshape(-1))
        loss.backward()
        norm = nn.utils.clip_grad_norm_(m.parameters(), clip) if clip > 0 else None
        opt.step()
        if sched:
            sched.step()
        if averaged:
            averaged.update_parameters(m)
        xs.append(tensor(x))
        ys.append(tensor(y))
        records.append({
            "loss": float(loss.item()),
            "gradNorm": float(norm.item()) if norm is not None else None,
            "clipped": bool(norm is not None and norm.item() > clip),
            "lr": lr,
            "weights": {name: tensor(p) for name, p in m.state_dict().items()},
            **({"ema": {name: tensor(p) for name, p in averaged.module.state_dict().items()}} if averaged else {}),
        })
    return {
        "generator": "tools/make-optimizer-fixtures.py",
        "torch": torch.__version__,
        "seed": seed,
        "config": {"cell": cell, "layers": layers, "hidden": H, "emb": E, "vocabSize": V, "dropout": 0},
        "optimizer": opt_config,
        "clip": clip,
        # charrnn's names: multiply lr by lrDecay every lrDecayEvery steps (1 / 0: constant).
        "lrDecay": lr_decay[0] if lr_decay else 1,
        "lrDecayEvery": lr_decay[1] if lr_decay else 0,
        **({"schedule": schedule} if schedule else {}),
        **({"ema": ema} if ema else {}),
        "B": B,
        "T": T,
        # The whole token sequence the chunks were cut from, for driving
        # charrnn's Trainer (whose StreamBatcher cuts it as streams() does).
        "data": tensor(data),
        "x": xs,  # per step, [B, T] batch-first
        "y": ys,
        "initialWeights": initial,
        "steps": records,
    }


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    base = {"beta1": 0.9, "beta2": 0.999, "alpha": 0.99, "momentum": 0.9, "eps": 1e-8}
    files = {
        "kernels.json": kernel_fixture(2024),
        "clip.json": clip_fixture(2025),
        "schedules.json": schedules_fixture(),
        # The brief's run: 2-layer LSTM, Adam (charrnn's defaults), clip 5.
        "train-lstm-adam.json": train_fixture(
            3001, "lstm", lambda m: torch.optim.Adam(m.parameters(), lr=2e-3, betas=(0.9, 0.999), eps=1e-8),
            {**base, "name": "adam", "lr": 2e-3}, clip=5.0),
        # GRU with RMSprop. The tiny models' gradient norms are 0.2 to 0.9, so
        # clip 5 never acts; clip 0.4 clips some steps and not others here.
        "train-gru-rmsprop.json": train_fixture(
            3002, "gru", lambda m: torch.optim.RMSprop(m.parameters(), lr=1e-2, alpha=0.99, eps=1e-8),
            {**base, "name": "rmsprop", "lr": 1e-2}, clip=0.4),
        # tanh-RNN with SGD + momentum, lr halved every 2 steps by StepLR; clip
        # 0.5 acts on the later steps, and with SGD the clip scale reaches the
        # update directly (Adam and RMSprop mostly normalise it away).
        "train-rnn-sgd.json": train_fixture(
            3003, "rnn", lambda m: torch.optim.SGD(m.parameters(), lr=0.5, momentum=0.9),
            {**base, "name": "sgd", "lr": 0.5}, clip=0.5, lr_decay=(0.5, 2)),
        # AdamW on the weight matrices only (charrnn's choice: not the biases or
        # the embedding), warm-up 2 then cosine to 2e-4 over 6 steps, EMA 0.7
        # (a decay that small so the 6 steps move the average visibly).
        "train-lstm-adamw.json": train_fixture(
            3004, "lstm", lambda m: torch.optim.AdamW(decay_groups(m, 0.5), lr=2e-3, betas=(0.9, 0.999), eps=1e-8),
            {**base, "name": "adam", "lr": 2e-3, "weightDecay": 0.5}, clip=5.0, steps=6,
            schedule={"lr": 2e-3, "name": "cosine", "warmup": 2, "decay": 1, "decayEvery": 0, "lrMin": 2e-4, "totalSteps": 6},
            ema=0.7),
    }
    for name, fx in files.items():
        path = os.path.join(OUT_DIR, name)
        with open(path, "w") as f:
            f.write(dumps(fx))
        extra = ""
        if "steps" in fx:
            extra = "  " + " ".join(f"[loss {s['loss']:.4f} norm {s['gradNorm'] if s['gradNorm'] is None else round(s['gradNorm'], 4)} lr {s['lr']:g}{' clipped' if s['clipped'] else ''}]" for s in fx["steps"])
        print(f"wrote {os.path.relpath(path)}{extra}", file=sys.stderr)


if __name__ == "__main__":
    main()
