// The PyTorch training program that `charrnn export-torch` writes: one readable
// Python file that continues a charrnn run under torchrun (DistributedDataParallel:
// NCCL on GPUs, gloo on CPUs) with the same math, and saves back in charrnn's
// formats. The parts that depend on the run's settings come from the table in
// torch-settings.ts; everything else is written out here once. Platform-neutral:
// this builds text, the caller writes it.
//
// The Python is kept in String.raw templates so its backslashes read as Python
// does; it uses no backticks and no "${" of its own.
import type { ProgramParts } from './torch-settings.js';

/** The file name of the program in the export folder. */
export const TORCH_PROGRAM_NAME = 'train_torch.py';

export interface ProgramFacts {
  /** What the run is, for the program's opening comment: "a 1x32 LSTM on corpus.txt". */
  summary: string;
  /** The file (beside the program) holding the training text's ids. */
  idsFile: string;
  /** '<u2' or '<u4': how the ids are stored (little-endian unsigned). */
  idsDtype: '<u2' | '<u4';
  idsCount: number;
  /** The run's text fingerprint (checkpoint.ts `fingerprint`), checked against the checkpoint. */
  textHash: string;
  /** The run folder, relative to the program's folder: the default of --resume. */
  runFolder: string;
  /** Where the text came from (files or a corpus name), as the model files' metadata says it. */
  corpus: string;
  /** Line mode: the end-of-line's id (the ids file holds every line followed by it) and the file of the line model's metadata entries. */
  lines?: { eolId: number; metadataFile: string };
}

const py = (v: unknown): string => JSON.stringify(v);

/** The whole program for one run. */
export function torchProgram(facts: ProgramFacts, parts: ProgramParts): string {
  return [
    header(facts),
    IMPORTS,
    '# ---- The run (written by charrnn export-torch from its checkpoint) ----',
    ...parts.constants,
    `CORPUS = ${py(facts.corpus)}`,
    `IDS_FILE, IDS_DTYPE, IDS_COUNT, TEXT_HASH = ${py(facts.idsFile)}, ${py(facts.idsDtype)}, ${facts.idsCount}, ${py(facts.textHash)}`,
    `RUN_FOLDER = ${py(facts.runFolder)}  # default of --resume, relative to this file`,
    ...(facts.lines ? [`EOL_ID, LINES_FILE = ${facts.lines.eolId}, ${py(facts.lines.metadataFile)}  # the end-of-line's id; the line model's metadata entries`] : []),
    '',
    CORE,
    modelCode(parts),
    optimizerCode(parts),
    ...parts.helpers,
    learningRateCode(parts),
    mainCode(parts),
  ].join('\n');
}

const indent = (lines: readonly string[], pad: string): string => lines.map(l => `${pad}${l}\n`).join('');

