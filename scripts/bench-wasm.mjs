// Throughput of the wasm backend: matmul GFLOPS on the shapes of a 2 x 128 LSTM
// (batch 50, 50 steps, embedding 64, vocabulary 65) and the time of a whole
// training step of that model, for each available build. Run after `npm run build`:
//   node scripts/bench-wasm.mjs [seconds-per-measurement]
import v8 from 'node:v8';
// Compile every function with the optimising tier up front so warm-up noise stays out of the numbers.
v8.setFlagsFromString('--no-wasm-dynamic-tiering');
const { enableWasmFeatures } = await import('../dist/src/node/wasm-flags.js');
enableWasmFeatures();
const { loadWasmKernels, relaxedSimdSupported } = await import('../dist/src/kernels/wasm/index.js');
const { CharRNN } = await import('../dist/src/model/charrnn.js');

const seconds = Number(process.argv[2] ?? 1);

/**
 * Best of several timed rounds, in ms of this process's CPU time per call: on a
 * shared machine wall time mostly measures the neighbours, and the kernels are
 * single-threaded, so CPU time is their own cost.
 */
function time(fn) {
  fn();
  let best = Infinity;
  const end = performance.now() + seconds * 1000;
  do {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    let n = 0;
    do { fn(); n++; } while (performance.now() - t0 < 50);
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / 1000 / n);
  } while (performance.now() < end);
  return best;
}

const variants = [await loadWasmKernels({ relaxedSimd: false })];
if (relaxedSimdSupported()) variants.push(await loadWasmKernels());

for (const k of variants) {
  console.log(`\n== wasm ${k.variant}`);
  const fill = n => { const a = k.alloc(n); for (let i = 0; i < n; i++) a[i] = Math.sin(i) * 0.1; return a; };
  const shapes = [
    ['x W_ih^T, layer 0 input projection', 2500, 512, 64, false, true],
    ['h W_hh^T, one recurrent step', 50, 512, 128, false, true],
    ['dgates W_hh, one backward step', 50, 128, 512, false, false],
    ['dgates^T x, dW_ih layer 1', 512, 128, 2500, true, false],
    ['dgates W_ih, dx layer 1', 2500, 128, 512, false, false],
    ['h W_out^T, logits', 2500, 65, 128, false, true],
  ];
  for (const [name, M, N, K, tA, tB] of shapes) {
    const a = fill(M * K), b = fill(K * N), c = k.alloc(M * N);
    const ms = time(() => k.matmul(c, a, b, M, N, K, tA, tB, false));
    console.log(`matmul ${name.padEnd(36)} [${M}x${K}]·[${K}x${N}]${tA ? ' transA' : ''}${tB ? ' transB' : ''}: ${(ms * 1000).toFixed(0).padStart(6)} us, ${(2 * M * N * K / ms / 1e6).toFixed(1)} GFLOPS`);
  }
  for (const cell of ['lstm', 'gru', 'rnn']) {
    const model = new CharRNN({ cell, layers: 2, hidden: 128, emb: 64, vocabSize: 65, dropout: 0 }, k, { seed: 1 });
    const T = 50, B = 50;
    const ids = Array.from({ length: T * B }, (_, i) => (i * 7) % 65);
    const state = model.newState(B);
    const fwd = time(() => model.forward(ids, T, B, state, { train: true }));
    const step = time(() => { model.forward(ids, T, B, state, { train: true }); model.backward(ids); });
    console.log(`${cell} 2x128, B=50 T=50: forward ${fwd.toFixed(1)} ms, forward+backward ${step.toFixed(1)} ms = ${Math.round(T * B / step * 1000)} chars/s`);
  }
}
