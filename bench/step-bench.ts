// npm run bench:step -- [--models 2x128,2x512,2x1024] [--streams 1,8,50] [--seconds S]
// The engine's model step alone: characters per CPU-second of one GenerationBatch of
// B streams stepping (no sampling, no server), for LSTMs of LxH (embedding 64,
// 65 characters, random weights), on the default engine with its threads
// (CHARRNN_THREADS=1 for one). Also in multiply-adds per CPU-second, the
// figure to hold against a core's peak.
import { GenerationBatch } from '../src/generate/generation-batch.js';
import { CharRNN } from '../src/model/charrnn.js';
import { loadKernels } from '../src/node/backend.js';
import { flag } from './server-process.js';

const list = (name: string, fallback: string): string[] => (flag(name) ?? fallback).split(',');
const models = list('models', '2x128,2x512,2x1024');
const streams = list('streams', '1,8,50').map(Number);
const seconds = Number(flag('seconds') ?? 1.5);
const V = 65;

const kernels = await loadKernels();

/** Characters per CPU-second of B streams stepping, after 50 steps of warm-up. */
function rate(model: CharRNN<Float32Array>, B: number): number {
  const batch = new GenerationBatch(model, { capacity: B });
  const open = Array.from({ length: B }, () => batch.open());
  const step = (): void => {
    open.forEach((s, b) => s.input((b * 7) % V));
    batch.step();
  };
  for (let i = 0; i < 50; i++) step();
  let steps = 0;
  const start = performance.now(),
    cpu = process.cpuUsage();
  while (performance.now() - start < seconds * 1000) {
    step();
    steps++;
  }
  const used = process.cpuUsage(cpu);
  batch.dispose();
  return (B * steps) / ((used.user + used.system) / 1e6);
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
console.log(`${kernels.name} engine, model step alone: characters per CPU-second (G multiply-adds per CPU-second)\n`);
console.log(`| LSTM | ${streams.map(B => `B = ${B}`).join(' | ')} | B = ${streams.at(-1)} vs B = ${streams[0]} |`);
console.log(`|--|${streams.map(() => '--:|').join('')}--:|`);
for (const m of models) {
  const [L, H] = m.split('x').map(Number);
  const model = new CharRNN({ cell: 'lstm', layers: L, hidden: H, emb: 64, vocabSize: V, dropout: 0 }, kernels, { seed: 1 });
  // Per character: layer 0's W_hh (its W_ih is the input table), then W_ih and W_hh of each layer above, then the output layer.
  const macs = 4 * H * H + (L - 1) * 4 * H * 2 * H + V * H;
  const rates = streams.map(B => rate(model, B));
  console.log(
    `| ${m} | ${rates.map(r => `${fmt(r)} (${((r * macs) / 1e9).toFixed(0)})`).join(' | ')} | ${(rates.at(-1)! / rates[0]).toFixed(1)}x |`,
  );
}
