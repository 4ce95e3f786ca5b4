// The quality benchmark (issue 9; not in CI): how good a model charrnn's recipe
// trains in a time budget, beside the PyTorch reference in the same budget.
//   npm run bench:quality [-- --minutes 15] [--json]
//   node scripts/bench-quality.mjs --text PATH --torch-ref PATH [--minutes M] [--python PATH] [--json]
// 1. charrnn: `charrnn train` on the first 90% of the text with --seconds and
//    nothing else (the recipe chooses everything), then `charrnn eval` of its
//    best.safetensors on the last 10%.
// 2. PyTorch: torch_ref.py, the protocol's medium model (2x256 LSTM, batch 50 x
//    50, Adam 2e-3), on the same text (it splits off the same last 10%) for the
//    same training seconds, validating on that 10% as it goes: its best.
// One after the other, so that neither slows the other. Run after `npm run build`.
import { Command, InvalidArgumentError } from 'commander';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/src/cli/main.js');

const positive = value => {
  const n = Number(value);
  if (!(n > 0)) throw new InvalidArgumentError('must be a number above 0.');
  return n;
};
const options = new Command('bench:quality')
  .description(
    'train with the recipe for a time budget on the first 90% of tinyshakespeare, score on the last 10%, beside the PyTorch reference',
  )
  .option('--minutes <m>', 'the training budget of each side', positive, 15)
  .option('--seconds <s>', 'the budget in seconds instead', positive)
  .option('--text <path>', 'the text (the published figures use tinyshakespeare.txt)')
  .option('--torch-ref <path>', 'the PyTorch reference trainer of the benchmark protocol (torch_ref.py)')
  .option('--python <path>', 'a Python with torch', '/usr/bin/python3')
  .option('--torch-val-every <steps>', "steps between the reference's validations", positive, 100)
  .option('--json', 'one JSON object instead of the table')
  .option(
    '--keep <dir>',
    "keep the split, charrnn's run folder and the reference's output in this new folder (default: a temporary one, removed)",
  )
  .parse()
  .opts();

function fail(message) {
  process.stderr.write(`bench:quality: ${message}\n`);
  process.exit(1);
}

const seconds = options.seconds ?? options.minutes * 60;
for (const [flag, path] of [
  ['--text', options.text],
  ['--torch-ref', options.torchRef],
  ['--python', options.python],
]) {
  if (path === undefined) fail(`give ${flag} PATH.`);
  if (!existsSync(path)) fail(`${path} does not exist; give ${flag} PATH (relative paths are from ${process.cwd()}).`);
}
if (!existsSync(cli)) fail(`${cli} does not exist; run npm run build first.`);

/** Runs a command to its end; its stdout, or a failure naming the command. */
function run(command, args) {
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) fail(`${[command, ...args].join(' ')} exited with ${r.status ?? r.signal}.`);
  return r.stdout;
}

const jsonLines = text =>
  text
    .split('\n')
    .filter(l => l.startsWith('{'))
    .map(l => JSON.parse(l));

// The split of the benchmark protocol and torch_ref.py: int(len(text) * 0.9) characters (code points) train.
const chars = [...readFileSync(options.text, 'utf8')];
const nTrain = Math.floor(chars.length * 0.9);
if (options.keep !== undefined && existsSync(options.keep)) fail(`${options.keep} exists; give --keep a new folder.`);
const work = options.keep ?? mkdtempSync(join(tmpdir(), 'charrnn-bench-quality-'));
mkdirSync(work, { recursive: true });
const trainPath = join(work, 'train.txt');
const testPath = join(work, 'test.txt');
writeFileSync(trainPath, chars.slice(0, nTrain).join(''));
writeFileSync(testPath, chars.slice(nTrain).join(''));
const load = loadavg()[0];

try {
  const out = join(work, 'run');
  const t0 = performance.now();
  run(process.execPath, [cli, 'train', trainPath, '--seconds', String(seconds), '--out', out, '--quiet', '--sample-length', '0']);
  const charrnnWall = (performance.now() - t0) / 1000;
  const events = jsonLines(readFileSync(join(out, 'log.jsonl'), 'utf8'));
  const recipe =
    events.find(e => e.event === 'note' && e.message.startsWith('recipe: '))?.message.slice('recipe: '.length) ?? '(no recipe)';
  const result = events.find(e => e.event === 'result');
  const score = JSON.parse(
    run(process.execPath, [cli, 'eval', join(out, 'best.safetensors'), testPath, '--json'])
      .trim()
      .split('\n')
      .pop(),
  );

  const t1 = performance.now();
  const torch = jsonLines(
    run(options.python, [
      options.torchRef,
      '--text',
      options.text,
      '--layers',
      '2',
      '--hidden',
      '256',
      '--seconds',
      String(seconds),
      '--val-every',
      String(options.torchValEvery),
    ]),
  );
  const torchWall = (performance.now() - t1) / 1000;
  if (options.keep !== undefined) writeFileSync(join(work, 'torch.jsonl'), torch.map(e => JSON.stringify(e)).join('\n') + '\n');
  const vals = torch.filter(e => typeof e.val === 'number');
  const torchResult = torch.find(e => e.result);
  const bestTorch = Math.min(...vals.map(e => e.val), torchResult?.val_loss ?? Infinity);

  const report = {
    seconds,
    load_average: load,
    cores: cpus().length,
    charrnn: {
      held_out_nats_per_char: score.nats_per_char,
      best_val_loss: result.best_val_loss,
      steps: result.step,
      chars_per_s: result.chars_per_second,
      wall_seconds: charrnnWall,
      recipe,
    },
    pytorch: {
      best_val_loss: Number.isFinite(bestTorch) ? bestTorch : null,
      steps: torchResult?.steps ?? null,
      chars_per_s: torchResult?.chars_per_s ?? null,
      validations: vals.length + (torchResult?.val_loss !== undefined ? 1 : 0),
      wall_seconds: torchWall,
    },
  };
  if (options.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } else {
    const f = x => (x === null ? '-' : x.toFixed(4));
    process.stdout.write(
      [
        `budget ${seconds} s each; ${chars.length.toLocaleString('en')} characters, the first ${nTrain.toLocaleString('en')} to train on, ` +
          `the last ${(chars.length - nTrain).toLocaleString('en')} to score; load average ${load.toFixed(1)} on ${cpus().length} cores at the start`,
        '',
        '| | held-out nats/char | steps | chars/s | model |',
        '|---|---|---|---|---|',
        `| charrnn (recipe), best.safetensors scored by charrnn eval | ${f(score.nats_per_char)} | ${result.step} | ${Math.round(result.chars_per_second)} | ${recipe.split(':')[0]} |`,
        `| PyTorch reference (medium), best of ${report.pytorch.validations} validations | ${f(report.pytorch.best_val_loss)} | ${torchResult?.steps ?? '-'} | ${torchResult?.chars_per_s ?? '-'} | 2x256 LSTM, no dropout, Adam 2e-3 |`,
        '',
        `recipe: ${recipe}`,
        '',
      ].join('\n'),
    );
  }
} finally {
  if (options.keep === undefined) rmSync(work, { recursive: true, force: true });
}
