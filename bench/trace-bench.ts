// npm run bench:trace -- [--text FILE] [--chars 100000] [--model 2x512] [--repeat 3]
// What a trace costs next to `charrnn eval` (CharRnnModel.score) on the same
// text and model (an LSTM of LxH, embedding 64, random weights, the default
// engine), and the memory each way of keeping it takes: surprise and guesses
// only (traceChunks, each chunk dropped), every layer's hidden and cell values
// kept (trace), and the whole explanation (explain). Each mode runs in a child
// process of its own so that its peak resident memory is its own.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { CharRnnModel } from '../src/generate/char-rnn-model.js';
import { CharRNN } from '../src/model/charrnn.js';
import { loadKernels } from '../src/node/backend.js';
import { loadCorpus } from '../src/node/read-corpus.js';
import { Vocabulary } from '../src/text/vocabulary.js';
import { flag } from './server-process.js';

const MODES = ['eval', 'surprise', 'cells', 'explain'] as const;
type Mode = (typeof MODES)[number];
const DESCRIPTIONS: Record<Mode, string> = {
  eval: 'charrnn eval (score)',
  surprise: 'trace, surprise and top-5 only (chunks dropped)',
  cells: 'trace, every layer hidden + cell kept',
  explain: 'explain (features, saturation, 2000 shown)',
};

const chars = Number(flag('chars') ?? 100_000);
const size = flag('model') ?? '2x512';
const file = flag('text');

/** Runs one mode in this process: prints {seconds, keptBytes} as JSON. */
async function runMode(mode: Mode): Promise<void> {
  const text = [...(file ? readFileSync(file, 'utf8') : loadCorpus([], 'moby-dick').text)].slice(0, chars).join('');
  const vocab = Vocabulary.fromText(text);
  const [L, H] = size.split('x').map(Number);
  const kernels = await loadKernels();
  const model = new CharRNN({ cell: 'lstm', layers: L, hidden: H, emb: 64, vocabSize: vocab.size, dropout: 0 }, kernels, { seed: 1 });
  const handle = new CharRnnModel(model, vocab);
  handle.score(text.slice(0, 2000)); // warm-up: buffers and JIT
  const start = performance.now();
  let kept = 0;
  if (mode === 'eval') handle.score(text);
  else if (mode === 'surprise') {
    for (const chunk of handle.traceChunks(text))
      kept = Math.max(kept, chunk.surprise.byteLength + chunk.topIds.byteLength + chunk.topP.byteLength);
  } else if (mode === 'cells') {
    const trace = handle.trace(text, { layers: Array.from({ length: L }, (_, l) => l) });
    kept = trace.layers.reduce((s, l) => s + l.hidden!.byteLength + l.cell!.byteLength, 0);
  } else kept = JSON.stringify(handle.explain(text)).length;
  const seconds = (performance.now() - start) / 1000;
  console.log(JSON.stringify({ seconds, kept, engine: kernels.name, rss: process.resourceUsage().maxRSS * 1024 }));
}

const mode = flag('mode') as Mode | undefined;
if (mode) {
  await runMode(mode);
} else {
  const repeat = Number(flag('repeat') ?? 3);
  const self = fileURLToPath(import.meta.url);
  const args = process.argv.slice(2);
  const results = new Map<Mode, { seconds: number[]; kept: number; rss: number; engine: string }>();
  for (let r = 0; r < repeat; r++)
    for (const m of MODES) {
      const line = execFileSync(process.execPath, [self, ...args, '--mode', m], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .at(-1)!;
      const out = JSON.parse(line) as { seconds: number; kept: number; rss: number; engine: string };
      const entry = results.get(m) ?? { seconds: [], kept: out.kept, rss: out.rss, engine: out.engine };
      entry.seconds.push(out.seconds);
      entry.rss = Math.max(entry.rss, out.rss);
      results.set(m, entry);
    }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const base = median(results.get('eval')!.seconds);
  const mb = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MB`;
  console.log(
    `${size} LSTM, ${chars.toLocaleString('en-US')} characters of ${file ?? 'moby-dick'}, ${results.get('eval')!.engine} engine, ` +
      `${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores), median of ${repeat}\n`,
  );
  console.log('| what | seconds | vs eval | kept | peak memory (process) |');
  console.log('|--|--:|--:|--:|--:|');
  for (const m of MODES) {
    const e = results.get(m)!;
    const s = median(e.seconds);
    console.log(`| ${DESCRIPTIONS[m]} | ${s.toFixed(2)} | x${(s / base).toFixed(2)} | ${m === 'eval' ? '-' : mb(e.kept)} | ${mb(e.rss)} |`);
  }
}
