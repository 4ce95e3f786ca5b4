// Throughput of the wasm backend: matmul GFLOPS on the shapes of a 2 x 128 LSTM
// (batch 50, 50 steps, embedding 64, vocabulary 65) and the time of a whole
// training step (forward + backward) of that model, for each available build, on
// one thread and on the pool (CHARRNN_THREADS, else every core). Run after
// `npm run build`:
//   node scripts/bench-wasm.mjs [seconds-per-measurement] [--data-parallel]
// --data-parallel also measures the other design the pool was chosen against:
// each thread runs forward + backward of its own model on B / threads streams
// with single-threaded kernels, then the gradients are summed (the bound of data
// parallelism, without its optimizer step or its model-level plumbing).
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
const { enableWasmFeatures } = await import('../dist/src/node/wasm-flags.js');
enableWasmFeatures(); // relaxed SIMD, and optimised code compiled up front
const { loadNodeWasmKernels, wasmThreadCount } = await import('../dist/src/node/wasm-threads.js');
const { relaxedSimdSupported } = await import('../dist/src/kernels/wasm/index.js');
const { CharRNN } = await import('../dist/src/model/charrnn.js');

const args = process.argv.slice(2);
const seconds = Number(args.find(a => !a.startsWith('--')) ?? 1);
const T = 50,
  B = 50;
const config = cell => ({ cell, layers: 2, hidden: 128, emb: 64, vocabSize: 65, dropout: 0 });
const ids = Array.from({ length: T * B }, (_, i) => (i * 7) % 65);

/**
 * Best of several timed rounds: wall time per call, and the CPU time of all this
 * process's threads over the same calls. The machine may be shared: the best
 * round is the one least disturbed, and CPU time shows what the threads cost.
 */
function time(fn) {
  fn();
  let best = { wall: Infinity, cpu: Infinity };
  const end = performance.now() + seconds * 1000;
  do {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    let n = 0;
    do {
      fn();
      n++;
    } while (performance.now() - t0 < 50);
    const c = process.cpuUsage(c0);
    const wall = (performance.now() - t0) / n;
    if (wall < best.wall) best = { wall, cpu: (c.user + c.system) / 1000 / n };
  } while (performance.now() < end);
  return best;
}

