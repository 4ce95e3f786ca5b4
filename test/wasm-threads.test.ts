// The wasm backend on several threads (src/kernels/wasm/pool.ts): every
// threaded kernel against the single-threaded wasm kernels (the same bits: work
// is split by outputs, never inside a sum) and against the float64 reference
// (the tolerance of wasm.test.ts), whole models, repeated training runs, and
// the pool's life cycle: threads = 1 has no pool, dispose, prompt process exit.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  cellActivationSizes, cellScratchSizes, GATES, type CellShape, type CellType, type CellWeights, type Kernels,
} from '../src/kernels/kernels.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { loadWasmKernels, type WasmKernels } from '../src/kernels/wasm/index.js';
import { CharRNN } from '../src/model/charrnn.js';
import { loadNodeWasmKernels, nodeWasmSpawner, wasmThreadCount } from '../src/node/wasm-threads.js';
import { Random } from '../src/util/random.js';
import { adamRun, maxRelativeError, randomFill } from './helpers.js';

const TOL = 1e-4;
const ref = referenceKernels('f64');
const single = await loadNodeWasmKernels({ threads: 1 });
const pools: WasmKernels[] = [await loadNodeWasmKernels({ threads: 2 }), await loadNodeWasmKernels({ threads: 3 })];

/** The same float32 values in a buffer of each wasm backend and in float64. */
function triple(ks: Kernels<Float32Array>[], src: Float64Array): { ws: Float32Array[]; d: Float64Array } {
  const ws = ks.map(k => {
    const w = k.alloc(src.length);
    w.set(src);
    return w;
  });
  return { ws, d: Float64Array.from(ws[0]) };
}

function assertSameBits(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const b = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) assert.fail(`${what}: entry ${i} is ${actual[i]}, single-threaded ${expected[i]}`);
  }
}

/** As wasm.test.ts: entries far below the array's RMS are measured against a tenth of it (float32 cancellation). */
function assertCloseScaled(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = TOL): void {
  let sq = 0;
  for (let i = 0; i < expected.length; i++) sq += expected[i] * expected[i];
  const rms = Math.sqrt(sq / Math.max(1, expected.length));
  const err = maxRelativeError(actual, expected, Math.max(1e-4, 0.1 * rms));
  assert.ok(err < tol, `${what}: relative error ${err.toExponential(2)}`);
}

/** Runs `f` on the single-threaded kernels and on `k`, checks that `k` ran on its pool. */
function onPool(k: WasmKernels, f: (kernels: WasmKernels, index: number) => void): void {
  const before = k.threadedCalls;
  f(single, 0);
  f(k, 1);
  assert.ok(k.threadedCalls > before, 'the call ran on the worker pool');
}

describe('wasm thread count and life cycle', () => {
  it('threads = 1 runs without a pool; more threads need a spawner', async () => {
    assert.equal(single.threads, 1);
    const plain = await loadWasmKernels({ threads: 1 });
    assert.equal(plain.threads, 1);
    await assert.rejects(loadWasmKernels({ threads: 2 }), /needs a spawner/);
    await assert.rejects(loadWasmKernels({ threads: 0, spawner: nodeWasmSpawner }), /threads must be an integer/);
  });

  it('CHARRNN_THREADS sets the default thread count', () => {
    const saved = process.env.CHARRNN_THREADS;
    try {
      process.env.CHARRNN_THREADS = '3';
      assert.equal(wasmThreadCount(), 3);
      assert.equal(wasmThreadCount(2), 2);
      process.env.CHARRNN_THREADS = 'two';
      assert.throws(() => wasmThreadCount(), /CHARRNN_THREADS=two/);
    } finally {
      if (saved === undefined) delete process.env.CHARRNN_THREADS;
      else process.env.CHARRNN_THREADS = saved;
    }
  });

  it('reports its threads; after dispose it runs single-threaded with the same results', async () => {
    const k = await loadNodeWasmKernels({ threads: 2 });
    assert.equal(k.threads, 2);
    const rng = new Random(11);
    const a = triple([single, k], randomFill(new Float64Array(300 * 200), rng));
    const b = triple([single, k], randomFill(new Float64Array(200 * 100), rng));
    const c1 = single.alloc(300 * 100), c2 = k.alloc(300 * 100), c3 = k.alloc(300 * 100);
    single.matmul(c1, a.ws[0], b.ws[0], 300, 100, 200, false, false, false);
    k.matmul(c2, a.ws[1], b.ws[1], 300, 100, 200, false, false, false);
    assert.equal(k.threadedCalls, 1);
    await k.dispose();
    await k.dispose();
    assert.equal(k.threads, 1);
    k.matmul(c3, a.ws[1], b.ws[1], 300, 100, 200, false, false, false);
    assert.equal(k.threadedCalls, 1);
    assertSameBits(c2, c1, 'threaded');
    assertSameBits(c3, c1, 'after dispose');
  });

  it('workers do not keep the process alive', () => {
    const entry = fileURLToPath(new URL('../src/node/wasm-threads.js', import.meta.url));
    const script = `const { loadNodeWasmKernels } = await import(${JSON.stringify(entry)});
      const k = await loadNodeWasmKernels({ threads: 3 });
      const x = k.alloc(100000); x.fill(1); k.scale(x, 100000, 2);
      if (k.threadedCalls !== 1 || x[99999] !== 2) process.exit(3);`;
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20000 });
    assert.equal(r.status, 0, `exit ${r.status} ${r.signal ?? ''}: ${r.stderr}`);
    assert.ok(Date.now() - t0 < 10000, `took ${Date.now() - t0} ms`);
  });
});

