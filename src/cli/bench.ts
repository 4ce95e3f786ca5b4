import { Command, InvalidArgumentError, Option } from 'commander';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_CONFIGS, BENCH_EMB, WARMUP_STEPS, type BenchConfig } from '../run/bench-protocol.js';
import { CharrnnError } from '../errors.js';
import { shortestText } from '../run/check-settings.js';
import { DEFAULT_SETTINGS } from '../run/settings.js';
import { DecodeError } from '../text/decoder.js';
import { BACKENDS } from '../node/backend.js';
import type { CliIo } from './io.js';
import { positiveInt, seedValue } from './flag-parsers.js';
import { action, type ExitStatus } from './action.js';

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
// Ships with the package (package.json "files"): PyTorch's generation loop beside torch_ref.py's training.
const torchGenerate = resolve(packageRoot, 'tools/torch_generate.py');
// Each configuration is measured in a process of its own: this program's, whoever called runCli.
const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

interface BenchFlags {
  config: string;
  all?: boolean;
  backend?: string;
  steps: number;
  repeat: number;
  generate: number;
  text?: string;
  vsPytorch?: string;
  validate?: boolean;
  json?: boolean;
  seed: number;
  child?: boolean;
}

interface Row extends Figures {
  config: string;
  backend: string;
}

export function benchCommand(io: CliIo, status: ExitStatus): Command {
  return new Command('bench')
    .description(
      'measure training and generation speed by the benchmark protocol (B=50 streams of T=50, embedding 64, Adam 2e-3, clip 5) on a corpus, optionally beside PyTorch',
    )
    .addOption(new Option('--config <name>', 'protocol configuration').choices(Object.keys(BENCH_CONFIGS)).default('small'))
    .option('--all', 'every configuration, on every backend that loads here (each in its own process)')
    .addOption(new Option('--backend <name>', 'backend (with --all: only this one; default CHARRNN_BACKEND, else auto)').choices(BACKENDS))
    .option('--steps <n>', `training steps (the first ${WARMUP_STEPS} are not timed)`, timedSteps, 60)
    .option(
      '--repeat <n>',
      'rounds, each running every program once in turn; then the medians (with PyTorch: of the ratios)',
      positiveInt,
      1,
    )
    .option(
      '--generate <n>',
      'characters to generate for the generation figure (a long window, so start-up is a small share for both programs)',
      positiveInt,
      20000,
    )
    .option('--text <path>', 'the corpus (the protocol uses tinyshakespeare.txt)')
    .option(
      '--vs-pytorch <path>',
      "also run the PyTorch reference trainer at this path (the protocol's torch_ref.py) on the same work and print the ratios",
    )
    .option('--validate', 'also report the validation loss after training')
    .option('--seed <n>', 'random seed', seedValue, 1)
    .option('--json', 'one JSON object per line')
    .addOption(new Option('--child').hideHelp())
    .action(action(status, (flags: BenchFlags) => bench(io, flags)));
}

async function bench(io: CliIo, flags: BenchFlags): Promise<void> {
  if (flags.text === undefined)
    throw new CharrnnError('charrnn bench needs a corpus: give its path with --text (the protocol uses tinyshakespeare.txt).');
  const text = flags.text;
  if (flags.child) return benchInProcess(io, flags, text);
  if (!existsSync(text)) throw new CharrnnError(`The benchmark corpus ${text} does not exist; give one with --text.`);
  const configs = flags.all ? Object.keys(BENCH_CONFIGS) : [flags.config];
  // Read here first, so a text the children would refuse is one sentence in bench's words, not a failed child per configuration.
  const chars = [...(await readBenchText(io, text))].length;
  for (const name of configs) checkLongEnough(text, chars, name);
  if (flags.vsPytorch !== undefined && statSync(text).isDirectory()) {
    throw new CharrnnError(`--vs-pytorch needs the corpus as one file (the PyTorch reference reads one), and ${text} is a folder.`);
  }
  const chosen = flags.backend ?? (io.env.CHARRNN_BACKEND || undefined);
  const backends = flags.all && !chosen ? await (await import('../node/backend.js')).availableBackends() : [chosen ?? 'auto'];
  const torchRef = flags.vsPytorch ?? null;
  const out = (line: string): void => {
    io.stdout.write(line + '\n');
  };
  const print = (row: Row & Partial<Ratios>, round?: string): void => {
    if (flags.json) out(JSON.stringify({ ...(round ? { round } : {}), ...row }));
    else
      out(
        formatRow(row) +
          (row.train_vs_pytorch === undefined
            ? ''
            : `   x${row.train_vs_pytorch} train, x${row.generate_vs_pytorch} generate, x${row.rss_vs_pytorch} RSS vs PyTorch`) +
          (round ? `   (${round})` : ''),
      );
  };
  for (const name of configs) {
    // Rounds alternate the programs, so a slow spell of a shared machine falls on
    // both; the medians of the rounds are the figures to quote.
    const rounds: { torch: Figures | null; ours: Map<string, Row & Partial<Ratios>> }[] = [];
    for (let r = 1; r <= flags.repeat; r++) {
      const label = flags.repeat > 1 ? `round ${r} of ${flags.repeat}` : undefined;
      const torch = torchRef ? runPytorch(io, torchRef, BENCH_CONFIGS[name], flags, text) : null;
      if (torch) print({ config: name, backend: 'pytorch', ...torch }, label);
      const ours = new Map<string, Row & Partial<Ratios>>();
      for (const backend of backends) {
        const row = runChild(io, name, backend, flags, text);
        const withRatios = { ...row, ...(torch ? ratios(row, torch) : {}) };
        ours.set(backend, withRatios);
        print(withRatios, label);
      }
      rounds.push({ torch, ours });
    }
    if (flags.repeat > 1) {
      const fig = (of: Figures[]): Figures => ({
        train_chars_per_s: Math.round(median(of.map(x => x.train_chars_per_s))),
        generate_chars_per_s: Math.round(median(of.map(x => x.generate_chars_per_s))),
        peak_rss_bytes: Math.round(median(of.map(x => x.peak_rss_bytes))),
      });
      const label = `median of ${flags.repeat}`;
      if (torchRef) print({ config: name, backend: 'pytorch', ...fig(rounds.map(r => r.torch!)) }, label);
      for (const backend of backends) {
        const all = rounds.map(r => r.ours.get(backend)!);
        const row: Row & Partial<Ratios> = {
          config: name,
          backend: all[0].backend,
          ...fig(all),
          ...(torchRef ? medianRatios(all as Ratios[]) : {}),
        };
        print(row, label);
      }
    }
  }
}