if (!isMainThread) {
  // A data-parallel replica: forward + backward of B / threads streams whenever the main thread says go.
  const { cell, streams, sync, grads } = workerData;
  const k = await loadNodeWasmKernels({ threads: 1 });
  const model = new CharRNN(config(cell), k, { seed: 1 });
  const state = model.newState(streams);
  const flag = new Int32Array(sync),
    out = new Float32Array(grads);
  parentPort.postMessage('ready');
  for (let seen = 0; ;) {
    while (Atomics.load(flag, 0) === seen) Atomics.wait(flag, 0, seen);
    seen = Atomics.load(flag, 0);
    if (seen < 0) break;
    model.params.zeroGrad();
    model.forward(ids, T, streams, state, { train: true });
    model.backward(ids.slice(0, T * streams));
    out.set(model.params.grad);
    Atomics.add(flag, 1, 1);
    Atomics.notify(flag, 1);
  }
} else {
  const threads = wasmThreadCount();
  const builds = [false, ...(relaxedSimdSupported() ? [true] : [])];
  for (const relaxedSimd of builds) {
    for (const n of threads > 1 ? [1, threads] : [1]) {
      const k = await loadNodeWasmKernels({ relaxedSimd, threads: n });
      console.log(`\n== wasm ${k.variant}, ${k.threads} thread${k.threads > 1 ? 's' : ''}`);
      const fill = m => {
        const a = k.alloc(m);
        for (let i = 0; i < m; i++) a[i] = Math.sin(i) * 0.1;
        return a;
      };
      const shapes = [
        ['x W_ih^T, layer 0 input projection', 2500, 512, 64, false, true],
        ['h W_hh^T, one recurrent step', 50, 512, 128, false, true],
        ['dgates W_hh, one backward step', 50, 128, 512, false, false],
        ['dgates^T x, dW_ih layer 1', 512, 128, 2500, true, false],
        ['dgates W_ih, dx layer 1', 2500, 128, 512, false, false],
        ['h W_out^T, logits', 2500, 65, 128, false, true],
      ];
      for (const [name, M, N, K, tA, tB] of shapes) {
        const a = fill(M * K),
          b = fill(K * N),
          c = k.alloc(M * N);
        const t = time(() => k.matmul(c, a, b, M, N, K, tA, tB, false));
        console.log(
          `matmul ${name.padEnd(36)} [${M}x${K}]·[${K}x${N}]${tA ? ' transA' : ''}${tB ? ' transB' : ''}: ` +
            `${(t.wall * 1000).toFixed(0).padStart(6)} us (cpu ${(t.cpu * 1000).toFixed(0)} us), ${((2 * M * N * K) / t.wall / 1e6).toFixed(1)} GFLOPS`,
        );
      }
      for (const cell of ['lstm', 'gru', 'rnn']) {
        const model = new CharRNN(config(cell), k, { seed: 1 });
        const state = model.newState(B);
        const fwd = time(() => model.forward(ids, T, B, state, { train: true }));
        const step = time(() => {
          model.forward(ids, T, B, state, { train: true });
          model.backward(ids);
        });
        console.log(
          `${cell} 2x128, B=50 T=50: forward ${fwd.wall.toFixed(1)} ms, forward+backward ${step.wall.toFixed(1)} ms ` +
            `(cpu ${step.cpu.toFixed(1)} ms) = ${Math.round(((T * B) / step.wall) * 1000)} chars/s`,
        );
      }
      await k.dispose();
    }
  }
  if (args.includes('--data-parallel') && threads > 1) {
    console.log(`\n== data parallelism over the batch (the bound of the design not taken), ${threads} threads`);
    for (const cell of ['lstm', 'gru']) {
      const streams = B / threads;
      if (!Number.isInteger(streams)) {
        console.log(`B = ${B} does not split over ${threads} threads`);
        break;
      }
      const k = await loadNodeWasmKernels({ threads: 1 });
      const model = new CharRNN(config(cell), k, { seed: 1 });
      const state = model.newState(streams);
      const sync = new SharedArrayBuffer(8),
        flag = new Int32Array(sync);
      const replicas = Array.from({ length: threads - 1 }, () => new Float32Array(new SharedArrayBuffer(model.params.size * 4)));
      const workers = replicas.map(g => new Worker(new URL(import.meta.url), { workerData: { cell, streams, sync, grads: g.buffer } }));
      await Promise.all(workers.map(w => new Promise(r => w.once('message', r))));
      const step = time(() => {
        Atomics.store(flag, 1, 0);
        Atomics.add(flag, 0, 1);
        Atomics.notify(flag, 0);
        model.params.zeroGrad();
        model.forward(ids, T, streams, state, { train: true });
        model.backward(ids.slice(0, T * streams));
        for (let d = Atomics.load(flag, 1); d < workers.length; d = Atomics.load(flag, 1)) Atomics.wait(flag, 1, d);
        const g = model.params.grad; // the reduction, in a fixed order
        for (const r of replicas) for (let j = 0; j < g.length; j++) g[j] += r[j];
      });
      console.log(
        `${cell} 2x128, ${threads} x B=${streams} T=50: forward+backward+reduction ${step.wall.toFixed(1)} ms ` +
          `(cpu ${step.cpu.toFixed(1)} ms) = ${Math.round(((T * B) / step.wall) * 1000)} chars/s`,
      );
      Atomics.store(flag, 0, -1);
      Atomics.notify(flag, 0);
      await Promise.all(workers.map(w => new Promise(r => w.once('exit', r))));
    }
  }
}