for (const k of pools) {
  describe(`wasm kernels on ${k.threads} threads (${k.variant})`, () => {
    it('uses the same build as the single-threaded kernels', () => {
      assert.equal(k.variant, single.variant);
    });

    it('matmul: every transpose and accumulate combination, odd sizes, views inside larger buffers', () => {
      const rng = new Random(1);
      for (const [M, N, K] of [[257, 65, 300], [50, 512, 128], [600, 3, 1200], [130, 1001, 17], [9, 700, 700]]) {
        for (const transA of [false, true]) for (const transB of [false, true]) for (const acc of [false, true]) {
          const a = triple([single, k], randomFill(new Float64Array(M * K + 3), rng));
          const b = triple([single, k], randomFill(new Float64Array(K * N + 5), rng));
          const c = triple([single, k], randomFill(new Float64Array(M * N + 1), rng));
          const sub = <A extends Float32Array | Float64Array>(x: A, off: number, n: number) => x.subarray(off, off + n) as A;
          onPool(k, (kk, i) => kk.matmul(sub(c.ws[i], 1, M * N), sub(a.ws[i], 3, M * K), sub(b.ws[i], 5, K * N), M, N, K, transA, transB, acc));
          ref.matmul(sub(c.d, 1, M * N), sub(a.d, 3, M * K), sub(b.d, 5, K * N), M, N, K, transA, transB, acc);
          const what = `M=${M} N=${N} K=${K} transA=${transA} transB=${transB} acc=${acc}`;
          assertSameBits(c.ws[1], c.ws[0], what);
          const err = maxRelativeError(c.ws[1], c.d, Math.sqrt(K));
          assert.ok(err < 1e-6, `${what}: ${err.toExponential(2)}`);
        }
      }
    });

    it('addBias, sumRows, softmax cross-entropy', () => {
      const rng = new Random(3);
      for (const [rows, cols] of [[300, 129], [1000, 65], [257, 1000]]) {
        const y = triple([single, k], randomFill(new Float64Array(rows * cols), rng));
        const bias = triple([single, k], randomFill(new Float64Array(cols), rng));
        onPool(k, (kk, i) => kk.addBias(y.ws[i], bias.ws[i], rows, cols));
        ref.addBias(y.d, bias.d, rows, cols);
        assertSameBits(y.ws[1], y.ws[0], `addBias ${rows}x${cols}`);
        assertCloseScaled(y.ws[1], y.d, `addBias ${rows}x${cols}`);
        onPool(k, (kk, i) => kk.sumRows(bias.ws[i], y.ws[i], rows, cols));
        ref.sumRows(bias.d, y.d, rows, cols);
        assertSameBits(bias.ws[1], bias.ws[0], `sumRows ${rows}x${cols}`);
        assertCloseScaled(bias.ws[1], bias.d, `sumRows ${rows}x${cols}`, 1e-5 * Math.sqrt(rows));

        const targets = [single.allocInt(rows), k.allocInt(rows)];
        for (let r = 0; r < rows; r++) targets[0][r] = targets[1][r] = rng.int(cols);
        const d = triple([single, k], new Float64Array(rows * cols));
        const losses: number[] = [];
        onPool(k, (kk, i) => { losses[i] = kk.softmaxCrossEntropy(y.ws[i], targets[i], rows, cols, d.ws[i], 0.02); });
        const expected = ref.softmaxCrossEntropy(y.d, targets[0], rows, cols, d.d, 0.02);
        assert.equal(losses[1], losses[0], 'loss: the same sum as single-threaded');
        assert.ok(Math.abs(losses[1] - expected) <= 1e-5 * Math.abs(expected), `loss ${losses[1]} vs ${expected}`);
        assertSameBits(d.ws[1], d.ws[0], `dLogits ${rows}x${cols}`);
        assertCloseScaled(d.ws[1], d.d, `dLogits ${rows}x${cols}`);
        onPool(k, (kk, i) => { losses[i] = kk.softmaxCrossEntropy(y.ws[i], targets[i], rows, cols, null, 1); });
        assert.equal(losses[1], losses[0], 'loss without dLogits');
      }
    });

    it('multiply, scale, sumSquares and the optimisers over several steps', () => {
      const rng = new Random(7);
      const n = 50003;
      const fill = () => triple([single, k], randomFill(new Float64Array(n), rng));
      const zeros = () => triple([single, k], new Float64Array(n));
      const out = zeros(), x = fill(), mask = fill();
      onPool(k, (kk, i) => kk.multiply(out.ws[i], x.ws[i], mask.ws[i], n));
      onPool(k, (kk, i) => kk.scale(x.ws[i], n, 0.3));
      assertSameBits(out.ws[1], out.ws[0], 'multiply');
      assertSameBits(x.ws[1], x.ws[0], 'scale');
      assert.equal(k.sumSquares(x.ws[1], n), single.sumSquares(x.ws[0], n));
      const p1 = fill(), m = zeros(), v = zeros(), p2 = fill(), v2 = zeros(), p3 = fill(), buf = zeros();
      for (let step = 1; step <= 3; step++) {
        const g = fill();
        const a = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, step };
        onPool(k, (kk, i) => kk.adam(p1.ws[i], g.ws[i], m.ws[i], v.ws[i], n, a));
        onPool(k, (kk, i) => kk.rmsprop(p2.ws[i], g.ws[i], v2.ws[i], n, 0.01, 0.99, 1e-8));
        onPool(k, (kk, i) => kk.sgd(p3.ws[i], g.ws[i], buf.ws[i], n, 0.1, 0.9, step === 1));
        ref.adam(p1.d, g.d, m.d, v.d, n, a);
        ref.rmsprop(p2.d, g.d, v2.d, n, 0.01, 0.99, 1e-8);
        ref.sgd(p3.d, g.d, buf.d, n, 0.1, 0.9, step === 1);
      }
      for (const [name, t] of [['adam p', p1], ['adam m', m], ['adam v', v], ['rmsprop p', p2], ['rmsprop v', v2], ['sgd p', p3], ['sgd buf', buf]] as const) {
        assertSameBits(t.ws[1], t.ws[0], name);
        assertCloseScaled(t.ws[1], t.d, name);
      }
    });

    // B >= 8: the cells run threaded from two ranges of 4 streams up.
    const shapes: Omit<CellShape, 'cell'>[] = [
      { T: 5, B: 17, I: 9, H: 12 },
      { T: 3, B: 37, I: 129, H: 17 },
      { T: 1, B: 16, I: 5, H: 33 },
      { T: 4, B: 50, I: 64, H: 128 },
    ];
    for (const cell of ['lstm', 'gru', 'rnn'] as CellType[]) {
      for (const dims of shapes) {
        for (const optional of [true, false]) {
          const label = `${cell} T=${dims.T} B=${dims.B} I=${dims.I} H=${dims.H}${optional ? '' : ', null dhT/dcT/dx/dh0/dc0'}`;
          it(`${label}: forward and backward`, () => checkCell(k, { cell, ...dims }, optional));
        }
      }
    }

    for (const cell of ['lstm', 'gru', 'rnn'] as CellType[]) {
      it(`whole ${cell} model: logits, loss and gradients over two chunks, the single-threaded bits and the reference`, () => {
        checkModel(k, cell);
      });
    }
  });
}

