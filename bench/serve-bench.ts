// npm run bench:serve -- [--model PATH ...] [--seconds S] [--length N]
// Total generated characters per second at 1, 8 and 50 concurrent clients, with
// continuous batching and without (--no-batching), in the same run, against
// `charrnn serve` on 127.0.0.1. Each client sends /v1/generate requests of
// --length characters one after another for --seconds. Without --model, three
// LSTMs: 2x128 (the default run's size, whose weights fit one core's L2 cache),
// 2x512 (about the size the 15-minute recipe picks here; its 17 MB of weights
// fit the L3 cache) and 2x1024 (50 MB, read from memory).
import { GenerationBatch } from '../src/generate/generation-batch.js';
import { loadServedModels } from '../src/server/served-models.js';
import { benchModels, cpuSeconds, flag, startServer } from './server-process.js';

const seconds = Number(flag('seconds') ?? 5);
const length = Number(flag('length') ?? 200);
const CLIENTS = [1, 8, 50];

async function client(url: string, until: number, seed: number): Promise<{ chars: number; errors: number }> {
  let chars = 0,
    errors = 0;
  for (let i = 0; Date.now() < until; i++) {
    const res = await fetch(`${url}/v1/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prime: 'ROMEO:\n', length, seed: seed * 1000 + i }),
    });
    const body = (await res.json()) as { usage?: { generated_chars: number } };
    if (res.ok && body.usage) chars += body.usage.generated_chars;
    else errors++;
  }
  return { chars, errors };
}

interface Cell {
  charsPerSec: number;
  charsPerCpuSec: number;
  errors: number;
}

async function measure(url: string, pid: number, clients: number): Promise<Cell> {
  await Promise.all(Array.from({ length: clients }, (_, c) => client(url, Date.now() + 500, 100 + c))); // warm up: plans bound, JIT
  const start = Date.now(),
    cpu = cpuSeconds(pid);
  const results = await Promise.all(Array.from({ length: clients }, (_, c) => client(url, start + seconds * 1000, c + 1)));
  const elapsed = (Date.now() - start) / 1000,
    used = cpuSeconds(pid) - cpu;
  const chars = results.reduce((n, r) => n + r.chars, 0);
  return { charsPerSec: chars / elapsed, charsPerCpuSec: chars / used, errors: results.reduce((n, r) => n + r.errors, 0) };
}

/** The engine alone, for scale: characters per CPU-second of B streams stepping one GenerationBatch (no sampling, no server), in this process. */
async function engineAlone(model: string, B: number): Promise<number> {
  const [served] = await loadServedModels([model]);
  const batch = new GenerationBatch(served.model, { capacity: B });
  const streams = Array.from({ length: B }, () => batch.open());
  const step = () => {
    for (const s of streams) s.input(1);
    batch.step();
  };
  for (let i = 0; i < 50; i++) step();
  let steps = 0;
  const start = performance.now(),
    cpu = process.cpuUsage();
  while (performance.now() - start < 1000) {
    step();
    steps++;
  }
  const used = process.cpuUsage(cpu);
  const rate = (B * steps) / ((used.user + used.system) / 1e6);
  batch.dispose();
  return rate;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function benchOne(model: string): Promise<void> {
  const rows: Record<number, { on: Cell; off: Cell }> = {};
  for (const batching of [true, false]) {
    const server = await startServer(model, batching ? [] : ['--no-batching']);
    try {
      for (const c of CLIENTS) {
        const r = await measure(server.url, server.child.pid!, c);
        (rows[c] ??= {} as { on: Cell; off: Cell })[batching ? 'on' : 'off'] = r;
        process.stderr.write(`batching ${batching ? 'on ' : 'off'}, ${c} clients: ${Math.round(r.charsPerSec)} chars/s\n`);
      }
    } finally {
      await server.stop();
    }
  }
  const engine = new Map<number, number>();
  for (const c of CLIENTS) engine.set(c, await engineAlone(model, c));

  const [served] = await loadServedModels([model]);
  const { cell, layers, hidden } = served.model.config;
  console.log(`\nmodel ${model} (${cell} ${layers}x${hidden}), /v1/generate of ${length} characters, ${seconds} s per cell\n`);
  // Wall-clock chars/s is what a client sees; chars per CPU-second of the server is the same work measured
  // by what it cost, which holds still on a machine whose cores other programs share.
  console.log(
    '| clients | batching on: chars/s | off: chars/s | on / off | on: chars per server CPU-s | off: chars per server CPU-s | on / off | errors | engine alone, B = clients: chars per CPU-s | vs B = 1 |',
  );
  console.log('|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const c of CLIENTS) {
    const { on, off } = rows[c];
    console.log(
      `| ${c} | ${fmt(on.charsPerSec)} | ${fmt(off.charsPerSec)} | ${(on.charsPerSec / off.charsPerSec).toFixed(1)}x | ` +
        `${fmt(on.charsPerCpuSec)} | ${fmt(off.charsPerCpuSec)} | ${(on.charsPerCpuSec / off.charsPerCpuSec).toFixed(1)}x | ${on.errors + off.errors} | ` +
        `${fmt(engine.get(c)!)} | ${(engine.get(c)! / engine.get(1)!).toFixed(1)}x |`,
    );
  }
}

for (const model of benchModels(['2x128', '2x512', '2x1024'])) await benchOne(model);
