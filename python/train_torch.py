#!/usr/bin/env python3
"""Continues a charrnn run in PyTorch, with the run's own math, and saves back in charrnn's formats.

charrnn export-torch copies this file, unchanged, beside the run's training text
(text.u16 or text.u32, as ids) and settings.json: the run's settings as data
(cell, sizes, optimizer, learning-rate schedule, validation, ...), which this
program reads and branches on. Alone (one process), or under torchrun with
DistributedDataParallel (NCCL on GPUs, gloo on CPUs), through run.sh beside it:

    sh run.sh N --resume RUN_DIR [--steps TOTAL] [--minutes M]
    python3 train_torch.py --resume RUN_DIR [--steps TOTAL]          # one process

It reads RUN_DIR/checkpoint.safetensors (weights, optimizer moments and step,
position in the batches, carried state), trains with the run's own math (the
global batch stays the run's --batch sequences, split across the processes;
gradients are averaged by DDP, so the update is the one a single process makes),
and writes back model.safetensors, best.safetensors and checkpoint.safetensors in
charrnn's formats (atomically, from rank 0) and one JSON event per line to
RUN_DIR/log.jsonl. charrnn sample / eval / train --resume go on from there.

What does not carry over: dropout masks come from PyTorch's generator (seeded
from the run's seed, the step and the rank), not from charrnn's; charrnn's own generator
state is kept in the checkpoint untouched for when charrnn resumes. No samples
are drawn (charrnn's sample settings are for people watching it train).
Needs only PyTorch (and NumPy, which PyTorch installs): safetensors files are
read and written below in plain Python.
"""
import argparse, json, math, os, signal, sys, time
from types import SimpleNamespace

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

CHECKPOINT_FORMAT, MODEL_FORMAT = "charrnn-checkpoint/1", "charrnn/1"
WARMUP_STEPS = 3        # steps left out of the throughput figure, as charrnn does
SMOOTHING = 0.98        # the smooth_loss of log.jsonl: an exponential moving average of the step losses


class UserError(Exception):
    """Something about the input (a folder, a file, a flag): said as one sentence, without a traceback."""


# ---- The run's settings: settings.json beside this file, written by charrnn export-torch
# (src/export/torch-settings.ts maps each of the run's settings to these entries) ----

SETTINGS_FILE, SETTINGS_FORMAT = "settings.json", "charrnn-torch-settings/1"
SETTING_NAMES = (
    # what the run is, and where its text is (beside this file)
    "summary", "corpus", "run_folder", "ids_file", "ids_dtype", "ids_count", "text_hash", "eol_id", "lines_file",
    # the model
    "cell", "layers", "hidden", "emb", "dropout", "emb_dropout",
    # the batches and the update
    "lines", "batch", "seq", "optimizer", "betas", "alpha", "momentum", "eps", "weight_decay", "lr", "clip", "ema",
    # the learning rate after steps_done steps
    "warmup", "lr_schedule", "lr_decay", "lr_decay_every", "lr_min", "cosine_steps", "replans",
    # validation, checkpoints, the seed of what charrnn draws
    "val_split", "val_frac", "val_every", "val_max_chars", "patience", "checkpoint_every", "seed",
)
S = SimpleNamespace()  # the run's settings, filled by load_settings before anything uses them