describe('more threads than ranges of streams', () => {
  it('5 threads, B = 17 and 9: the recurrence runs on 4 and 2 of them, the rest wait; same bits', async () => {
    const k = await loadNodeWasmKernels({ threads: 5 });
    try {
      for (const cell of ['lstm', 'gru', 'rnn'] as CellType[]) {
        checkCell(k, { cell, T: 3, B: 17, I: 6, H: 10 }, true);
        checkCell(k, { cell, T: 2, B: 9, I: 33, H: 5 }, false);
      }
    } finally {
      await k.dispose();
    }
  });
});

describe('threaded training is deterministic', () => {
  for (const cell of ['lstm', 'gru'] as CellType[]) {
    it(`${cell}: two runs of 4 Adam steps on 2 and 3 threads give the single-threaded parameters, bit for bit`, async () => {
      const text = Array.from({ length: 20000 }, (_, i) => (i * 7919 + (i >> 3)) % 31);
      const train = Uint16Array.from(text);
      const run = (k: WasmKernels): { params: Float32Array; losses: number[] } =>
        adamRun(k, { cell, layers: 2, hidden: 40, emb: 16, vocabSize: 31, dropout: 0.1 }, train, 24, 20, 4);
      const expected = run(single);
      for (const k of pools) {
        const before = k.threadedCalls;
        const first = run(k), second = run(k);
        assert.ok(k.threadedCalls > before, 'ran on the pool');
        assert.deepEqual(first.losses, expected.losses);
        assert.deepEqual(second.losses, expected.losses);
        assertSameBits(first.params, expected.params, `${k.threads} threads, first run`);
        assertSameBits(second.params, expected.params, `${k.threads} threads, second run`);
      }
    });
  }
});

