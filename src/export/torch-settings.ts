// The settings -> program table of `charrnn export-torch`: for every setting a
// run can have, what it puts into the PyTorch program. A setting the table does
// not know is refused with a sentence naming it, so a run is never exported
// with part of its math silently dropped; supporting a new setting is one row
// here (and, when it needs a new place in the program, one slot). Platform-neutral.
import { CharrnnError } from '../errors.js';
import { DEFAULT_OPTIMIZER, type OptimizerName } from '../train/optimizer.js';
import { TORCH_LINES } from './torch-lines.js';
import { TORCH_RANDOM } from './torch-random.js';

/** The places in the program that settings fill; each is a list of Python lines. */
export interface ProgramParts {
  /** NAME = value lines at the top. */
  constants: string[];
  /** The recurrent layers' class (nn.LSTM, nn.GRU, nn.RNN) and its extra arguments. */
  rnnClass: string;
  rnnArgs: string[];
  /** CharRNN.__init__ lines after the embedding, recurrent and output layers. */
  modelInit: string[];
  /** forward lines after x = self.emb(ids), x [T, B, EMB]. */
  afterEmbedding: string[];
  /** forward lines after y, state = self.rnn(x, state), y [T, B, HIDDEN]. */
  afterRecurrent: string[];
  /** The torch.optim class, its arguments, the names of its per-parameter state that charrnn keeps as
   *  train.optimizer.first / second, and whether that state counts steps. */
  optimizerClass: string;
  optimizerArgs: string[];
  moments: { first: string; second: string | null; counted: boolean };
  /** learning_rate(steps_done) body lines between `lr = LR` and `return lr`. */
  learningRate: string[];
  /** make_optimizer(model) lines before its return, and what it hands the optimizer (default model.parameters()). */
  optimizerSetup: string[];
  optimizerParams: string;
  /** Top-level definitions after the optimizer's (helpers a setting needs). */
  helpers: string[];
  /** main() lines right after the model is restored, while the checkpoint's tensors are still at hand. */
  afterRestore: string[];
  /** Training-loop lines right after the optimizer's step (steps_done already counts it). */
  afterStep: string[];
  /** validate() lines before the validation pass and after it (its best save included). */
  beforeValidation: string[];
  afterValidation: string[];
  /** main() lines that hold out the validation text (train_ids, val_ids and what validation needs), and validate()'s loss. */
  heldOut: string[];
  validationLoss: string;
  /**
   * main() lines after heldOut that make this process's `batcher` (next() -> this process's x, y [T, B / world],
   * reset, the targets scored in the whole batch; pos, chunks, epoch, steps_per_epoch) from the checkpoint's
   * position, and define train_chars and val_chars (targets a pass scores), chars_per_step (on average) and
   * corpus_facts (the config event's corpus entries after its source and chars).
   */
  batches: string[];
  /** An expression for the metadata entries every model file gets beside charrnn's own (null: none). */
  modelMetadata: string | null;
  /** save(): what model.safetensors holds (default: the parameters) and tensors the checkpoint keeps beside them. */
  modelWeights: string;
  checkpointExtras: string[];
}

type Settings = Readonly<Record<string, unknown>>;

interface SettingRule {
  /** What the setting puts into the program (absent: nothing, because `note` says why). */
  apply?(parts: ProgramParts, value: unknown, settings: Settings): void;
  note?: string;
}

const py = (v: unknown): string => JSON.stringify(v);
const constant = (name: string) => (p: ProgramParts, v: unknown): void => { p.constants.push(`${name} = ${py(v)}`); };

