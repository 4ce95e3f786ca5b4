// npm run bench:finetune -- --text FILE [--minutes 2] [--from english] [--sizes 20,50,200] [--keep DIR] [--json]
// Fine-tuning against training from scratch on little text (issue 20). From
// FILE (a text not in the base model's corpus) it cuts pieces of 20, 50 and 200
// thousand characters: each the first N characters of the text, ended at the
// last line break before N; each split 90/10 (the first 90% to train on, the
// last 10% held out). For each piece, one after the other on this machine, as
// real `charrnn train` processes:
//   1. from scratch: `charrnn train train.txt --minutes M` (the recipe chooses everything);
//   2. fine-tuned:   `charrnn train train.txt --from english --minutes M`;
// then `charrnn eval DIR/best.safetensors test.txt` of each (and of the base
// model itself, untrained on the piece), a table of held-out nats/char, and a
// sample of each model of the middle piece (50 KB). Run after `npm run build`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIN, flag } from './server-process.js';

const HELP = `npm run bench:finetune -- --text FILE [--minutes 2] [--from english] [--sizes 20,50,200] [--keep DIR] [--json]
  --text FILE     the text to cut the pieces from (not part of the base model's corpus), UTF-8
  --minutes M     each run's budget (default 2; 0.2 proves the benchmark works in a few minutes)
  --from MODEL    the model fine-tuned (default english: the base model charrnn ships)
  --sizes LIST    the pieces, in thousands of characters (default 20,50,200)
  --sample-size N the piece whose samples are printed (default 50, or the middle one)
  --backend NAME  passed to every charrnn command
  --keep DIR      keep the pieces, run folders and samples in this new folder (default: a temporary one, removed)
  --json          one JSON object instead of the table`;

if (process.argv.includes('--help')) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}

function fail(message: string): never {
  process.stderr.write(`bench:finetune: ${message}\n`);
  process.exit(1);
}

const textPath = flag('text') ?? fail(`give --text FILE.\n${HELP}`);
if (!existsSync(textPath)) fail(`${textPath} does not exist; give --text FILE (relative paths are from ${process.cwd()}).`);
const minutes = Number(flag('minutes') ?? 2);
if (!(minutes > 0)) fail('--minutes must be a number above 0.');
const from = flag('from') ?? 'english';
const sizes = (flag('sizes') ?? '20,50,200').split(',').map(Number);
if (!sizes.every(k => Number.isInteger(k) && k > 0)) fail('--sizes must be whole numbers of thousands of characters, such as 20,50,200.');
const sampleSize = Number(flag('sample-size') ?? (sizes.includes(50) ? 50 : sizes[Math.floor(sizes.length / 2)]));
/** What charrnn eval scores as the model not trained on the piece: a run folder's best (or latest) model, else `from` itself. */
const fromModel = ['best.safetensors', 'model.safetensors'].map(f => join(from, f)).find(f => existsSync(f)) ?? from;
const backend = flag('backend');
const keep = flag('keep');
const json = process.argv.includes('--json');
if (!existsSync(MAIN)) fail(`${MAIN} does not exist; run npm run build first.`);
if (keep !== undefined && existsSync(keep)) fail(`${keep} exists; give --keep a new folder.`);

