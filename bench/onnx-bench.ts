// npm run bench:onnx -- [--model LxH] [--cell lstm] [--length N] [--repeat R] [--threads T]
// Greedy generation, one character at a time, of the same model (random weights,
// 65 characters, embedding 64) on ONNX Runtime for Node (the file charrnn
// export-onnx writes, the state carried by the caller as a consumer's loop
// carries it) and on charrnn's own engine (CharRnnModel.generate), on this
// machine; the best of R runs of each, taking turns, in characters per second
// of wall time and per CPU-second.
// Both take their default threads unless --threads sets ONNX Runtime's and
// CHARRNN_THREADS charrnn's.
// Also the two files' sizes. ONNX Runtime must be installed (npm install).
import * as ort from 'onnxruntime-node';
import { cpus } from 'node:os';
import { encodeModel, decodeModel } from '../src/model/model-file.js';
import { CharRNN } from '../src/model/charrnn.js';
import type { CellType } from '../src/kernels/kernels.js';
import { CharRnnModel } from '../src/generate/char-rnn-model.js';
import { loadKernels } from '../src/node/backend.js';
import { onnxFileBytes } from '../src/node/onnx-file.js';
import { Vocabulary } from '../src/text/vocabulary.js';
import { flag } from './server-process.js';

const [L, H] = (flag('model') ?? '2x256').split('x').map(Number);
const cell = (flag('cell') ?? 'lstm') as CellType;
const length = Number(flag('length') ?? 2000);
const repeat = Number(flag('repeat') ?? 3);
const threads = flag('threads');
const PRIME = 'The ';

// tinyshakespeare's 65 characters.
const vocab = Vocabulary.fromText("\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
const kernels = await loadKernels();
const net = new CharRNN({ cell, layers: L, hidden: H, emb: 64, vocabSize: vocab.size, dropout: 0 }, kernels, { seed: 1 });
const modelBytes = encodeModel(net, vocab);
const onnxBytes = onnxFileBytes(decodeModel(modelBytes, 'bench'), 'bench');

/** A timed run: characters per second of wall time and per CPU-second (ONNX Runtime's threads are this process's too). */
interface Timing {
  wall: number;
  cpu: number;
  text: string;
}

async function timed(run: () => Promise<string>): Promise<Timing> {
  const start = performance.now(),
    cpu = process.cpuUsage();
  const text = await run();
  const used = process.cpuUsage(cpu);
  return { wall: length / ((performance.now() - start) / 1000), cpu: length / ((used.user + used.system) / 1e6), text };
}

/**
 * The best of `repeat` runs of each, taking turns (after a run of each to warm
 * up), so that a busy machine slows both alike rather than whichever ran last.
 */
async function bestOfEach(runs: (() => Promise<string>)[]): Promise<Timing[]> {
  for (const run of runs) await run();
  const best = runs.map(() => ({ wall: 0, cpu: 0, text: '' }));
  for (let r = 0; r < repeat; r++) {
    for (const [i, run] of runs.entries()) {
      const t = await timed(run);
      best[i] = { wall: Math.max(best[i].wall, t.wall), cpu: Math.max(best[i].cpu, t.cpu), text: t.text };
    }
  }
  return best;
}

const model = await CharRnnModel.load(modelBytes, { kernels, name: 'bench' });
const own = async (): Promise<string> => (await model.generate({ prime: PRIME, length, greedy: true })).text;

const session = await ort.InferenceSession.create(onnxBytes, threads ? { intraOpNumThreads: Number(threads), interOpNumThreads: 1 } : {});
const V = vocab.size;
const onnx = async (): Promise<string> => {
  const zeros = (): ort.Tensor => new ort.Tensor('float32', new Float32Array(L * H), [L, 1, H]);
  let state: Record<string, ort.Tensor> = cell === 'lstm' ? { h0: zeros(), c0: zeros() } : { h0: zeros() };
  const read = async (ids: number[]): Promise<Float32Array> => {
    const out = await session.run({ ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [ids.length, 1]), ...state });
    state = cell === 'lstm' ? { h0: out.hn, c0: out.cn } : { h0: out.hn };
    return (out.logits.data as Float32Array).subarray((ids.length - 1) * V);
  };
  let logits = await read(Array.from(vocab.encode(PRIME).ids));
  let text = '';
  for (let n = 0; n < length; n++) {
    let next = 0;
    for (let j = 1; j < V; j++) if (logits[j] > logits[next]) next = j;
    text += vocab.chars[next];
    logits = await read([next]);
  }
  return text;
};
const [ownTime, onnxTime] = await bestOfEach([own, onnx]);

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
console.log(
  `${cell} ${L}x${H}, ${V} characters, greedy, ${length} characters one at a time, best of ${repeat}; ${cpus()[0]?.model ?? 'CPU'}, ${cpus().length} cores`,
);
console.log(`  model.safetensors ${fmt(modelBytes.length)} bytes, model.onnx ${fmt(onnxBytes.length)} bytes`);
console.log(`  charrnn (${kernels.name} engine): ${fmt(ownTime.wall)} characters/s (${fmt(ownTime.cpu)} per CPU-second)`);
console.log(
  `  ONNX Runtime ${ort.env.versions.common} (node, CPU${threads ? `, ${threads} thread${threads === '1' ? '' : 's'}` : ''}): ${fmt(onnxTime.wall)} characters/s (${fmt(onnxTime.cpu)} per CPU-second)`,
);
console.log(`  same text: ${ownTime.text === onnxTime.text ? 'yes' : 'no'}`);