interface Figures {
  train_chars_per_s: number;
  generate_chars_per_s: number;
  peak_rss_bytes: number;
  val_loss?: number;
}

interface Ratios {
  train_vs_pytorch: number;
  generate_vs_pytorch: number;
  rss_vs_pytorch: number;
}

function ratios(row: Figures, torch: Figures): Ratios {
  return {
    train_vs_pytorch: round(row.train_chars_per_s / torch.train_chars_per_s, 2),
    generate_vs_pytorch: round(row.generate_chars_per_s / torch.generate_chars_per_s, 2),
    rss_vs_pytorch: round(row.peak_rss_bytes / torch.peak_rss_bytes, 2),
  };
}

function medianRatios(of: Ratios[]): Ratios {
  return {
    train_vs_pytorch: round(median(of.map(x => x.train_vs_pytorch)), 2),
    generate_vs_pytorch: round(median(of.map(x => x.generate_vs_pytorch)), 2),
    rss_vs_pytorch: round(median(of.map(x => x.rss_vs_pytorch)), 2),
  };
}

/** The middle value (the mean of the two middle ones for an even count). */
function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** One configuration on one backend, in this process (so its peak RSS is this run's alone). */
async function benchInProcess(io: CliIo, flags: BenchFlags, path: string): Promise<void> {
  const [{ runProtocol }, { loadKernels }] = await Promise.all([import('../run/bench-protocol.js'), import('../node/backend.js')]);
  const kernels = await loadKernels(flags.backend, m => io.stderr.write(`charrnn: ${m}\n`));
  const text = await readBenchText(io, path);
  const r = runProtocol(text, BENCH_CONFIGS[flags.config], kernels, {
    steps: flags.steps,
    generateChars: flags.generate,
    validate: flags.validate ?? false,
    seed: flags.seed,
    now: () => performance.now(),
  });
  const row: Row = {
    config: flags.config,
    backend: kernels.name,
    train_chars_per_s: Math.round(r.train_chars_per_s),
    generate_chars_per_s: Math.round(r.generate_chars_per_s),
    peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
    ...(r.val_loss === undefined ? {} : { val_loss: round(r.val_loss, 4) }),
  };
  io.stdout.write(JSON.stringify(row) + '\n');
}

/**
 * The benchmark corpus, read as train reads text (a folder too). A text that
 * does not decode is said with bench's own advice: bench has no --encoding or
 * --invalid, since the protocol's corpus is UTF-8.
 */
async function readBenchText(io: CliIo, path: string): Promise<string> {
  const { loadCorpus } = await import('../node/read-corpus.js');
  try {
    return loadCorpus([path], undefined, { note: m => io.stderr.write(`charrnn: ${m}\n`) }).text;
  } catch (e) {
    if (e instanceof DecodeError)
      throw new CharrnnError(
        `${e.problem}; the benchmark reads UTF-8 text (or UTF-16 with a byte order mark): give such a corpus with --text.`,
      );
    throw e;
  }
}

/**
 * Refuses a corpus too short for a configuration's batch, in bench's words: the
 * protocol fixes the batch and the chunk length, so the only remedy is a longer text.
 */
function checkLongEnough(path: string, chars: number, name: string): void {
  const c = BENCH_CONFIGS[name];
  // The protocol holds out the last 10% for validation, as runProtocol does.
  const shortest = shortestText({ batch: c.batch, seq: c.seq, valFrac: 0.1, valSplit: DEFAULT_SETTINGS.valSplit });
  if (chars >= shortest) return;
  throw new CharrnnError(
    `The benchmark corpus ${path} is too short for the ${name} configuration: its ${c.batch} streams of ${c.seq} characters ` +
      `need a text of at least ${shortest.toLocaleString('en')} characters, and it has ${chars.toLocaleString('en')}; give a longer text with --text ` +
      '(the protocol uses tinyshakespeare.txt).',
  );
}

function runChild(io: CliIo, config: string, backend: string, flags: BenchFlags, text: string): Row {
  const args = [
    MAIN,
    'bench',
    '--child',
    '--config',
    config,
    '--backend',
    backend,
    '--steps',
    String(flags.steps),
    '--generate',
    String(flags.generate),
    '--text',
    text,
    '--seed',
    String(flags.seed),
    ...(flags.validate ? ['--validate'] : []),
  ];
  // The test runner's own flags are not the child's.
  const execArgv = process.execArgv.filter(a => !a.startsWith('--test'));
  const r = spawnSync(process.execPath, [...execArgv, ...args], {
    encoding: 'utf8',
    env: io.env,
    stdio: ['ignore', 'pipe', childStderr(io)],
  });
  if (r.stderr) io.stderr.write(r.stderr);
  const line = r.stdout?.trim().split('\n').pop();
  if (r.status !== 0 || !line) throw new CharrnnError(`The ${config} benchmark on the ${backend} backend failed (exit ${r.status}).`);
  return JSON.parse(line) as Row;
}

/** A child's stderr as it comes when ours is the process's own; else collected and passed on to io when it ends. */
function childStderr(io: CliIo): 'inherit' | 'pipe' {
  return io.stderr === process.stderr ? 'inherit' : 'pipe';
}

function python(io: CliIo): string {
  return io.env.CHARRNN_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
}

/** torch_ref.py for training (its own JSON result line), tools/torch_generate.py for generation; peak RSS from the child's rusage. */
function runPytorch(io: CliIo, torchRef: string, c: BenchConfig, flags: BenchFlags, text: string): Figures {
  if (!existsSync(torchRef)) throw new CharrnnError(`The PyTorch reference ${torchRef} does not exist; give its path to --vs-pytorch.`);
  const withRss = (script: string, args: string[]): Record<string, number> => {
    // runpy runs the script as __main__ inside a process that then reports its own peak RSS.
    const wrapper =
      'import json,resource,runpy,sys; sys.argv=sys.argv[1:]; runpy.run_path(sys.argv[0], run_name="__main__"); ' +
      'print(json.dumps({"peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))';
    const r = spawnSync(python(io), ['-c', wrapper, script, ...args], {
      encoding: 'utf8',
      env: io.env,
      stdio: ['ignore', 'pipe', childStderr(io)],
    });
    if (r.stderr) io.stderr.write(r.stderr);
    if (r.status !== 0)
      throw new CharrnnError(`The PyTorch run of ${script} failed (exit ${r.status}); is PyTorch installed for ${python(io)}?`);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map(l => JSON.parse(l) as Record<string, number>);
    return Object.assign({}, ...lines.filter(l => 'result' in l || 'generate_chars_per_s' in l || 'peak_rss_bytes' in l));
  };
  const model = ['--cell', c.cell, '--layers', String(c.layers), '--hidden', String(c.hidden), '--emb', String(BENCH_EMB)];
  const train = withRss(torchRef, [
    '--text',
    text,
    ...model,
    '--batch',
    String(c.batch),
    '--seq',
    String(c.seq),
    '--steps',
    String(flags.steps),
    ...(flags.validate ? [] : ['--no-val']),
  ]);
  const gen = withRss(torchGenerate, ['--text', text, ...model, '--chars', String(flags.generate)]);
  return {
    train_chars_per_s: train.chars_per_s,
    generate_chars_per_s: gen.generate_chars_per_s,
    peak_rss_bytes: train.peak_rss_bytes,
    ...(train.val_loss === undefined ? {} : { val_loss: train.val_loss }),
  };
}

/** More steps than the untimed warm-up, or there is nothing to time. */
function timedSteps(value: string): number {
  const n = positiveInt(value);
  if (n <= WARMUP_STEPS)
    throw new InvalidArgumentError(`It must be more than ${WARMUP_STEPS}: the first ${WARMUP_STEPS} steps are not timed.`);
  return n;
}

function formatRow(r: Row): string {
  const n = (v: number): string => Math.round(v).toLocaleString('en').padStart(8);
  return (
    `${r.config.padEnd(10)} ${r.backend.padEnd(10)} train ${n(r.train_chars_per_s)} chars/s   generate ${n(r.generate_chars_per_s)} chars/s   ` +
    `peak RSS ${(r.peak_rss_bytes / 2 ** 20).toFixed(0).padStart(5)} MiB${r.val_loss === undefined ? '' : `   val ${r.val_loss.toFixed(4)}`}`
  );
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