function modelCode(p: ProgramParts): string {
  return String.raw`# ---- The model: charrnn's network under PyTorch's parameter names, time-major ----

class CharRNN(nn.Module):
    def __init__(self, V):
        super().__init__()
        self.emb = nn.Embedding(V, EMB)
        self.rnn = ${[`${p.rnnClass}(EMB, HIDDEN, LAYERS`, ...p.rnnArgs].join(', ')})
        self.out = nn.Linear(HIDDEN, V)
${indent(p.modelInit, '        ')}
    def forward(self, ids, state=None):
        x = self.emb(ids)  # [T, B, EMB]
${indent(p.afterEmbedding, '        ')}        y, state = self.rnn(x, state)  # [T, B, HIDDEN]
${indent(p.afterRecurrent, '        ')}        return self.out(y), state  # [T, B, V]

`;
}

function optimizerCode(p: ProgramParts): string {
  const { first, second, counted } = p.moments;
  const entries = [
    ...(counted ? ['"step": torch.tensor(float(steps)),'] : []),
    `${py(first)}: first[i].view_as(p).to(device).clone(),`,
    ...(second ? [`${py(second)}: second[i].view_as(p).to(device).clone(),`] : []),
  ];
  return String.raw`# ---- The optimizer. charrnn keeps its per-parameter state as two flat buffers in
# parameter order: train.optimizer.first (${first}) and train.optimizer.second (${second ?? 'empty'}). ----

def make_optimizer(model):
${indent(p.optimizerSetup, '    ')}    return ${[`${p.optimizerClass}(${p.optimizerParams}`, 'lr=LR', ...p.optimizerArgs].join(', ')})


def load_moments(optimizer, params, tensors, sizes, steps, device):
    if steps == 0:
        return  # a fresh optimizer: torch.optim starts its state at the first step, as charrnn does
    first = tensors["train.optimizer.first"].split(sizes)
${second ? '    second = tensors["train.optimizer.second"].split(sizes)\n' : ''}    for i, p in enumerate(params):
        optimizer.state[p] = {
${indent(entries, '            ')}        }


def save_moments(optimizer, params):
    def flat(key):
        return torch.cat([optimizer.state[p][key].reshape(-1) for p in params])
    return flat(${py(first)}), ${second ? `flat(${py(second)})` : 'torch.zeros(0)'}

`;
}

function learningRateCode(p: ProgramParts): string {
  return String.raw`# ---- The learning rate of the step after steps_done steps ----

def learning_rate(steps_done):
    lr = LR
${indent(p.learningRate, '    ')}    return lr
`;
}

function header(f: ProgramFacts): string {
  return String.raw`#!/usr/bin/env python3
"""Continues the charrnn run of ${f.summary} in PyTorch.

Written by charrnn export-torch. Alone (one process), or under torchrun with
DistributedDataParallel (NCCL on GPUs, gloo on CPUs):

    torchrun --nproc_per_node N ${TORCH_PROGRAM_NAME} --resume RUN_DIR [--steps TOTAL] [--minutes M]

It reads RUN_DIR/checkpoint.safetensors (weights, optimizer moments and step,
position in the batches, carried state), trains with the run's own math (the
global batch stays BATCH sequences, split across the processes; gradients are
averaged by DDP, so the update is the one a single process makes), and writes back
model.safetensors, best.safetensors and checkpoint.safetensors in charrnn's
formats (atomically, from rank 0) and one JSON event per line to RUN_DIR/log.jsonl.
charrnn sample / eval / train --resume go on from there.

What does not carry over: dropout masks come from PyTorch's generator (seeded
from the run's seed, the step and the rank), not from charrnn's; charrnn's own generator
state is kept in the checkpoint untouched for when charrnn resumes. No samples
are drawn (charrnn's sample settings are for people watching it train).
Needs only PyTorch (and NumPy, which PyTorch installs): safetensors files are
read and written below in plain Python.
"""`;
}

const IMPORTS = String.raw`import argparse, json, math, os, signal, sys, time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
`;

const CORE = String.raw`CHECKPOINT_FORMAT, MODEL_FORMAT = "charrnn-checkpoint/1", "charrnn/1"
WARMUP_STEPS = 3        # steps left out of the throughput figure, as charrnn does
SMOOTHING = 0.98        # the smooth_loss of log.jsonl: an exponential moving average of the step losses


class UserError(Exception):
    """Something about the input (a folder, a file, a flag): said as one sentence, without a traceback."""


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
# BATCH contiguous streams of length L = (n - 1) // BATCH; a step takes the next
# SEQ columns of every stream, and when fewer than SEQ are left it goes back to
# column 0 with a zero state. Each process holds its own share of the streams. ----

def load_ids(folder):
    path = os.path.join(folder, IDS_FILE)
    if not os.path.isfile(path):
        raise UserError(f"The training text {path} is missing: keep {IDS_FILE} beside {os.path.basename(__file__)}.")
    ids = np.fromfile(path, dtype=IDS_DTYPE)
    if len(ids) != IDS_COUNT:
        raise UserError(f"{path} holds {len(ids)} characters, not the run's {IDS_COUNT}: export the run again.")
    return torch.from_numpy(ids.astype(np.int64))


def split(ids):
    n_train = math.floor(len(ids) * (1 - VAL_FRAC))  # the same double arithmetic as charrnn's split
    return ids[:n_train], ids[n_train:]


def streams(data, B):
    """Inputs and targets [B, L]: stream b is data[b*L : b*L + L], its targets one character later."""
    L = (len(data) - 1) // B
    return data[:B * L].view(B, L), data[1:B * L + 1].view(B, L)


class Batcher:
    """Hands out the SEQ-column chunks of this process's streams; pos and chunks are charrnn's stream state."""

    def __init__(self, x, y, pos, chunks):
        self.x, self.y, self.pos, self.chunks = x, y, pos, chunks
        self.L = x.shape[1]
        self.steps_per_epoch = self.L // SEQ

    def next(self):
        """This process's next chunk [T, B / world] time-major, whether it starts from a zero state, and the
        targets scored in the whole (all processes') chunk."""
        if self.pos + SEQ > self.L:
            self.pos = 0
        reset = self.pos == 0
        x, y = self.x[:, self.pos:self.pos + SEQ].t(), self.y[:, self.pos:self.pos + SEQ].t()
        self.pos += SEQ
        self.chunks += 1
        return x, y, reset, BATCH * SEQ

    @property
    def epoch(self):
        return self.chunks / self.steps_per_epoch


@torch.no_grad()
def validation_loss(model, val, device):
    """Mean cross-entropy over the validation split: B streams fed in order with the state carried (charrnn's validation)."""
    B = max(1, min(BATCH, (len(val) - 1) // SEQ))
    x, y = streams(val, B)
    model.eval()
    state, total, count = None, 0.0, 0
    for s in range(0, x.shape[1], SEQ):
        xs, ys = x[:, s:s + SEQ].t().to(device), y[:, s:s + SEQ].t().to(device)
        logits, state = model(xs, state)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ys.reshape(-1), reduction="sum").item()
        count += ys.numel()
    model.train()
    return total / count

`;

function mainCode(p: ProgramParts): string {
  return String.raw`
# ---- The carried state: charrnn keeps train.state.h_l{i} (and c_l{i}) as [BATCH, HIDDEN] per layer ----

def state_from_checkpoint(tensors, device):
    """The state of all BATCH streams: [LAYERS, BATCH, HIDDEN] (a pair of them for an LSTM)."""
    def kind(k):
        return torch.stack([tensors[f"train.state.{k}_l{i}"].view(BATCH, HIDDEN) for i in range(LAYERS)]).to(device)
    return (kind("h"), kind("c")) if CELL == "lstm" else kind("h")


def state_to_checkpoint(state):
    kinds = [("h", state[0]), ("c", state[1])] if CELL == "lstm" else [("h", state)]
    return [(f"train.state.{k}_l{i}", s[i].reshape(-1)) for i in range(LAYERS) for k, s in kinds]


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
        config, training, _ = json.loads(meta["config"]), json.loads(meta["training"]), json.loads(meta["vocab"])
        steps, pos, chunks = training["optimizerSteps"], training["streams"]["pos"], training["streams"]["chunks"]
        settings, text_hash = training["run"]["settings"], training["run"]["textHash"]
    except (ValueError, KeyError, TypeError):
        raise UserError(f"{path} is not a usable charrnn checkpoint: its metadata is incomplete.")
    exported = {"cell": CELL, "layers": LAYERS, "hidden": HIDDEN, "emb": EMB, "dropout": DROPOUT}
    if any(config.get(k) != v for k, v in exported.items()) or settings.get("batch") != BATCH:
        raise UserError(f"The run in {os.path.dirname(path)} is not the one this program was exported for: export it with charrnn export-torch.")
    if text_hash != TEXT_HASH:
        raise UserError(f"The run in {os.path.dirname(path)} was trained on other text than {IDS_FILE} holds: export it again with the run's text.")
    return tensors, meta, training


def restore(tensors, V, steps, device, path):
    """The model, its optimizer and the carried state of all BATCH streams, as the checkpoint left them."""
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
    p = argparse.ArgumentParser(description="Continue the charrnn run in PyTorch (alone, or under torchrun with DDP).")
    p.add_argument("--resume", default=os.path.normpath(os.path.join(here, RUN_FOLDER)), help="the charrnn run folder (default: %(default)s)")
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
    if BATCH % world:
        divisors = ", ".join(str(d) for d in range(1, BATCH + 1) if BATCH % d == 0)
        raise UserError(f"{world} processes cannot share the run's {BATCH} streams evenly: the world size must divide --batch {BATCH} (one of {divisors}).")
    mine = slice(rank * BATCH // world, (rank + 1) * BATCH // world)  # this process's streams
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
${indent(p.afterRestore, '    ')}    state = each(state, lambda s: s[:, mine].contiguous())
    del tensors
${indent(p.heldOut, '    ')}${indent(p.batches, '    ')}    saved_run = training["run"]
    limits = stop_limits(a, saved_run)
    if "steps" in limits and limits["steps"] < steps_done:  # as charrnn train --resume refuses it
        raise UserError(f"The run is at step {steps_done} already, past --steps {limits['steps']}; give a --steps of {steps_done} or more.")

    if world > 1:
        dist.init_process_group("nccl" if cuda else "gloo")
    net = nn.parallel.DistributedDataParallel(model, device_ids=[local_rank] if cuda else None) if world > 1 else model
    torch.manual_seed(hash((SEED, steps_done, rank)) % 2**63)  # dropout masks only (the weights come from the checkpoint)
    params = [t for _, t in model.named_parameters()]

    settings = {k: v for k, v in saved_run["settings"].items() if k not in LIMITS}
    by_epochs = math.ceil(limits.get("epochs", 10 if not limits else 0) * batcher.steps_per_epoch) or None
    total_steps = min(limits["steps"], by_epochs) if "steps" in limits and by_epochs else limits.get("steps", by_epochs)
    best_val, since_best = saved_run["bestValLoss"], saved_run.get("sinceBest", 0)
    smoothed = SmoothedLoss(saved_run.get("smoothLoss"))
    # Checkpoints before charrnn counted characters were of runs on streams: BATCH x SEQ a step.
    log = EventLog(os.path.join(run, "log.jsonl"), steps_done, saved_run.get("chars", steps_done * BATCH * SEQ), a.log_every, rank == 0)
    say = (lambda line: print(line, flush=True)) if rank == 0 else (lambda line: None)
    seconds = timed_seconds = 0.0
    steps_run = chars_run = timed_chars = 0
    speed = lambda: timed_chars / timed_seconds if timed_seconds > 0 else chars_run / seconds if seconds > 0 else 0
    budget = Budget(limits.get("seconds"), val_chars / chars_per_step)
    backend = f"pytorch {torch.__version__}, {world} process{'es' if world > 1 else ''}, {('nccl' if cuda else 'gloo') if world > 1 else 'single'}, {device.type}"
    log.write("config", steps_done, batcher.epoch, resumed=True, model=json.loads(meta["config"]), settings={**settings, **limits},
              corpus={"source": CORPUS, "chars": IDS_COUNT, **corpus_facts},
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
            # The text's normalisation form travels with the vocabulary (charrnn normalises primes with it).
            text_meta = {k: meta[k] for k in ("normalize",) if k in meta}
            model_meta = {"format": MODEL_FORMAT, "vocab": meta["vocab"], "config": meta["config"], **text_meta,${p.modelMetadata === null ? '' : ` **${p.modelMetadata},`}
                          "training": compact({"steps": step, "corpus": CORPUS, "batch": BATCH, "seq": SEQ, "seed": SEED})}
            if best_loss is not None:
                write_safetensors(os.path.join(run, "best.safetensors"), weights, {**model_meta, "val_loss": repr(best_loss)})
            else:
                first, second = save_moments(optimizer, params)
                record = {"optimizerSteps": step, "streams": {"pos": int(where[0, 0]), "chunks": int(where[1, 0])},
                          "dropoutRng": training["dropoutRng"],  # charrnn's generator, kept for when charrnn resumes
                          "run": {"settings": settings, "limits": limits, "textHash": TEXT_HASH, "bestValLoss": best_val,
                                  "sinceBest": since_best, "smoothLoss": {"average": smoothed.average, "weight": smoothed.weight}, "chars": log.chars}}
                write_safetensors(os.path.join(run, "model.safetensors"), ${p.modelWeights}, model_meta)
                write_safetensors(ckpt_path, weights + [${[...p.checkpointExtras, '("train.optimizer.first", first)', '("train.optimizer.second", second)'].join(', ')}] + state_to_checkpoint(whole),
                                  {"format": CHECKPOINT_FORMAT, "vocab": meta["vocab"], "config": meta["config"], **text_meta, "training": compact(record)})
            log.write("saved", step, epoch, files=["best"] if best_loss is not None else ["model", "checkpoint"])
        budget.save_s = max(time.time() - t0, budget.save_s * 0.9)

    def validate(step, epoch):
        """On every process (the same figure everywhere, so every process makes the same patience decision)."""
        nonlocal best_val, since_best
        if val_chars < 2:
            return None
        t0 = time.time()
${indent(p.beforeValidation, '        ')}        loss = ${p.validationLoss}
        budget.validation_s = time.time() - t0
        best = best_val is None or loss < best_val
        best_val, since_best = (loss, 0) if best else (best_val, since_best + 1)
        log.write("validation", step, epoch, loss=loss, best=best, bestLoss=best_val, sinceBest=since_best)
        say(f"step {step}  validation loss {loss:.4f} nats/char ({loss / math.log(2):.3f} bits){'  best so far' if best else ''}")
        if best:
            save(step, epoch, best_loss=loss)
${indent(p.afterValidation, '        ')}        return loss

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
        grad_norm = float(nn.utils.clip_grad_norm_(params, CLIP if CLIP > 0 else math.inf))
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
${indent(p.afterStep, '        ')}        steps_run, chars_run, log.chars = steps_run + 1, chars_run + targets, log.chars + targets
        seconds += dt
        if steps_run > WARMUP_STEPS:
            timed_seconds, timed_chars = timed_seconds + dt, timed_chars + targets
        epoch, last_loss = batcher.epoch, loss
        log.write("step", steps_done, epoch, loss=loss, smoothLoss=smoothed.add(loss), lr=lr, gradNorm=grad_norm, charsPerSecond=speed())
        if steps_done == 1 or steps_done % a.print_every == 0 or (total_steps and steps_done == total_steps):
            say(f"step {steps_done}{f'/{total_steps}' if total_steps else ''}  epoch {epoch:.2f}  loss {loss:.4f}  "
                f"{'' if val_loss is None else f'val {val_loss:.4f}  '}{speed():,.0f} chars/s")
        if VAL_EVERY > 0 and steps_done % VAL_EVERY == 0 and may_validate and not stop_votes:
            val_loss, validated = validate(steps_done, epoch), steps_done
        if CHECKPOINT_EVERY > 0 and steps_done % CHECKPOINT_EVERY == 0:
            save(steps_done, epoch)
            saved_at = steps_done
        if stop_votes:
            reason, message = "signal", "received a signal"
            break
        if PATIENCE > 0 and since_best >= PATIENCE:
            reason, message = "patience", f"{since_best} validations in a row without a new best (--patience {PATIENCE}); the best is {best_val:.4f}"
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
`;
}