const CELLS: Record<string, string> = { lstm: 'nn.LSTM', gru: 'nn.GRU', rnn: 'nn.RNN' };
const { beta1, beta2, alpha, momentum, eps } = DEFAULT_OPTIMIZER;
const OPTIMIZERS: Record<OptimizerName, Pick<ProgramParts, 'optimizerClass' | 'optimizerArgs' | 'moments'>> = {
  adam: { optimizerClass: 'torch.optim.Adam', optimizerArgs: [`betas=(${beta1}, ${beta2})`, `eps=${eps}`], moments: { first: 'exp_avg', second: 'exp_avg_sq', counted: true } },
  rmsprop: { optimizerClass: 'torch.optim.RMSprop', optimizerArgs: [`alpha=${alpha}`, `eps=${eps}`], moments: { first: 'square_avg', second: null, counted: true } },
  sgd: { optimizerClass: 'torch.optim.SGD', optimizerArgs: [`momentum=${momentum}`], moments: { first: 'momentum_buffer', second: null, counted: false } },
};

/** The run's learning-rate schedule after warm-up (runs from before schedules: step decay). */
const scheduleOf = (s: Settings): unknown => s.lrSchedule ?? 'step';

/**
 * charrnn's moving average of the weights (src/train/average.ts), kept as
 * AveragedModel keeps an EMA: the first update copies, each later one moves the
 * average toward the weights; validation and the saved models use it.
 */
const WEIGHT_AVERAGE = String.raw`class WeightAverage:
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
        """After the optimizer's step-th update (1-based): a <- a + (1 - EMA) (p - a)."""
        for a, p in zip(self.values, self.params):
            if step <= 1:
                a.copy_(p)
            else:
                a += (1 - EMA) * (p - a)

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

`;

/**
 * charrnn's cosinePhase (src/train/schedule.ts) for a schedule with re-plans,
 * steps counted from the end of warm-up; the same arithmetic in the same order.
 */
const REPLANNED_COSINE = String.raw`def cosine_phase(steps_done):
    """The cosine's phase (0 at LR, pi at LR_MIN): the plain cosine until the first re-plan, then, from
    each re-plan on, linear from the phase it stood at to pi at the re-plan's end (so the rate never jumps)."""
    start, end, start_phase = 0, COSINE_STEPS, None

    def phase(step):
        if step >= end:
            return math.pi
        if start_phase is None:
            return math.pi * step / end
        return start_phase + (math.pi - start_phase) * (step - start) / (end - start)

    for at, new_end in REPLANS:
        if steps_done < at:
            break
        start_phase = phase(at)
        start, end = at, new_end
    return phase(steps_done)

`;

/**
 * charrnn's spread split (src/data/split.ts spreadSplit), its validation over
 * windows (src/data/streams.ts windowChunks) and its bound by --val-max-chars
 * (src/run/run.ts boundedValidation); the windows' places are drawn from
 * charrnn's generator (TORCH_RANDOM).
 */
const SPREAD = String.raw`# ---- The held-out text: --val-split spread ----

SPREAD_WINDOW = 1000  # the longest held-out window, in characters


def spread_split(ids):
    """Training text and K held-out windows of w characters laid end to end, one at a seeded place in each of
    K equal segments; the training text is the rest, joined in order. Returns (train, val, K)."""
    n = len(ids)
    held = math.floor(n * VAL_FRAC)
    w = min(SPREAD_WINDOW, held)
    K = held // w if w >= 2 else 0
    if K == 0:
        return ids, ids[:0], 0
    rng, segment = Random(SEED ^ 0x2545F491), n // K
    starts = [k * segment + rng.int(segment - w + 1) for k in range(K)]
    ends = [0] + [s + w for s in starts]
    train = torch.cat([ids[a:b] for a, b in zip(ends, starts + [n])])
    val = torch.cat([ids[s:s + w] for s in starts])
    return train, val, K


def bounded_windows(val, windows):
    """At most VAL_MAX_CHARS of the held-out text (0: all) as whole windows, evenly spaced so they stay spread."""
    if VAL_MAX_CHARS <= 0 or len(val) <= VAL_MAX_CHARS + 1:
        return val, windows
    w = len(val) // windows
    keep = max(1, VAL_MAX_CHARS // w)
    picked = [(i * windows) // keep for i in range(keep)]
    return torch.cat([val[k * w:(k + 1) * w] for k in picked]), keep


@torch.no_grad()
def window_loss(model, val, windows, device):
    """Mean cross-entropy over the held-out windows: each one stream (its first character only an input), fed
    in chunks of SEQ columns with the state carried, the last chunk shorter."""
    w = len(val) // windows
    x, y = val.view(windows, w)[:, :-1], val.view(windows, w)[:, 1:]
    model.eval()
    state, total, count = None, 0.0, 0
    for s in range(0, w - 1, SEQ):
        xs, ys = x[:, s:s + SEQ].t().to(device), y[:, s:s + SEQ].t().to(device)
        logits, state = model(xs, state)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ys.reshape(-1), reduction="sum").item()
        count += ys.numel()
    model.train()
    return total / count

`;