/** One cell problem: threaded against single-threaded (bits) and reference (tolerance), forward and backward. */
function checkCell(k: WasmKernels, shape: CellShape, optional: boolean): void {
  const { cell, T, B, I, H } = shape;
  const G = GATES[cell] * H;
  const lstm = cell === 'lstm';
  const ks = [single, k];
  const rng = new Random(T * 1000 + B * 100 + H);
  const rand = (n: number, s = 0.6) => triple(ks, randomFill(new Float64Array(n), rng, s));
  const zero = (n: number) => triple(ks, new Float64Array(n));
  const ws = Math.min(0.6, 1 / Math.sqrt(H));
  const weights = { wih: rand(G * I, ws), whh: rand(G * H, ws), bih: rand(G, ws), bhh: rand(G, ws) };
  const x = rand(T * B * I, 1), h0 = rand(B * H), c0 = rand(B * H);
  const sizes = cellActivationSizes(shape);
  const act = { gates: zero(sizes.gates), aux: zero(sizes.aux), h: zero(sizes.h) };
  type T3 = { ws: Float32Array[]; d: Float64Array };
  const at = <K extends string>(o: Record<K, T3>, i: number) => Object.fromEntries(Object.entries(o).map(([n, v]) => [n, (v as T3).ws[i]])) as Record<K, Float32Array>;
  const d = <K extends string>(o: Record<K, T3>) => Object.fromEntries(Object.entries(o).map(([n, v]) => [n, (v as T3).d])) as Record<K, Float64Array>;

  onPool(k, (kk, i) => kk.cellForward({ shape, weights: at(weights, i), x: x.ws[i], h0: h0.ws[i], c0: lstm ? c0.ws[i] : null, act: at(act, i) }));
  ref.cellForward({ shape, weights: d(weights), x: x.d, h0: h0.d, c0: lstm ? c0.d : null, act: d(act) });
  for (const name of ['gates', 'aux', 'h'] as const) {
    assertSameBits(act[name].ws[1], act[name].ws[0], `${cell} ${name}`);
    assertCloseScaled(act[name].ws[1], act[name].d, `${cell} ${name}`);
  }

  const dh = rand(T * B * H, 1), dhT = rand(B * H, 1), dcT = rand(B * H, 1);
  const grads = { wih: rand(G * I, 0.1), whh: rand(G * H, 0.1), bih: rand(G, 0.1), bhh: rand(G, 0.1) };
  const dx = rand(T * B * I), dh0 = rand(B * H), dc0 = rand(B * H);
  const ss = cellScratchSizes(shape);
  const scratch = { dgates: zero(ss.dgates), dgatesHidden: zero(ss.dgatesHidden), dhNext: zero(ss.dhNext), dcNext: zero(ss.dcNext) };
  const maybe = <A>(v: A, use: boolean): A | null => (use ? v : null);
  onPool(k, (kk, i) => kk.cellBackward({
    shape, weights: at(weights, i), x: x.ws[i], h0: h0.ws[i], c0: lstm ? c0.ws[i] : null, act: at(act, i),
    dh: dh.ws[i], dhT: maybe(dhT.ws[i], optional), dcT: maybe(dcT.ws[i], optional && lstm), grads: at(grads, i) as CellWeights<Float32Array>,
    dx: maybe(dx.ws[i], optional), dh0: maybe(dh0.ws[i], optional), dc0: maybe(dc0.ws[i], optional && lstm), scratch: at(scratch, i),
  }));
  ref.cellBackward({
    shape, weights: d(weights), x: x.d, h0: h0.d, c0: lstm ? c0.d : null, act: d(act),
    dh: dh.d, dhT: maybe(dhT.d, optional), dcT: maybe(dcT.d, optional && lstm), grads: d(grads) as CellWeights<Float64Array>,
    dx: maybe(dx.d, optional), dh0: maybe(dh0.d, optional), dc0: maybe(dc0.d, optional && lstm), scratch: d(scratch),
  });
  for (const [name, t] of [['dwih', grads.wih], ['dwhh', grads.whh], ['dbih', grads.bih], ['dbhh', grads.bhh],
    ['dx', dx], ['dh0', dh0], ['dc0', dc0]] as const) {
    assertSameBits(t.ws[1], t.ws[0], `${cell} ${name}`);
    assertCloseScaled(t.ws[1], t.d, `${cell} ${name}`);
  }
}