/** Runs charrnn to its end; its stdout, or a failure naming the command. */
function charrnn(args: string[]): string {
  const all = [...args, ...(backend ? ['--backend', backend] : [])];
  const r = spawnSync(process.execPath, [MAIN, ...all], { encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) fail(`charrnn ${all.join(' ')} exited with ${r.status ?? r.signal}.`);
  return r.stdout;
}

/** Held-out nats/char of a model on a text, as charrnn eval reports it. */
function heldOut(model: string, text: string): number {
  const last = charrnn(['eval', model, text, '--json']).trim().split('\n').pop()!;
  return (JSON.parse(last) as { nats_per_char: number }).nats_per_char;
}

type Log = { event: string; message?: string; step?: number; best_val_loss?: number | null; reason?: string };
const log = (dir: string): Log[] =>
  readFileSync(join(dir, 'log.jsonl'), 'utf8')
    .split('\n')
    .filter(l => l !== '')
    .map(l => JSON.parse(l) as Log);

/** The first `n` code points of the text, ended at the last line break before them (when there is one). */
function piece(chars: string[], n: number): string {
  const cut = chars.slice(0, n).join('');
  const lastBreak = cut.lastIndexOf('\n');
  return lastBreak > n / 2 ? cut.slice(0, lastBreak + 1) : cut;
}

interface Side {
  nats: number;
  steps: number;
  stopped: string;
  recipe: string;
  model: string;
}

const chars = [...readFileSync(textPath, 'utf8')];
if (chars.length < Math.max(...sizes) * 1000)
  fail(`${textPath} has ${chars.length.toLocaleString('en')} characters, fewer than the largest piece.`);
const work = keep ?? mkdtempSync(join(tmpdir(), 'charrnn-bench-finetune-'));
mkdirSync(work, { recursive: true });
const load = loadavg()[0];
const seconds = Math.round(minutes * 60);

try {
  const rows: { size: number; chars: number; trainChars: number; testChars: number; scratch: Side; fineTuned: Side; base: number }[] = [];
  for (const k of sizes) {
    const text = [...piece(chars, k * 1000)];
    const nTrain = Math.floor(text.length * 0.9);
    const folder = join(work, `${k}k`);
    mkdirSync(folder, { recursive: true });
    const train = join(folder, 'train.txt');
    const test = join(folder, 'test.txt');
    writeFileSync(train, text.slice(0, nTrain).join(''));
    writeFileSync(test, text.slice(nTrain).join(''));
    const side = (name: string, extra: string[]): Side => {
      const out = join(folder, name);
      process.stderr.write(
        `bench:finetune: ${k}k ${name}: charrnn train ${['train.txt', ...extra, '--seconds', String(seconds)].join(' ')}\n`,
      );
      charrnn(['train', train, ...extra, '--seconds', String(seconds), '--out', out, '--quiet', '--sample-length', '0', '--no-plot']);
      const events = log(out);
      const recipe = events.find(e => e.event === 'note' && e.message?.startsWith('recipe: '))?.message?.slice('recipe: '.length) ?? '';
      const result = events.find(e => e.event === 'result');
      const model = join(out, existsSync(join(out, 'best.safetensors')) ? 'best.safetensors' : 'model.safetensors');
      return { nats: heldOut(model, test), steps: result?.step ?? 0, stopped: result?.reason ?? '', recipe, model };
    };
    const scratch = side('scratch', []);
    const fineTuned = side('fine-tuned', ['--from', from]);
    rows.push({
      size: k,
      chars: text.length,
      trainChars: nTrain,
      testChars: text.length - nTrain,
      scratch,
      fineTuned,
      base: heldOut(fromModel, test),
    });
  }
  const shown = rows.find(r => r.size === sampleSize) ?? rows[0];
  const sample = (model: string): string => charrnn(['sample', model, '--length', '500', '--temperature', '0.8', '--seed', '1']);
  const samples = { size: shown.size, scratch: sample(shown.scratch.model), fineTuned: sample(shown.fineTuned.model) };
  if (keep !== undefined) writeFileSync(join(work, 'samples.json'), `${JSON.stringify(samples, null, 2)}\n`);

  const report = { text: textPath, seconds, from, load_average: load, cores: cpus().length, rows, samples };
  if (json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } else {
    const f = (x: number): string => x.toFixed(4);
    const lines = [
      `${textPath}: pieces of ${sizes.map(k => `${k}k`).join(', ')} characters from its start, each 90% to train on and the last 10% to score; ` +
        `${seconds} s each run; load average ${load.toFixed(1)} on ${cpus().length} cores at the start`,
      '',
      `| piece | from scratch (recipe) | ${from}, not trained on it | --from ${from} | fine-tuned better by |`,
      '|---|---|---|---|---|',
      ...rows.map(
        r =>
          `| ${r.size}k (${r.trainChars.toLocaleString('en')} + ${r.testChars.toLocaleString('en')}) | ${f(r.scratch.nats)} (${r.scratch.steps} steps) | ` +
          `${f(r.base)} | ${f(r.fineTuned.nats)} (${r.fineTuned.steps} steps, ${r.fineTuned.stopped}) | ${f(r.scratch.nats - r.fineTuned.nats)} |`,
      ),
      '',
      'held-out nats/char of best.safetensors, scored by charrnn eval on the last 10% of each piece',
      '',
      ...rows.flatMap(r => [`${r.size}k from scratch: ${r.scratch.recipe}`, `${r.size}k fine-tuned: ${r.fineTuned.recipe}`]),
      '',
      `--- from scratch, ${shown.size}k (seed 1, temperature 0.8) ---`,
      samples.scratch,
      `--- --from ${from}, ${shown.size}k (seed 1, temperature 0.8) ---`,
      samples.fineTuned,
      '',
    ];
    process.stdout.write(lines.join('\n'));
  }
} finally {
  if (keep === undefined) rmSync(work, { recursive: true, force: true });
}