/** Puts charrnn's generator among the helpers, once (several settings draw from it). */
function useRandom(p: ProgramParts): void {
  if (!p.helpers.includes(TORCH_RANDOM)) p.helpers.push(TORCH_RANDOM);
}

/** Every setting charrnn train saves in a checkpoint today, and what it becomes in the program (rows apply in this order). */
export const TORCH_SETTINGS: Readonly<Record<string, SettingRule>> = {
  corpus: { note: 'the embedded corpus the run trains on: its text travels as ids, and CORPUS names it in the model files' },
  lines: {
    apply(p, v, s) {
      p.constants.push(`LINES = ${v === true ? 'True  # line mode: batches of whole lines, each from a zero state' : 'False'}`);
      if (v !== true) return;
      // charrnn refuses the two together when it trains; a checkpoint that says so was not written by it.
      if (s.valSplit !== undefined && s.valSplit !== 'tail') throw new CharrnnError(`The run trains on lines (--lines) with --val-split ${py(s.valSplit)}, which charrnn does not do, so it is not exported.`);
      useRandom(p);
      p.helpers.push(TORCH_LINES);
      p.heldOut = ['train_lines, val_lines = hold_out_lines(load_ids(here))', 'line_metadata = read_line_metadata(here)'];
      p.batches = [
        'batcher = LineBatcher(train_lines, mine, training["streams"]["chunks"], device)',
        'if training["streams"]["pos"] != batcher.pos:',
        '    raise UserError(f"The saved batch position (batch {training[\'streams\'][\'pos\']}, chunk {batcher.chunks}) does not fit "',
        '                    f"{batcher.steps_per_epoch} batches of lines per pass: export the run again.")',
        'train_chars, val_chars = train_lines.targets, val_lines.targets',
        'chars_per_step = train_chars / batcher.steps_per_epoch  # a batch of lines, on average',
        'corpus_facts = {"trainChars": train_chars, "valChars": val_chars, "vocab": V, "lines": True, "trainLines": len(train_lines), "valLines": len(val_lines)}',
      ];
      p.validationLoss = 'line_loss(model, val_lines, device)';
      p.modelMetadata = 'line_metadata';
    },
    note: 'false: the run trains on streams of running text',
  },
  encoding: { note: 'how the text files were read: the text travels as ids, read with it' },
  invalid: { note: 'see encoding' },
  normalize: { note: 'see encoding (the model files keep the form for primes)' },
  maxVocab: { note: 'see encoding: the unknown symbol is one more id' },
  cell: {
    apply(p, v) {
      p.constants.push(`CELL = ${py(v)}`);
      const cls = CELLS[String(v)];
      if (cls === undefined) throw new CharrnnError(`The run's cell ${py(v)} is not one PyTorch has (lstm, gru, rnn).`);
      p.rnnClass = cls;
    },
  },
  layers: { apply: constant('LAYERS') },
  hidden: { apply: constant('HIDDEN') },
  emb: { apply: constant('EMB') },
  dropout: {
    apply(p, v, s) {
      p.constants.push(`DROPOUT = ${py(v)}`);
      if (Number(v) === 0) return;
      // charrnn drops out after every recurrent layer: nn.LSTM's own dropout is between layers, one more after the last.
      if (Number(s.layers) > 1) p.rnnArgs.push('dropout=DROPOUT');
      p.modelInit.push('self.drop = nn.Dropout(DROPOUT)  # after the last layer (the recurrent module drops out between layers)');
      p.afterRecurrent.push('y = self.drop(y)');
    },
  },
  batch: { apply: constant('BATCH') },
  seq: { apply: constant('SEQ') },
  optimizer: {
    apply(p, v) {
      const o = OPTIMIZERS[v as OptimizerName];
      if (o === undefined) throw new CharrnnError(`The run's optimizer ${py(v)} has no PyTorch counterpart here (adam, rmsprop, sgd).`);
      Object.assign(p, { ...o, optimizerArgs: [...o.optimizerArgs] });
    },
  },
  lr: { apply: constant('LR') },
  clip: { apply: constant('CLIP') },
  // The learning rate as schedule.ts `learningRateAt` has it: warm-up first, then the schedule counted from its end.
  warmup: {
    apply(p, v) {
      if (v === 0) return;
      if (!(Number.isInteger(v) && Number(v) > 0)) throw new CharrnnError(`The run's warm-up ${py(v)} is not a whole number of steps, so it is not exported.`);
      p.constants.push(`WARMUP = ${py(v)}`);
      p.learningRate.push(
        'if steps_done < WARMUP:',
        '    return LR * (steps_done + 1) / (WARMUP + 1)  # linear warm-up',
        'steps_done -= WARMUP  # the schedule counts from the end of warm-up',
      );
    },
  },
  // A deadline schedule's re-plans (src/train/schedule.ts cosinePhase): ahead of the plain cosine's lines, which hold until the first.
  scheduleReplans: {
    apply(p, v, s) {
      if (!Array.isArray(v) || v.length === 0) return;
      if (scheduleOf(s) !== 'cosine') throw new CharrnnError(`The run re-planned a ${py(scheduleOf(s))} schedule, which only a cosine can be, so it is not exported.`);
      const warmup = Number(s.warmup ?? 0);
      const replans = (v as unknown[]).map(r => {
        const { at, totalSteps } = (r ?? {}) as { at?: unknown; totalSteps?: unknown };
        if (!(Number.isInteger(at) && Number.isInteger(totalSteps) && Number(at) >= warmup && Number(totalSteps) > Number(at))) {
          throw new CharrnnError(`The run's schedule re-plan ${py(r)} is not a step after warm-up with a later end, so it is not exported.`);
        }
        return `(${Number(at) - warmup}, ${Number(totalSteps) - warmup})`;
      });
      p.constants.push(`REPLANS = [${replans.join(', ')}]  # (step, new end) after warm-up: the cosine re-planned to the time budget's deadline`);
      p.helpers.push(REPLANNED_COSINE);
      p.learningRate.push(
        'if steps_done >= REPLANS[0][0]:',
        '    return LR_MIN + (LR - LR_MIN) * (1 + math.cos(cosine_phase(steps_done))) / 2',
      );
    },
  },
  lrDecay: {
    apply(p, v, s) {
      p.constants.push(`LR_DECAY = ${py(v)}`);
      if (scheduleOf(s) === 'step' && Number(v) !== 1 && Number(s.lrDecayEvery) > 0) {
        p.learningRate.push('lr *= LR_DECAY ** (steps_done // LR_DECAY_EVERY)  # step decay');
      }
    },
  },
  lrDecayEvery: { apply: constant('LR_DECAY_EVERY') },
  lrSchedule: {
    apply(p, v, s) {
      if (v === 'step') return; // lrDecay's row
      if (v === 'constant') {
        p.constants.push('LR_SCHEDULE = "constant"  # LR after warm-up');
        return;
      }
      if (v !== 'cosine') throw new CharrnnError(`The run's learning-rate schedule ${py(v)} is not one export-torch knows (constant, step, cosine), so it is not exported.`);
      const span = Number(s.scheduleSteps ?? 0) - Number(s.warmup ?? 0);
      if (!(Number.isInteger(span) && span > 0)) {
        throw new CharrnnError(`The run's cosine schedule has no steps after its warm-up (--schedule-steps ${py(s.scheduleSteps ?? 0)}), so it is not exported.`);
      }
      p.constants.push('LR_SCHEDULE = "cosine"', `COSINE_STEPS = ${span}  # SCHEDULE_STEPS less the warm-up`);
      p.learningRate.push(
        'if steps_done >= COSINE_STEPS:',
        '    return LR_MIN  # the end of the cosine, held',
        'lr = LR_MIN + (LR - LR_MIN) * (1 + math.cos(math.pi * steps_done / COSINE_STEPS)) / 2',
      );
    },
  },
  lrMin: { apply(p, v, s) { if (scheduleOf(s) === 'cosine') p.constants.push(`LR_MIN = ${py(v)}`); } },
  scheduleSteps: { apply(p, v, s) { if (scheduleOf(s) === 'cosine') p.constants.push(`SCHEDULE_STEPS = ${py(v)}  # warm-up included`); } },
  scheduleEnd: { note: 'how the run planned its cosine; the curve it followed is scheduleSteps with scheduleReplans, which the program follows (it does not re-plan to its own --minutes)' },
  weightDecay: {
    apply(p, v, s) {
      if (v === 0) return;
      if (!(Number(v) > 0)) throw new CharrnnError(`The run's weight decay ${py(v)} is not a positive number, so it is not exported.`);
      if ((s.optimizer ?? 'adam') !== 'adam') throw new CharrnnError(`The run decays weights with --optimizer ${py(s.optimizer)}, which charrnn does only with adam, so it is not exported.`);
      // optimizer.ts: AdamW's decoupled decay (p <- p (1 - lr W), then the Adam step) on the weight matrices only (isDecayed).
      p.constants.push(`WEIGHT_DECAY = ${py(v)}`);
      p.optimizerClass = 'torch.optim.AdamW';
      p.optimizerSetup.push(
        '# charrnn decays the recurrent and output weight matrices only: not the biases, not the embedding',
        'decayed = [n.startswith("rnn.weight_") or n == "out.weight" for n, _ in model.named_parameters()]',
        'groups = [[p for p, d in zip(model.parameters(), decayed) if d == keep] for keep in (True, False)]',
      );
      p.optimizerParams = '[{"params": groups[0], "weight_decay": WEIGHT_DECAY}, {"params": groups[1], "weight_decay": 0.0}]';
    },
  },
  embDropout: {
    apply(p, v) {
      if (v === 0) return;
      p.constants.push(`EMB_DROPOUT = ${py(v)}`);
      p.modelInit.push("self.emb_drop = nn.Dropout(EMB_DROPOUT)  # on the embedding's output");
      p.afterEmbedding.push('x = self.emb_drop(x)');
    },
  },
  ema: {
    apply(p, v) {
      if (v === 0) return;
      if (!(Number(v) > 0 && Number(v) < 1)) throw new CharrnnError(`The run's --ema ${py(v)} is not between 0 and 1, so it is not exported.`);
      p.constants.push(`EMA = ${py(v)}`);
      p.helpers.push(WEIGHT_AVERAGE);
      p.afterRestore.push('average = WeightAverage(model, tensors, steps_done, ckpt_path)');
      p.afterStep.push('average.update(steps_done)');
      p.beforeValidation.push('average.swap()  # validate, and save the best, with the average');
      p.afterValidation.push('average.swap()');
      p.modelWeights = 'average.named(model)';
      p.checkpointExtras.push('("train.ema", average.flat())');
    },
  },
  valSplit: {
    apply(p, v) {
      if (v === 'tail') return;
      if (v !== 'spread') throw new CharrnnError(`The run's --val-split ${py(v)} is not one export-torch knows (tail, spread), so it is not exported.`);
      p.constants.push('VAL_SPLIT = "spread"  # held-out windows across the text');
      useRandom(p);
      p.helpers.push(SPREAD);
      p.heldOut = ['train_ids, val_ids, windows = spread_split(load_ids(here))', 'val_ids, windows = bounded_windows(val_ids, windows)'];
      p.validationLoss = 'window_loss(model, val_ids, windows, device)';
    },
    note: 'tail: the last --val-frac, as the program holds out',
  },
  valFrac: { apply: constant('VAL_FRAC') },
  valEvery: { apply: constant('VAL_EVERY') },
  valMaxChars: { apply: constant('VAL_MAX_CHARS') },
  patience: { apply: constant('PATIENCE') },
  checkpointEvery: { apply: constant('CHECKPOINT_EVERY') },
  seed: { apply: constant('SEED') },
  sampleEvery: { note: 'samples are for people watching charrnn train; the program draws none' },
  sampleLength: { note: 'see sampleEvery' },
  sampleTemperature: { note: 'see sampleEvery' },
  samplePrime: { note: 'see sampleEvery' },
  steps: { note: 'a stop limit: the program takes the run\'s own unless --steps, --epochs, --seconds or --minutes is given' },
  epochs: { note: 'a stop limit (see steps)' },
  seconds: { note: 'a stop limit (see steps)' },
};