def load_settings(folder):
    """Reads settings.json into S; a UserError says what is wrong."""
    path = os.path.join(folder, SETTINGS_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            entries = json.load(f)
    except (OSError, ValueError):
        entries = None
    if not isinstance(entries, dict) or entries.get("format") != SETTINGS_FORMAT or sorted(set(entries) - {"format"}) != sorted(SETTING_NAMES):
        raise UserError(f"{path} is missing, damaged or from another charrnn: keep the {SETTINGS_FILE} that export-torch wrote "
                        f"beside {os.path.basename(__file__)}, or export the run again.")
    S.__dict__.update({k: entries[k] for k in SETTING_NAMES})


# ---- safetensors in plain Python: an 8-byte little-endian header length, a JSON
# header (name -> dtype, shape, data_offsets; "__metadata__" -> strings), raw
# little-endian data ----

def read_safetensors(path):
    """Returns ({name: float32 tensor}, metadata); a UserError says what is wrong."""
    if not os.path.isfile(path):
        raise UserError(f"There is no checkpoint at {path}: give --resume the folder of a charrnn run that has saved one.")
    with open(path, "rb") as f:
        data = f.read()
    try:
        (n,) = np.frombuffer(data[:8], dtype="<u8")
        header = json.loads(data[8:8 + int(n)].decode("utf-8"))
        metadata = header.pop("__metadata__", {})
        start, tensors = 8 + int(n), {}
        for name, info in header.items():
            begin, end = info["data_offsets"]
            if info["dtype"] != "F32" or start + end > len(data) or end - begin != 4 * math.prod(info["shape"]):
                raise ValueError(name)
            values = np.frombuffer(data, dtype="<f4", count=(end - begin) // 4, offset=start + begin)
            tensors[name] = torch.from_numpy(values.astype(np.float32).reshape(info["shape"]))
        return tensors, metadata
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, AttributeError):
        raise UserError(f"{path} is not a usable charrnn checkpoint: it is not a whole safetensors file (truncated or damaged?).")


def write_safetensors(path, tensors, metadata):
    """Writes [(name, tensor)] and the metadata atomically: a temporary file, flushed, then renamed over."""
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors:
        blob = t.detach().to("cpu", torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * (-len(head) % 8)  # the data starts 8-byte aligned, as the reference writer does
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(len(head).to_bytes(8, "little") + head)
        for blob in blobs:
            f.write(blob)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# ---- The data: the benchmark protocol's layout. The training split is cut into
# S.batch contiguous streams of length L = (n - 1) // S.batch; a step takes the next
# S.seq columns of every stream, and when fewer than S.seq are left it goes back to
# column 0 with a zero state. Each process holds its own share of the streams. ----

def load_ids(folder):
    path = os.path.join(folder, S.ids_file)
    if not os.path.isfile(path):
        raise UserError(f"The training text {path} is missing: keep {S.ids_file} beside {os.path.basename(__file__)}.")
    ids = np.fromfile(path, dtype=S.ids_dtype)
    if len(ids) != S.ids_count:
        raise UserError(f"{path} holds {len(ids)} characters, not the run's {S.ids_count}: export the run again.")
    return torch.from_numpy(ids.astype(np.int64))


def split(ids):
    n_train = math.floor(len(ids) * (1 - S.val_frac))  # the same double arithmetic as charrnn's split
    return ids[:n_train], ids[n_train:]


def streams(data, B):
    """Inputs and targets [B, L]: stream b is data[b*L : b*L + L], its targets one character later."""
    L = (len(data) - 1) // B
    return data[:B * L].view(B, L), data[1:B * L + 1].view(B, L)


class Batcher:
    """Hands out the S.seq-column chunks of this process's streams; pos and chunks are charrnn's stream state."""

    def __init__(self, x, y, pos, chunks):
        self.x, self.y, self.pos, self.chunks = x, y, pos, chunks
        self.L = x.shape[1]
        self.steps_per_epoch = self.L // S.seq

    def next(self):
        """This process's next chunk [T, B / world] time-major, whether it starts from a zero state, and the
        targets scored in the whole (all processes') chunk."""
        if self.pos + S.seq > self.L:
            self.pos = 0
        reset = self.pos == 0
        x, y = self.x[:, self.pos:self.pos + S.seq].t(), self.y[:, self.pos:self.pos + S.seq].t()
        self.pos += S.seq
        self.chunks += 1
        return x, y, reset, S.batch * S.seq

    @property
    def epoch(self):
        return self.chunks / self.steps_per_epoch


@torch.no_grad()
def validation_loss(model, val, device):
    """Mean cross-entropy over the validation split: B streams fed in order with the state carried (charrnn's validation)."""
    B = max(1, min(S.batch, (len(val) - 1) // S.seq))
    x, y = streams(val, B)
    model.eval()
    state, total, count = None, 0.0, 0
    for s in range(0, x.shape[1], S.seq):
        xs, ys = x[:, s:s + S.seq].t().to(device), y[:, s:s + S.seq].t().to(device)
        logits, state = model(xs, state)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ys.reshape(-1), reduction="sum").item()
        count += ys.numel()
    model.train()
    return total / count


# ---- The model: charrnn's network under PyTorch's parameter names, time-major ----

class CharRNN(nn.Module):
    def __init__(self, V):
        super().__init__()
        self.emb = nn.Embedding(V, S.emb)
        # charrnn drops out after every recurrent layer: the recurrent module's own dropout is between layers, self.drop after the last.
        between = {"dropout": S.dropout} if S.dropout != 0 and S.layers > 1 else {}
        self.rnn = CELLS[S.cell](S.emb, S.hidden, S.layers, **between)
        self.out = nn.Linear(S.hidden, V)
        self.drop = nn.Dropout(S.dropout) if S.dropout != 0 else None
        self.emb_drop = nn.Dropout(S.emb_dropout) if S.emb_dropout != 0 else None  # on the embedding's output

    def forward(self, ids, state=None):
        x = self.emb(ids)  # [T, B, emb]
        if self.emb_drop is not None:
            x = self.emb_drop(x)
        y, state = self.rnn(x, state)  # [T, B, hidden]
        if self.drop is not None:
            y = self.drop(y)
        return self.out(y), state  # [T, B, V]


CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


# ---- The optimizer. charrnn keeps its per-parameter state as two flat buffers in parameter
# order, train.optimizer.first and train.optimizer.second (empty where the optimizer keeps one):
# these are torch.optim's names for them, and whether torch.optim counts steps in that state. ----

MOMENTS = {"adam": ("exp_avg", "exp_avg_sq", True), "rmsprop": ("square_avg", None, True), "sgd": ("momentum_buffer", None, False)}


def make_optimizer(model):
    if S.weight_decay > 0:
        # AdamW's decoupled decay (charrnn refuses it with another optimizer), on the recurrent and output weight
        # matrices only: not the biases, not the embedding.
        decayed = [n.startswith("rnn.weight_") or n == "out.weight" for n, _ in model.named_parameters()]
        groups = [[p for p, d in zip(model.parameters(), decayed) if d == keep] for keep in (True, False)]
        return torch.optim.AdamW([{"params": groups[0], "weight_decay": S.weight_decay}, {"params": groups[1], "weight_decay": 0.0}],
                                 lr=S.lr, betas=tuple(S.betas), eps=S.eps)
    if S.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=S.lr, betas=tuple(S.betas), eps=S.eps)
    if S.optimizer == "rmsprop":
        return torch.optim.RMSprop(model.parameters(), lr=S.lr, alpha=S.alpha, eps=S.eps)
    return torch.optim.SGD(model.parameters(), lr=S.lr, momentum=S.momentum)


def load_moments(optimizer, params, tensors, sizes, steps, device):
    if steps == 0:
        return  # a fresh optimizer: torch.optim starts its state at the first step, as charrnn does
    first_name, second_name, counted = MOMENTS[S.optimizer]
    first = tensors["train.optimizer.first"].split(sizes)
    second = tensors["train.optimizer.second"].split(sizes) if second_name else None
    for i, p in enumerate(params):
        optimizer.state[p] = {first_name: first[i].view_as(p).to(device).clone()}
        if second_name:
            optimizer.state[p][second_name] = second[i].view_as(p).to(device).clone()
        if counted:
            optimizer.state[p]["step"] = torch.tensor(float(steps))


def save_moments(optimizer, params):
    def flat(key):
        return torch.cat([optimizer.state[p][key].reshape(-1) for p in params])
    first_name, second_name, _ = MOMENTS[S.optimizer]
    return flat(first_name), flat(second_name) if second_name else torch.zeros(0)


def cosine_phase(steps_done):
    """The cosine's phase (0 at S.lr, pi at S.lr_min): the plain cosine until the first re-plan, then, from
    each re-plan on, linear from the phase it stood at to pi at the re-plan's end (so the rate never jumps)."""
    start, end, start_phase = 0, S.cosine_steps, None

    def phase(step):
        if step >= end:
            return math.pi
        if start_phase is None:
            return math.pi * step / end
        return start_phase + (math.pi - start_phase) * (step - start) / (end - start)

    for at, new_end in S.replans:
        if steps_done < at:
            break
        start_phase = phase(at)
        start, end = at, new_end
    return phase(steps_done)


class WeightAverage:
    """The average of every parameter, in parameter order; the checkpoint keeps it flat as train.ema."""

    def __init__(self, model, tensors, steps_done, path):
        self.params = list(model.parameters())
        if steps_done == 0:
            self.values = [p.detach().clone() for p in self.params]  # replaced by the first update
        elif "train.ema" not in tensors or tensors["train.ema"].numel() != sum(p.numel() for p in self.params):
            raise UserError(f"{path} is not a usable charrnn checkpoint: the run keeps a moving average (--ema) and its train.ema is missing or of another size.")
        else:
            flat = tensors["train.ema"].split([p.numel() for p in self.params])
            self.values = [v.view_as(p).to(p.device).clone() for v, p in zip(flat, self.params)]

    @torch.no_grad()
    def update(self, step):
        """After the optimizer's step-th update (1-based): a <- a + (1 - S.ema) (p - a)."""
        for a, p in zip(self.values, self.params):
            if step <= 1:
                a.copy_(p)
            else:
                a += (1 - S.ema) * (p - a)

    @torch.no_grad()
    def swap(self):
        """Exchanges the parameters and the average in place (again to undo, bit for bit)."""
        for a, p in zip(self.values, self.params):
            raw = p.detach().clone()
            p.copy_(a)
            a.copy_(raw)

    def named(self, model):
        return list(zip([n for n, _ in model.named_parameters()], self.values))

    def flat(self):
        return torch.cat([a.reshape(-1) for a in self.values])


# ---- charrnn's generator, for what charrnn draws from it (held-out text, the order of batches) ----

class Random:
    """charrnn's generator (xoshiro128**, seeded through splitmix32), as far as the program draws from it."""

    def __init__(self, seed):
        x, self.s = seed & 0xFFFFFFFF, []
        for _ in range(4):
            x = (x + 0x9E3779B9) & 0xFFFFFFFF
            z = ((x ^ (x >> 16)) * 0x85EBCA6B) & 0xFFFFFFFF
            z = ((z ^ (z >> 13)) * 0xC2B2AE35) & 0xFFFFFFFF
            self.s.append(z ^ (z >> 16))

    def uint32(self):
        s0, s1, s2, s3 = self.s
        result = (rotl((s1 * 5) & 0xFFFFFFFF, 7) * 9) & 0xFFFFFFFF
        t = (s1 << 9) & 0xFFFFFFFF
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        self.s = [s0, s1, s2, rotl(s3, 11)]
        return result

    def int(self, n):
        """An integer in [0, n), from a double with 53 random bits."""
        hi, lo = self.uint32() >> 5, self.uint32() >> 6
        return math.floor((hi * 67108864 + lo) / 9007199254740992 * n)


def rotl(x, k):
    return ((x << k) | (x >> (32 - k))) & 0xFFFFFFFF


def shuffle(a, rng):
    """charrnn's Fisher-Yates shuffle of a list, in place."""
    for i in range(len(a) - 1, 0, -1):
        j = rng.int(i + 1)
        a[i], a[j] = a[j], a[i]


# ---- The held-out text: --val-split spread ----

SPREAD_WINDOW = 1000  # the longest held-out window, in characters


def spread_split(ids):
    """Training text and K held-out windows of w characters laid end to end, one at a seeded place in each of
    K equal segments; the training text is the rest, joined in order. Returns (train, val, K)."""
    n = len(ids)
    held = math.floor(n * S.val_frac)
    w = min(SPREAD_WINDOW, held)
    K = held // w if w >= 2 else 0
    if K == 0:
        return ids, ids[:0], 0
    rng, segment = Random(S.seed ^ 0x2545F491), n // K
    starts = [k * segment + rng.int(segment - w + 1) for k in range(K)]
    ends = [0] + [s + w for s in starts]
    train = torch.cat([ids[a:b] for a, b in zip(ends, starts + [n])])
    val = torch.cat([ids[s:s + w] for s in starts])
    return train, val, K


def bounded_windows(val, windows):
    """At most S.val_max_chars of the held-out text (0: all) as whole windows, evenly spaced so they stay spread."""
    if S.val_max_chars <= 0 or len(val) <= S.val_max_chars + 1:
        return val, windows
    w = len(val) // windows
    keep = max(1, S.val_max_chars // w)
    picked = [(i * windows) // keep for i in range(keep)]
    return torch.cat([val[k * w:(k + 1) * w] for k in picked]), keep


@torch.no_grad()
def window_loss(model, val, windows, device):
    """Mean cross-entropy over the held-out windows: each one stream (its first character only an input), fed
    in chunks of S.seq columns with the state carried, the last chunk shorter."""
    w = len(val) // windows
    x, y = val.view(windows, w)[:, :-1], val.view(windows, w)[:, 1:]
    model.eval()
    state, total, count = None, 0.0, 0
    for s in range(0, w - 1, S.seq):
        xs, ys = x[:, s:s + S.seq].t().to(device), y[:, s:s + S.seq].t().to(device)
        logits, state = model(xs, state)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ys.reshape(-1), reduction="sum").item()
        count += ys.numel()
    model.train()
    return total / count


# ---- Line mode (--lines): every non-empty line is one sequence from a zero state. A line of n
# characters is n + 1 steps: inputs [EOL, c1 .. cn], targets [c1 .. cn, EOL]. A batch is S.batch whole
# lines padded to its longest; a padded step reads EOL and has the target IGNORE, so it adds no loss
# and no gradient (a recurrent step depends on earlier steps only, and padding only follows a line).
# The text file holds every line followed by S.eol_id, as charrnn reads them. ----

IGNORE = -1  # charrnn's IGNORE_TARGET: cross_entropy's ignore_index


class Lines:
    """Encoded lines: line i is ids[starts[i]:starts[i + 1]], without its end-of-line (numpy arrays)."""

    def __init__(self, ids, starts):
        self.ids, self.starts = ids, starts
        self.lengths = starts[1:] - starts[:-1]

    def __len__(self):
        return len(self.lengths)

    def line(self, i):
        return self.ids[self.starts[i]:self.starts[i + 1]]

    @property
    def targets(self):
        """Targets one pass over the lines scores: each line's characters and its end-of-line."""
        return int(self.lengths.sum()) + len(self)


def hold_out_lines(ids):
    """charrnn's split of line mode: whole lines held out at random with the seed (lists are often sorted), every
    copy of a line on the same side; floor(count * S.val_frac) lines (whole groups of copies, so possibly a few
    more), at least one when S.val_frac > 0 and there are two distinct lines, never every distinct line. Both
    sides keep the text's order. Returns (train, val) as Lines."""
    ids = ids.numpy()
    ends = np.flatnonzero(ids == S.eol_id)
    starts = np.concatenate([[0], ends[:-1] + 1]).astype(np.int64)
    keys = [ids[a:b].tobytes() for a, b in zip(starts, ends)]
    copies = {}  # distinct lines in order of first appearance, and their copies
    for k in keys:
        copies[k] = copies.get(k, 0) + 1
    distinct = list(copies)
    wanted = math.floor(len(keys) * S.val_frac)
    if S.val_frac > 0 and wanted == 0 and len(distinct) >= 2:
        wanted = 1
    order = list(range(len(distinct)))
    shuffle(order, Random(S.seed ^ 0x6C696E65))  # 'line': its own stream, apart from the weights' and the batches'
    held, count = set(), 0
    for k in order[:-1]:  # never all of them: training keeps at least one distinct line
        if count >= wanted:
            break
        held.add(distinct[k])
        count += copies[distinct[k]]
    val = np.array([k in held for k in keys], dtype=bool)

    def pick(chosen):
        s, e = starts[chosen], ends[chosen]
        flat = np.concatenate([ids[a:b] for a, b in zip(s, e)] + [np.zeros(0, ids.dtype)])
        return Lines(flat.astype(np.int64), np.concatenate([[0], np.cumsum(e - s)]).astype(np.int64))
    return pick(~val), pick(val)


def line_batch(lines, picked, B):
    """The lines picked as one batch of B sequences, time-major [T, B]: sequence b reads [EOL, chars] and predicts
    [chars, EOL]; steps past its end, and the rows past len(picked), read EOL and have the target IGNORE.
    T is the longest line's length + 1 (charrnn's writeLineBatch)."""
    T = max([int(lines.lengths[i]) for i in picked], default=0) + 1
    x = np.full((T, B), S.eol_id, dtype=np.int64)
    y = np.full((T, B), IGNORE, dtype=np.int64)
    for b, i in enumerate(picked):
        chars = lines.line(i)
        n = len(chars)
        x[1:n + 1, b] = chars
        y[:n, b] = chars
        y[n, b] = S.eol_id
    return torch.from_numpy(x), torch.from_numpy(y)


class LineBatcher:
    """charrnn's batches of lines. Each pass shuffles the lines with the seed and the pass number, sorts them by
    length (stably, so lines of equal length stay in random order), cuts them into batches of S.batch (the first,
    shortest batch takes the remainder) and shuffles the batches. A pass's order depends on (S.seed, pass) alone,
    so charrnn's position is the batches handed out (chunks; pos is chunks within the pass). This process trains
    the rows (sequences) 'mine' of every batch."""

    def __init__(self, lines, mine, chunks, device):
        self.lines, self.mine, self.chunks, self.device, self.planned = lines, mine, chunks, device, -1
        self.steps_per_epoch = -(-len(lines) // S.batch)
        self.first_size = len(lines) - (self.steps_per_epoch - 1) * S.batch

    def plan(self, pass_number):
        rng = Random(S.seed ^ ((pass_number + 1) * 0x9E3779B9))
        shuffled = list(range(len(self.lines)))
        shuffle(shuffled, rng)
        shuffled = np.array(shuffled, dtype=np.int64)
        self.order = shuffled[np.argsort(self.lines.lengths[shuffled], kind="stable")]
        starts = [0] + [self.first_size + (b - 1) * S.batch for b in range(1, self.steps_per_epoch)]
        shuffle(starts, rng)
        self.batch_starts, self.planned = starts, pass_number

    def next(self):
        """This process's rows of the next batch, [T, S.batch / world] each; True (every batch starts from a zero
        state); and the targets scored in the whole batch, which its mean loss divides by."""
        pass_number = self.chunks // self.steps_per_epoch
        if pass_number != self.planned:
            self.plan(pass_number)
        k = self.batch_starts[self.chunks % self.steps_per_epoch]
        picked = self.order[k:k + (self.first_size if k == 0 else S.batch)]
        x, y = line_batch(self.lines, picked, S.batch)
        self.chunks += 1
        targets = int(self.lines.lengths[picked].sum()) + len(picked)
        return x[:, self.mine].to(self.device), y[:, self.mine].to(self.device), True, targets

    @property
    def pos(self):
        return self.chunks % self.steps_per_epoch

    @property
    def epoch(self):
        return self.chunks / self.steps_per_epoch


@torch.no_grad()
def line_loss(model, lines, device):
    """Mean cross-entropy over the held-out lines (charrnn's lineLossPass): each line from a zero state, S.batch at
    a time in order of length (so that little is padded), every character and end-of-line scored."""
    order = np.argsort(lines.lengths, kind="stable")
    B = max(1, min(S.batch, len(lines)))
    model.eval()
    total = 0.0
    for start in range(0, len(lines), B):
        x, y = line_batch(lines, order[start:start + B], B)
        logits, _ = model(x.to(device))
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1).to(device), ignore_index=IGNORE, reduction="sum").item()
    model.train()
    return total / lines.targets


def read_line_metadata(folder):
    """The entries every model file of a line model carries (lines: its end-of-line; lines_seen: the text's lines,
    for generation's --novel), as export-torch wrote them from charrnn's."""
    path = os.path.join(folder, S.lines_file)
    try:
        with open(path, encoding="utf-8") as f:
            entries = json.load(f)
        if isinstance(entries, dict) and all(isinstance(entries.get(k), str) for k in ("lines", "lines_seen")):
            return {k: entries[k] for k in ("lines", "lines_seen")}
    except (OSError, ValueError):
        pass
    raise UserError(f"{path} is missing or damaged: keep the {S.lines_file} that export-torch wrote beside {os.path.basename(__file__)}, or export the run again.")


# ---- The learning rate of the step after steps_done steps ----

def learning_rate(steps_done):
    """schedule.ts learningRateAt: warm-up first, then the schedule counted from its end."""
    lr = S.lr
    if S.warmup > 0:
        if steps_done < S.warmup:
            return S.lr * (steps_done + 1) / (S.warmup + 1)  # linear warm-up
        steps_done -= S.warmup
    if S.replans and steps_done >= S.replans[0][0]:
        return S.lr_min + (S.lr - S.lr_min) * (1 + math.cos(cosine_phase(steps_done))) / 2
    if S.lr_schedule == "step" and S.lr_decay != 1 and S.lr_decay_every > 0:
        lr *= S.lr_decay ** (steps_done // S.lr_decay_every)  # step decay
    elif S.lr_schedule == "cosine":
        if steps_done >= S.cosine_steps:
            return S.lr_min  # the end of the cosine, held
        lr = S.lr_min + (S.lr - S.lr_min) * (1 + math.cos(math.pi * steps_done / S.cosine_steps)) / 2
    return lr  # "constant": the rate after warm-up


# ---- The carried state: charrnn keeps train.state.h_l{i} (and c_l{i}) as [S.batch, S.hidden] per layer ----

def state_from_checkpoint(tensors, device):
    """The state of all S.batch streams: [S.layers, S.batch, S.hidden] (a pair of them for an LSTM)."""
    def kind(k):
        return torch.stack([tensors[f"train.state.{k}_l{i}"].view(S.batch, S.hidden) for i in range(S.layers)]).to(device)
    return (kind("h"), kind("c")) if S.cell == "lstm" else kind("h")


def state_to_checkpoint(state):
    kinds = [("h", state[0]), ("c", state[1])] if S.cell == "lstm" else [("h", state)]
    return [(f"train.state.{k}_l{i}", s[i].reshape(-1)) for i in range(S.layers) for k, s in kinds]


def each(state, f):
    return tuple(f(s) for s in state) if isinstance(state, tuple) else f(state)


def gather(t, world):
    """Every process's tensor, concatenated in rank order along dim 1 (the streams), on every process."""
    if world == 1:
        return t
    parts = [torch.empty_like(t) for _ in range(world)]
    dist.all_gather(parts, t.contiguous())
    return torch.cat(parts, dim=1)


# ---- The run's files ----

def compact(v):
    """JSON as charrnn writes it (no spaces)."""
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def read_checkpoint(path):
    """The run's checkpoint (charrnn's checkpoint.ts): tensors, metadata and the training state, checked."""
    tensors, meta = read_safetensors(path)
    try:
        if meta.get("format") != CHECKPOINT_FORMAT:
            raise UserError(f"{path} is not a usable charrnn checkpoint: its format is {json.dumps(meta.get('format'))}, not {CHECKPOINT_FORMAT}.")
        config, training = json.loads(meta["config"]), json.loads(meta["training"])
        json.loads(meta["vocab"])  # read back into the model files as it is; here only checked
        training["optimizerSteps"], training["streams"]["pos"], training["streams"]["chunks"]  # main() reads them
        settings, text_hash = training["run"]["settings"], training["run"]["textHash"]
    except (ValueError, KeyError, TypeError):
        raise UserError(f"{path} is not a usable charrnn checkpoint: its metadata is incomplete.")
    exported = {"cell": S.cell, "layers": S.layers, "hidden": S.hidden, "emb": S.emb, "dropout": S.dropout}
    if any(config.get(k) != v for k, v in exported.items()) or settings.get("batch") != S.batch:
        raise UserError(f"The run in {os.path.dirname(path)} is not the one this program was exported for: export it with charrnn export-torch.")
    if text_hash != S.text_hash:
        raise UserError(f"The run in {os.path.dirname(path)} was trained on other text than {S.ids_file} holds: export it again with the run's text.")
    return tensors, meta, training


def restore(tensors, V, steps, device, path):
    """The model, its optimizer and the carried state of all S.batch streams, as the checkpoint left them."""
    model = CharRNN(V).to(device)
    params = [t for _, t in model.named_parameters()]
    optimizer = make_optimizer(model)
    try:
        with torch.no_grad():
            for name, t in model.named_parameters():
                t.copy_(tensors[name].view_as(t))
        load_moments(optimizer, params, tensors, [t.numel() for t in params], steps, device)
        state = state_from_checkpoint(tensors, device)
    except (KeyError, RuntimeError):
        raise UserError(f"{path} is not a usable charrnn checkpoint: its tensors do not fit its model.")
    return model, optimizer, state


class EventLog:
    """RUN/log.jsonl in charrnn's format (src/run/events.ts, src/node/run-log.ts), written by rank 0: lines
    past the step resumed from are dropped (they are about to be run again), the time goes on from the last
    line kept, and a step event is logged every LOG_EVERY steps and before any other event at its step."""

    def __init__(self, path, steps_done, chars, every, writes):
        self.path, self.every, self.writes, self.started, self.pending = path, every, writes, time.time(), None
        self.chars = chars  # training characters (scored targets) so far, across resumes: the events' chars
        self.time_before = 0.0
        if writes and os.path.isfile(path):
            kept = []
            with open(path, encoding="utf-8") as f:
                for line in f:
                    try:
                        e = json.loads(line)
                    except ValueError:
                        continue  # a line cut short by a kill
                    if isinstance(e.get("step"), int) and e["step"] <= steps_done:
                        kept.append(line if line.endswith("\n") else line + "\n")
                        self.time_before = e.get("time", self.time_before)
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                f.writelines(kept)
            os.replace(tmp, path)

    def write(self, event, step, epoch, **fields):
        if not self.writes:
            return
        e = {"event": event, "step": step, "epoch": epoch, "chars": self.chars,
             "time": self.time_before + time.time() - self.started, **fields}
        if event == "step" and step != 1 and step % self.every:
            self.pending = e
            return
        with open(self.path, "a", encoding="utf-8") as f:
            if event != "step" and self.pending is not None and self.pending["step"] == step:
                f.write(compact(snake(self.pending)) + "\n")
            self.pending = None
            f.write(compact(snake(e)) + "\n")


class SmoothedLoss:
    """The smooth_loss of step events: an exponential moving average, bias-corrected (charrnn's smoothed-loss.ts)."""

    def __init__(self, saved):
        self.average, self.weight = (saved or {}).get("average", 0.0), (saved or {}).get("weight", 0.0)

    def add(self, loss):
        self.average = SMOOTHING * self.average + (1 - SMOOTHING) * loss
        self.weight = SMOOTHING * self.weight + (1 - SMOOTHING)
        return self.average / self.weight


class Budget:
    """--seconds / --minutes as charrnn's budget.ts has it: the run, its closing validation and save
    included, ends within the budget, so it stops stepping when one more step would not leave time for them."""

    def __init__(self, seconds, validation_steps):
        self.seconds, self.started, self.validation_steps = seconds, time.time(), validation_steps
        self.step_s, self.fastest_step, self.steps, self.validation_s, self.save_s = 0.0, math.inf, 0, None, 0.0

    def record_step(self, seconds):
        self.step_s = max(seconds, self.step_s * 0.9)  # a slow spell counts at once
        self.fastest_step, self.steps = min(self.fastest_step, seconds), self.steps + 1

    def validation(self):
        """Before one is timed: a forward pass costs about a third of a training step per character,
        judged from the fastest of the first steps (the very first pay for warming up)."""
        if self.validation_s is not None:
            return self.validation_s
        return self.validation_steps * self.fastest_step / 3 if self.steps >= 3 else 0.0

    def allows_step(self):
        return not self.seconds or time.time() - self.started + self.step_s + self.validation() + self.save_s + 0.5 <= self.seconds

    def allows_validation(self):
        return not self.seconds or time.time() - self.started + 2 * self.validation() + self.save_s + 0.5 <= self.seconds


def snake(v):
    """charrnn's event JSON: snake_case keys, numbers to 6 significant digits, non-finite numbers as null."""
    if isinstance(v, dict):
        return {"".join("_" + c.lower() if c.isupper() else c for c in k): snake(x) for k, x in v.items()}
    if isinstance(v, list):
        return [snake(x) for x in v]
    if isinstance(v, float):
        return None if not math.isfinite(v) else int(v) if v.is_integer() else float(f"{v:.6g}")
    return v


LIMITS = ("steps", "epochs", "seconds")


def stop_limits(a, run):
    """charrnn train's: the limits given now, else those the run was last given."""
    given = {"steps": a.steps, "epochs": a.epochs, "seconds": a.seconds if a.minutes is None else 60 * a.minutes}
    if any(v is not None for v in given.values()):
        return {k: v for k, v in given.items() if v is not None}
    saved = run.get("limits", run["settings"])  # checkpoints before charrnn's run layer kept them among the settings
    return {k: saved[k] for k in LIMITS if isinstance(saved.get(k), (int, float))}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    load_settings(here)
    p = argparse.ArgumentParser(description="Continue the charrnn run in PyTorch (alone, or under torchrun with DDP).")
    p.add_argument("--resume", default=os.path.normpath(os.path.join(here, S.run_folder)), help="the charrnn run folder (default: %(default)s)")
    p.add_argument("--steps", type=int, help="stop at this many steps in all (default: the run's own limits)")
    p.add_argument("--epochs", type=float, help="stop after this many passes over the training text, counted from the run's start")
    p.add_argument("--seconds", type=float, help="this invocation's time budget, closing validation and save included")
    p.add_argument("--minutes", type=float, help="the same in minutes")
    p.add_argument("--print-every", type=int, default=10, help="a progress line every N steps")
    p.add_argument("--log-every", type=int, default=10, help="a log.jsonl step event every N steps (charrnn's 10)")
    p.add_argument("--cpu", action="store_true", help="train on the CPU (gloo) even where CUDA is available")
    a = p.parse_args()
    run = a.resume

    # torchrun sets these; alone, this is one process of a world of one.
    world, rank, local_rank = (int(os.environ.get(k, d)) for k, d in (("WORLD_SIZE", 1), ("RANK", 0), ("LOCAL_RANK", 0)))
    if S.batch % world:
        divisors = ", ".join(str(d) for d in range(1, S.batch + 1) if S.batch % d == 0)
        raise UserError(f"{world} processes cannot share the run's {S.batch} streams evenly: the world size must divide --batch {S.batch} (one of {divisors}).")
    mine = slice(rank * S.batch // world, (rank + 1) * S.batch // world)  # this process's streams
    cuda = torch.cuda.is_available() and not a.cpu
    device = torch.device(f"cuda:{local_rank}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
        # charrnn computes in float32; TF32 would change the math (set these True for speed at some precision).
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False

    # Everything is read and checked before the processes meet, so a bad input stops them all with one sentence.
    ckpt_path = os.path.join(run, "checkpoint.safetensors")
    tensors, meta, training = read_checkpoint(ckpt_path)
    V, steps_done = json.loads(meta["config"])["vocabSize"], training["optimizerSteps"]
    model, optimizer, state = restore(tensors, V, steps_done, device, ckpt_path)
    average = WeightAverage(model, tensors, steps_done, ckpt_path) if S.ema > 0 else None  # charrnn's --ema
    state = each(state, lambda s: s[:, mine].contiguous())
    del tensors
    # This process's batcher (next() -> its x, y [T, B / world], reset, the targets scored in the whole batch;
    # pos, chunks, epoch, steps_per_epoch) at the checkpoint's position, the held-out text's loss, and what a pass scores.
    line_metadata = {}  # the entries every model file of a line model carries
    if S.lines:
        train_lines, val_lines = hold_out_lines(load_ids(here))
        line_metadata = read_line_metadata(here)
        batcher = LineBatcher(train_lines, mine, training["streams"]["chunks"], device)
        if training["streams"]["pos"] != batcher.pos:
            raise UserError(f"The saved batch position (batch {training['streams']['pos']}, chunk {batcher.chunks}) does not fit "
                            f"{batcher.steps_per_epoch} batches of lines per pass: export the run again.")
        train_chars, val_chars = train_lines.targets, val_lines.targets
        chars_per_step = train_chars / batcher.steps_per_epoch  # a batch of lines, on average
        corpus_facts = {"trainChars": train_chars, "valChars": val_chars, "vocab": V, "lines": True, "trainLines": len(train_lines), "valLines": len(val_lines)}
        held_out_loss = lambda: line_loss(model, val_lines, device)
    else:
        if S.val_split == "spread":
            train_ids, val_ids, windows = spread_split(load_ids(here))
            val_ids, windows = bounded_windows(val_ids, windows)
            held_out_loss = lambda: window_loss(model, val_ids, windows, device)
        else:  # "tail": the last --val-frac of the text
            train_ids, val_ids = split(load_ids(here))
            if S.val_max_chars > 0:
                val_ids = val_ids[:S.val_max_chars + 1]
            held_out_loss = lambda: validation_loss(model, val_ids, device)
        x, y = streams(train_ids, S.batch)
        if training["streams"]["pos"] > x.shape[1]:
            raise UserError(f"The saved stream position {training['streams']['pos']} does not fit streams of length {x.shape[1]}: export the run again.")
        batcher = Batcher(x[mine].to(device), y[mine].to(device), training["streams"]["pos"], training["streams"]["chunks"])
        train_chars, val_chars, chars_per_step = len(train_ids), len(val_ids), S.batch * S.seq
        corpus_facts = {"trainChars": train_chars, "valChars": val_chars, "vocab": V, "lines": False}
    saved_run = training["run"]
    limits = stop_limits(a, saved_run)
    if "steps" in limits and limits["steps"] < steps_done:  # as charrnn train --resume refuses it
        raise UserError(f"The run is at step {steps_done} already, past --steps {limits['steps']}; give a --steps of {steps_done} or more.")

    if world > 1:
        dist.init_process_group("nccl" if cuda else "gloo")
    net = nn.parallel.DistributedDataParallel(model, device_ids=[local_rank] if cuda else None) if world > 1 else model
    torch.manual_seed(hash((S.seed, steps_done, rank)) % 2**63)  # dropout masks only (the weights come from the checkpoint)
    params = [t for _, t in model.named_parameters()]

    settings = {k: v for k, v in saved_run["settings"].items() if k not in LIMITS}
    by_epochs = math.ceil(limits.get("epochs", 10 if not limits else 0) * batcher.steps_per_epoch) or None
    total_steps = min(limits["steps"], by_epochs) if "steps" in limits and by_epochs else limits.get("steps", by_epochs)
    best_val, since_best = saved_run["bestValLoss"], saved_run.get("sinceBest", 0)
    smoothed = SmoothedLoss(saved_run.get("smoothLoss"))
    # Checkpoints before charrnn counted characters were of runs on streams: S.batch x S.seq a step.
    log = EventLog(os.path.join(run, "log.jsonl"), steps_done, saved_run.get("chars", steps_done * S.batch * S.seq), a.log_every, rank == 0)
    say = (lambda line: print(line, flush=True)) if rank == 0 else (lambda line: None)
    seconds = timed_seconds = 0.0
    steps_run = chars_run = timed_chars = 0
    speed = lambda: timed_chars / timed_seconds if timed_seconds > 0 else chars_run / seconds if seconds > 0 else 0
    budget = Budget(limits.get("seconds"), val_chars / chars_per_step)
    backend = f"pytorch {torch.__version__}, {world} process{'es' if world > 1 else ''}, {('nccl' if cuda else 'gloo') if world > 1 else 'single'}, {device.type}"
    log.write("config", steps_done, batcher.epoch, resumed=True, model=json.loads(meta["config"]), settings={**settings, **limits},
              corpus={"source": S.corpus, "chars": S.ids_count, **corpus_facts},
              params=sum(t.numel() for t in params), backend=backend, totalSteps=total_steps, budgetSeconds=limits.get("seconds"))
    say(f"resuming the run in {run} at step {steps_done}{f' of {total_steps}' if total_steps else ''} in PyTorch: "
        f"{world} process{'es' if world > 1 else ''} on {device.type}")

    def save(step, epoch, best_loss=None):
        """The latest model and the checkpoint (or, with best_loss, best.safetensors); rank 0 writes.
        For a checkpoint every process first hands over its streams' carried state and position."""
        t0 = time.time()
        if best_loss is None:
            whole = each(state, lambda s: gather(s, world))
            where = gather(torch.tensor([[batcher.pos], [batcher.chunks]], device=device), world)  # [2, world]
            assert (where == where[:, :1]).all(), "the processes disagree on the position in the streams"
        if rank == 0:
            weights = list(zip([n for n, _ in model.named_parameters()], params))
            # The text's normalisation form travels with the vocabulary (charrnn normalises primes with it), and a
            # fine-tuning run's origin (fine_tuned_from: the model it started from) with every file of the run.
            text_meta = {k: meta[k] for k in ("normalize", "fine_tuned_from") if k in meta}
            model_meta = {"format": MODEL_FORMAT, "vocab": meta["vocab"], "config": meta["config"], **text_meta, **line_metadata,
                          "training": compact({"steps": step, "corpus": S.corpus, "batch": S.batch, "seq": S.seq, "seed": S.seed})}
            if best_loss is not None:
                write_safetensors(os.path.join(run, "best.safetensors"), weights, {**model_meta, "val_loss": repr(best_loss)})
            else:
                first, second = save_moments(optimizer, params)
                record = {"optimizerSteps": step, "streams": {"pos": int(where[0, 0]), "chunks": int(where[1, 0])},
                          "dropoutRng": training["dropoutRng"],  # charrnn's generator, kept for when charrnn resumes
                          "run": {"settings": settings, "limits": limits, "textHash": S.text_hash, "bestValLoss": best_val,
                                  "sinceBest": since_best, "smoothLoss": {"average": smoothed.average, "weight": smoothed.weight}, "chars": log.chars}}
                # model.safetensors holds the weights charrnn evaluates: the moving average where the run keeps one.
                write_safetensors(os.path.join(run, "model.safetensors"), average.named(model) if average else weights, model_meta)
                extras = [("train.ema", average.flat())] if average else []
                write_safetensors(ckpt_path, weights + extras + [("train.optimizer.first", first), ("train.optimizer.second", second)] + state_to_checkpoint(whole),
                                  {"format": CHECKPOINT_FORMAT, "vocab": meta["vocab"], "config": meta["config"], **text_meta, "training": compact(record)})
            log.write("saved", step, epoch, files=["best"] if best_loss is not None else ["model", "checkpoint"])
        budget.save_s = max(time.time() - t0, budget.save_s * 0.9)

    def validate(step, epoch):
        """On every process (the same figure everywhere, so every process makes the same patience decision)."""
        nonlocal best_val, since_best
        if val_chars < 2:
            return None
        t0 = time.time()
        if average:
            average.swap()  # validate, and save the best, with the average
        loss = held_out_loss()
        budget.validation_s = time.time() - t0
        best = best_val is None or loss < best_val
        best_val, since_best = (loss, 0) if best else (best_val, since_best + 1)
        log.write("validation", step, epoch, loss=loss, best=best, bestLoss=best_val, sinceBest=since_best)
        say(f"step {step}  validation loss {loss:.4f} nats/char ({loss / math.log(2):.3f} bits){'  best so far' if best else ''}")
        if best:
            save(step, epoch, best_loss=loss)
        if average:
            average.swap()
        return loss

    signalled = {"name": None}
    for s in (signal.SIGINT, signal.SIGTERM):  # torchrun passes Ctrl-C on as these
        signal.signal(s, lambda n, _: signalled.update(name=signal.Signals(n).name))
    val_loss, last_loss, validated, saved_at = None, math.nan, -1, -1
    reason, message = "limit", ""
    if total_steps and steps_done >= total_steps:
        log.write("note", steps_done, batcher.epoch, message=f"the run had already reached its {total_steps} steps; give a larger --steps to train on")
        say(f"the run in {run} had already reached its {total_steps} steps; give a larger --steps to train on")
    while True:
        if total_steps and steps_done >= total_steps:
            reason, message = "limit", (f"reached --steps {total_steps}" if limits.get("steps") == total_steps
                                        else f"reached {limits.get('epochs', 10)} epochs (step {total_steps})")
            break
        t0 = time.time()
        xs, ys, reset, targets = batcher.next()
        if reset:
            state = each(state, torch.zeros_like)
        lr = learning_rate(steps_done)
        for g in optimizer.param_groups:
            g["lr"] = lr
        optimizer.zero_grad(set_to_none=True)
        logits, state = net(xs, state)
        state = each(state, lambda s: s.detach())
        # The batch's loss is the mean over the targets it scores (line mode's padding, target -1, is not scored);
        # this process's share is its own sum over that whole count. DDP averages the gradients over the processes,
        # so each backpropagates world x its share: the average is the gradient of the batch's mean, as one process has it.
        share = F.cross_entropy(logits.reshape(-1, V), ys.reshape(-1), ignore_index=-1, reduction="sum") / targets
        (share * world).backward()
        grad_norm = float(nn.utils.clip_grad_norm_(params, S.clip if S.clip > 0 else math.inf))
        # One all-reduce carries the loss, the step time, a stop request and rank 0's budget decisions,
        # so that every process decides alike.
        step_s = time.time() - t0
        budget.record_step(step_s)
        decide = rank == 0
        shared = torch.tensor([share.item(), step_s, float(signalled["name"] is not None),
                               float(decide and not budget.allows_step()), float(decide and budget.allows_validation())],
                              dtype=torch.float64, device=device)
        if world > 1:
            dist.all_reduce(shared)
        loss, dt, stop_votes, out_of_time, may_validate = shared[0].item(), shared[1].item() / world, *shared[2:].tolist()
        if not (math.isfinite(loss) and math.isfinite(grad_norm)):
            what, value = ("gradient norm", grad_norm) if math.isfinite(loss) else ("loss", loss)
            message = f"Training diverged at step {steps_done + 1}: the {what} became {value}; try a smaller learning rate (models saved before this step are kept)."
            log.write("stopped", steps_done, batcher.epoch, reason="diverged", message=message)
            raise UserError(message)
        optimizer.step()
        steps_done += 1
        if average:
            average.update(steps_done)
        steps_run, chars_run, log.chars = steps_run + 1, chars_run + targets, log.chars + targets
        seconds += dt
        if steps_run > WARMUP_STEPS:
            timed_seconds, timed_chars = timed_seconds + dt, timed_chars + targets
        epoch, last_loss = batcher.epoch, loss
        log.write("step", steps_done, epoch, loss=loss, smoothLoss=smoothed.add(loss), lr=lr, gradNorm=grad_norm, charsPerSecond=speed())
        if steps_done == 1 or steps_done % a.print_every == 0 or (total_steps and steps_done == total_steps):
            say(f"step {steps_done}{f'/{total_steps}' if total_steps else ''}  epoch {epoch:.2f}  loss {loss:.4f}  "
                f"{'' if val_loss is None else f'val {val_loss:.4f}  '}{speed():,.0f} chars/s")
        if S.val_every > 0 and steps_done % S.val_every == 0 and may_validate and not stop_votes:
            val_loss, validated = validate(steps_done, epoch), steps_done
        if S.checkpoint_every > 0 and steps_done % S.checkpoint_every == 0:
            save(steps_done, epoch)
            saved_at = steps_done
        if stop_votes:
            reason, message = "signal", "received a signal"
            break
        if S.patience > 0 and since_best >= S.patience:
            reason, message = "patience", f"{since_best} validations in a row without a new best (--patience {S.patience}); the best is {best_val:.4f}"
            break
        if out_of_time:
            reason, message = "limit", f"the {limits['seconds']:g}-second budget leaves time only for the final validation and save"
            break

    if steps_run > 0:
        if reason != "signal" and validated != steps_done:
            val_loss = validate(steps_done, epoch)
        if saved_at != steps_done:
            save(steps_done, epoch)
    log.write("stopped", steps_done, batcher.epoch, reason=reason, message=message)
    log.write("result", steps_done, batcher.epoch, reason=reason, stepsThisRun=steps_run, trainSeconds=seconds, charsPerSecond=speed(),
              lastLoss=last_loss, valLoss=val_loss, bestValLoss=best_val, sample=None)
    if steps_run > 0:
        say(f"{'stopped' if reason != 'limit' else 'done'} at step {steps_done} after {steps_run} steps ({message}; {seconds:.1f} s, {speed():,.0f} chars/s); "
            f"saved {os.path.join(run, 'model.safetensors')}")
    if world > 1:
        # Tear the process group down together, while rank 0 (which holds the rendezvous store) is still there:
        # DDP holds the group, and a group freed after rank 0 has gone can hang the process that frees it.
        del net
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    try:
        main()
    except UserError as e:
        # Under torchrun every process meets the same input: rank 0 alone says it. The others wait a
        # moment before exiting, since torchrun stops every process as soon as one has failed, and
        # rank 0 must have printed its sentence by then.
        if os.environ.get("RANK", "0") == "0":
            print(f"{os.path.basename(__file__)}: {e}", file=sys.stderr, flush=True)
        else:
            time.sleep(3)
        sys.exit(1)