/** A 2-layer model with dropout over two chunks with carried state: threaded = single-threaded bits, close to the reference. */
function checkModel(k: WasmKernels, cell: CellType): void {
  const config = { cell, layers: 2, hidden: 19, emb: 7, vocabSize: 13, dropout: 0.25 };
  const T = 9, B = 21;
  const ms = new CharRNN(config, single, { seed: 3 });
  const mk = new CharRNN(config, k, { seed: 3 });
  const md = new CharRNN(config, ref, { seed: 3 });
  mk.params.data.set(ms.params.data);
  md.params.data.set(ms.params.data);
  const rng = new Random(8);
  const ids = () => Array.from({ length: T * B }, () => rng.int(config.vocabSize));
  const states = [ms.newState(B), mk.newState(B)], sd = md.newState(B);
  const before = k.threadedCalls;
  for (let chunk = 0; chunk < 2; chunk++) {
    const x = ids(), y = ids();
    const logitsW: Float32Array[] = [];
    const losses = [ms, mk].map((m, i) => {
      m.params.zeroGrad();
      logitsW[i] = Float32Array.from(m.forward(x, T, B, states[i], { train: true }));
      return m.backward(y);
    });
    md.params.zeroGrad();
    const logits = md.forward(x, T, B, sd, { train: true });
    const lossD = md.backward(y);
    assert.equal(losses[1], losses[0], `${cell} chunk ${chunk}: loss`);
    assert.ok(Math.abs(losses[1] - lossD) / Math.abs(lossD) < TOL, `${cell} chunk ${chunk} loss ${losses[1]} vs ${lossD}`);
    assertSameBits(logitsW[1], logitsW[0], `${cell} chunk ${chunk}: logits`);
    assertCloseScaled(logitsW[1], logits, `${cell} chunk ${chunk}: logits`);
    assertSameBits(mk.params.grad, ms.params.grad, `${cell} chunk ${chunk}: gradients`);
    for (const s of mk.params.specs) {
      assertCloseScaled(mk.params.grad.subarray(s.offset, s.offset + s.size), md.params.grad.subarray(s.offset, s.offset + s.size),
        `${cell} chunk ${chunk} grad ${s.name}`);
    }
    states[1].layers.forEach((l, i) => assertSameBits(l.h, states[0].layers[i].h, `${cell} carried h, layer ${i}`));
  }
  assert.ok(k.threadedCalls > before, 'the model ran on the pool');
}