/** Settings the program needs that older checkpoints may lack: what charrnn did before they existed. */
const DEFAULTS: Settings = {
  lines: false, lrDecay: 1, lrDecayEvery: 0, clip: 5, valFrac: 0.1, valEvery: 500, valMaxChars: 0, patience: 0, checkpointEvery: 500, dropout: 0, optimizer: 'adam', seed: 1,
};

/** The program parts for a run's settings; a setting the table does not know is refused by name. */
export function programParts(saved: Settings, source: string): ProgramParts {
  const settings: Settings = { ...DEFAULTS, corpus: null, ...saved };
  const unknown = Object.keys(settings).filter(k => !Object.hasOwn(TORCH_SETTINGS, k));
  if (unknown.length > 0) {
    const flags = unknown.map(k => `--${k.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)} ${py(settings[k])}`).join(', ');
    throw new CharrnnError(`The run in ${source} uses ${flags}, which export-torch cannot carry over to PyTorch yet, so it is not exported.`);
  }
  for (const k of ['cell', 'layers', 'hidden', 'emb', 'batch', 'seq', 'lr']) {
    if (settings[k] === undefined) throw new CharrnnError(`The run in ${source} does not record its --${k}, so it cannot be exported.`);
  }
  const parts: ProgramParts = {
    constants: [], rnnClass: '', rnnArgs: [], modelInit: [], afterEmbedding: [], afterRecurrent: [],
    ...OPTIMIZERS.adam, learningRate: [], optimizerSetup: [], optimizerParams: 'model.parameters()', helpers: [],
    afterRestore: [], afterStep: [], beforeValidation: [], afterValidation: [], modelWeights: 'weights', checkpointExtras: [],
    heldOut: ['train_ids, val_ids = split(load_ids(here))', 'if VAL_MAX_CHARS > 0:', '    val_ids = val_ids[:VAL_MAX_CHARS + 1]'],
    validationLoss: 'validation_loss(model, val_ids, device)',
    batches: [
      'x, y = streams(train_ids, BATCH)',
      'if training["streams"]["pos"] > x.shape[1]:',
      '    raise UserError(f"The saved stream position {training[\'streams\'][\'pos\']} does not fit streams of length {x.shape[1]}: export the run again.")',
      'batcher = Batcher(x[mine].to(device), y[mine].to(device), training["streams"]["pos"], training["streams"]["chunks"])',
      'train_chars, val_chars, chars_per_step = len(train_ids), len(val_ids), BATCH * SEQ',
      'corpus_facts = {"trainChars": train_chars, "valChars": val_chars, "vocab": V, "lines": False}',
    ],
    modelMetadata: null,
  };
  for (const [k, rule] of Object.entries(TORCH_SETTINGS)) if (k in settings && k !== 'corpus') rule.apply?.(parts, settings[k], settings);
  return parts;
}
