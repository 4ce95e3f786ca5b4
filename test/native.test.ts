// The native (C, N-API) kernels against the float64 reference backend: every
// kernel on random problems of awkward sizes, every cell type forward and
// backward with and without the optional buffers, a whole model, and
// run-to-run determinism. Skips when the addon was not built here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { cellActivationSizes, cellScratchSizes, GATES, type CellShape, type CellType, type CellWeights } from '../src/kernels/kernels.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { CharRNN } from '../src/model/charrnn.js';
import type { ModelConfig } from '../src/model/config.js';
import { loadNativeKernels, nativeUnavailableReason, type NativeKernels } from '../src/node/native-kernels.js';
import { Random } from '../src/util/random.js';
import { adamRun, maxRelativeError, randomFill } from './helpers.js';

const ref = referenceKernels('f64');
const TOL = 1e-4;

/** A native buffer holding random values, and the same values in float64 for the reference. */
function pair(k: NativeKernels, n: number, rng: Random, scale = 1): [Float32Array, Float64Array] {
  const f = randomFill(k.alloc(n), rng, scale);
  return [f, Float64Array.from(f)];
}

/**
 * Largest |actual - expected| / bound over elements, where bound[i] is what a
 * float32 sum can be expected to get wrong relative to: the sum of the absolute
 * values of its terms. Relative error of the result itself would flag entries
 * that cancel to nearly zero, whose float32 error is set by the terms.
 */
function maxScaledError(actual: ArrayLike<number>, expected: ArrayLike<number>, bound: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.abs(actual[i] - expected[i]) / Math.max(bound[i], 1e-30);
    if (!(e <= worst)) worst = e;
  }
  return worst;
}

const abs = (a: Float64Array): Float64Array => a.map(Math.abs);

/**
 * maxRelativeError with its floor raised to 1% of the largest expected value:
 * entries that cancel to nearly zero (c = f c + i g, accumulated gradients,
 * momentum) carry float32 rounding of the size of their terms, which the plain
 * relative error would magnify without bound.
 */
function relErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(expected[i]));
  return maxRelativeError(actual, expected, Math.max(1e-4, 1e-2 * max));
}

const native = loadNativeKernels();

describe('native kernels', () => {
  if (!native) {
    it('are not available here', t => { t.skip(`native addon unavailable: ${nativeUnavailableReason()}`); });
    return;
  }
  const k = native;

  it('report their thread pool and micro-kernel', () => {
    assert.equal(k.name, 'native');
    assert.ok(k.threads >= 1);
    assert.ok(['avx512', 'avx2-fma', 'generic'].includes(k.simd));
  });

  it('take their thread count from the option, else CHARRNN_THREADS, and reject nonsense', () => {
    assert.equal(loadNativeKernels({ threads: 3 })!.threads, 3);
    const saved = process.env.CHARRNN_THREADS;
    try {
      process.env.CHARRNN_THREADS = '1';
      assert.equal(loadNativeKernels()!.threads, 1);
      process.env.CHARRNN_THREADS = 'two';
      assert.throws(() => loadNativeKernels(), RangeError);
    } finally {
      if (saved === undefined) delete process.env.CHARRNN_THREADS;
      else process.env.CHARRNN_THREADS = saved;
    }
    assert.throws(() => loadNativeKernels({ threads: 0 }), RangeError);
    assert.throws(() => loadNativeKernels({ threads: 1.5 }), RangeError);
  });

  it('hand out zeroed typed arrays of the length asked', () => {
    for (const n of [0, 1, 3, 17, 129]) {
      const f = k.alloc(n), i = k.allocInt(n);
      assert.equal(f.length, n);
      assert.equal(i.length, n);
      assert.ok(f.every(v => v === 0) && i.every(v => v === 0));
      assert.ok(f instanceof Float32Array && i instanceof Int32Array);
    }
  });

  describe('matmul', () => {
    const sizes: [number, number, number][] = [
      [1, 1, 1], [3, 17, 129], [129, 3, 17], [17, 129, 3], [1, 129, 17], [129, 1, 3], [129, 129, 129],
      [50, 512, 128], [200, 70, 600], [97, 33, 257],
    ];
    for (const transA of [false, true]) for (const transB of [false, true]) for (const accumulate of [false, true]) {
      it(`transA=${transA} transB=${transB} accumulate=${accumulate}`, () => {
        const rng = new Random(17 + Number(transA) * 4 + Number(transB) * 2 + Number(accumulate));
        for (const [M, N, K] of sizes) {
          const [a, a64] = pair(k, M * K, rng);
          const [b, b64] = pair(k, K * N, rng);
          const [c, c64] = pair(k, M * N, rng);
          // A view with a byte offset, as the model passes: C reads from where the view starts.
          const big = k.alloc(M * N + 5);
          const cView = big.subarray(5);
          cView.set(c);
          const bound = Float64Array.from(accumulate ? abs(c64) : new Float64Array(M * N));
          ref.matmul(bound, abs(a64), abs(b64), M, N, K, transA, transB, true);
          ref.matmul(c64, a64, b64, M, N, K, transA, transB, accumulate);
          k.matmul(cView, a, b, M, N, K, transA, transB, accumulate);
          const err = maxScaledError(cView, c64, bound);
          assert.ok(err < 1e-5, `[${M}x${N}x${K}] scaled error ${err.toExponential(2)}`);
          assert.ok(big.subarray(0, 5).every(v => v === 0), 'nothing written before the view');
        }
      });
    }

    it('K = 0 gives zeros, or leaves C when accumulating', () => {
      const c = k.alloc(6).fill(3);
      k.matmul(c, k.alloc(0), k.alloc(0), 2, 3, 0, false, false, true);
      assert.deepEqual([...c], [3, 3, 3, 3, 3, 3]);
      k.matmul(c, k.alloc(0), k.alloc(0), 2, 3, 0, false, false, false);
      assert.deepEqual([...c], [0, 0, 0, 0, 0, 0]);
    });

    it('rejects buffers too small for the shape', () => {
      assert.throws(() => k.matmul(k.alloc(5), k.alloc(6), k.alloc(6), 2, 3, 2, false, false, false), RangeError);
      assert.throws(() => k.matmul(k.alloc(6), k.alloc(6), new Float64Array(6) as never as Float32Array, 2, 3, 2, false, false, false), TypeError);
    });
  });

  it('addBias and sumRows', () => {
    const rng = new Random(3);
    for (const [rows, cols] of [[1, 1], [3, 17], [129, 3], [2500, 512], [17, 129]]) {
      const [y, y64] = pair(k, rows * cols, rng);
      const [bias, bias64] = pair(k, cols, rng);
      k.addBias(y, bias, rows, cols);
      ref.addBias(y64, bias64, rows, cols);
      assert.ok(relErr(y, y64) < TOL);
      k.sumRows(bias, y, rows, cols);
      ref.sumRows(bias64, Float64Array.from(y), rows, cols);
      const bound = new Float64Array(cols).fill(0);
      ref.sumRows(bound, abs(Float64Array.from(y)), rows, cols);
      for (let j = 0; j < cols; j++) bound[j] += Math.abs(bias64[j]);
      assert.ok(maxScaledError(bias, bias64, bound) < 1e-5, `sumRows ${rows}x${cols}`);
    }
  });

  it('embedding forward and backward', () => {
    const rng = new Random(4);
    for (const [V, dim, n] of [[1, 1, 1], [3, 17, 129], [65, 64, 2500], [17, 3, 5]]) {
      const [table, table64] = pair(k, V * dim, rng);
      const ids = k.allocInt(n);
      for (let i = 0; i < n; i++) ids[i] = rng.int(V);
      const out = k.alloc(n * dim), out64 = new Float64Array(n * dim);
      k.embeddingForward(out, table, ids, n, dim);
      ref.embeddingForward(out64, table64, ids, n, dim);
      assert.deepEqual(Float64Array.from(out), out64);
      const [dOut, dOut64] = pair(k, n * dim, rng);
      k.embeddingBackward(table, dOut, ids, n, dim);
      ref.embeddingBackward(table64, dOut64, ids, n, dim);
      assert.ok(relErr(table, table64) < TOL);
    }
    const ids = k.allocInt(2);
    ids[1] = 3;
    assert.throws(() => k.embeddingForward(k.alloc(4), k.alloc(6), ids, 2, 2), RangeError);
  });

  it('softmax cross-entropy, with and without the gradient', () => {
    const rng = new Random(5);
    for (const [rows, V] of [[1, 1], [3, 17], [129, 65], [2500, 65], [5, 129]]) {
      const [logits, logits64] = pair(k, rows * V, rng, 4);
      const targets = k.allocInt(rows);
      for (let i = 0; i < rows; i++) targets[i] = rng.int(V);
      const d = k.alloc(rows * V), d64 = new Float64Array(rows * V);
      const loss = k.softmaxCrossEntropy(logits, targets, rows, V, d, 0.37);
      const loss64 = ref.softmaxCrossEntropy(logits64, targets, rows, V, d64, 0.37);
      assert.ok(Math.abs(loss - loss64) <= 1e-6 * Math.max(1, Math.abs(loss64)), `loss ${loss} vs ${loss64}`);
      assert.ok(relErr(d, d64) < TOL);
      assert.equal(k.softmaxCrossEntropy(logits, targets, rows, V, null, 1), loss);
    }
  });

  it('multiply, sumSquares, scale', () => {
    const rng = new Random(6);
    for (const n of [1, 3, 17, 129, 100_003]) {
      const [x, x64] = pair(k, n, rng);
      const [m, m64] = pair(k, n, rng);
      const out = k.alloc(n), out64 = new Float64Array(n);
      k.multiply(out, x, m, n);
      ref.multiply(out64, x64, m64, n);
      assert.ok(relErr(out, out64) < TOL);
      const s = k.sumSquares(x, n), s64 = ref.sumSquares(x64, n);
      assert.ok(Math.abs(s - s64) <= 1e-12 * s64, 'sumSquares accumulates in double');
      k.scale(x, n, -0.7);
      ref.scale(x64, n, -0.7);
      assert.ok(relErr(x, x64) < TOL);
    }
  });

  it('adam, rmsprop and sgd over several steps', () => {
    const rng = new Random(8);
    for (const n of [1, 17, 1029]) {
      const [p, p64] = pair(k, n, rng), m = k.alloc(n), v = k.alloc(n), m64 = new Float64Array(n), v64 = new Float64Array(n);
      for (let step = 1; step <= 4; step++) {
        const [g, g64] = pair(k, n, rng);
        const args = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, step };
        k.adam(p, g, m, v, n, args);
        ref.adam(p64, g64, m64, v64, n, args);
      }
      assert.ok(relErr(p, p64) < TOL && relErr(m, m64) < TOL && relErr(v, v64) < TOL, 'adam');

      const [q, q64] = pair(k, n, rng), r = k.alloc(n), r64 = new Float64Array(n);
      for (let step = 0; step < 4; step++) {
        const [g, g64] = pair(k, n, rng);
        k.rmsprop(q, g, r, n, 0.002, 0.95, 1e-8);
        ref.rmsprop(q64, g64, r64, n, 0.002, 0.95, 1e-8);
      }
      assert.ok(relErr(q, q64) < TOL && relErr(r, r64) < TOL, 'rmsprop');

      for (const momentum of [0, 0.9]) {
        const [w, w64] = pair(k, n, rng), buf = k.alloc(n), buf64 = new Float64Array(n);
        for (let step = 0; step < 4; step++) {
          const [g, g64] = pair(k, n, rng);
          k.sgd(w, g, buf, n, 0.1, momentum, step === 0);
          ref.sgd(w64, g64, buf64, n, 0.1, momentum, step === 0);
        }
        assert.ok(relErr(w, w64) < TOL && relErr(buf, buf64) < TOL, `sgd momentum ${momentum}`);
      }
    }
  });

  describe('recurrent cells', () => {
    const shapes: Omit<CellShape, 'cell'>[] = [
      { T: 1, B: 1, I: 1, H: 1 }, { T: 3, B: 17, I: 3, H: 17 }, { T: 5, B: 3, I: 129, H: 33 },
      { T: 4, B: 7, I: 17, H: 129 }, { T: 6, B: 50, I: 64, H: 128 },
      // Big enough per step to run on several threads, with a partial last panel of hidden units
      // (split by batch rows on two and three threads).
      { T: 3, B: 37, I: 5, H: 129 },
      // Too few rows to split by batch rows on two threads: split by hidden units, with a partial panel.
      { T: 4, B: 15, I: 9, H: 200 },
    ];
    for (const cell of ['lstm', 'gru', 'rnn'] as const) {
      for (const threads of [1, 2, 3]) {
        it(`${cell} forward and backward, ${threads} thread(s)`, () => {
          const kt = threads === k.threads ? k : loadNativeKernels({ threads })!;
          for (const s of shapes) {
            for (const optional of [false, true]) checkCell(kt, { cell, ...s }, optional, 100 * s.H + s.T + Number(optional));
          }
        });
      }
    }
  });

  describe('whole model against reference f64', () => {
    for (const cell of ['lstm', 'gru', 'rnn'] as const) {
      it(`${cell}: logits, loss and gradients over two chunks`, () => {
        const config: ModelConfig = { cell, layers: 2, hidden: 33, emb: 17, vocabSize: 11, dropout: 0.2 };
        const { logits, loss, grads, refLogits, refLoss, refGrads } = modelRun(k, config, 7, 5);
        assert.ok(maxRelativeError(logits, refLogits) < TOL, `logits ${maxRelativeError(logits, refLogits)}`);
        assert.ok(Math.abs(loss - refLoss) < TOL * Math.abs(refLoss), `loss ${loss} vs ${refLoss}`);
        const err = maxRelativeError(grads, refGrads);
        assert.ok(err < TOL, `gradients: relative error ${err.toExponential(2)}`);
      });
    }
  });

  it('is deterministic: the same run twice is bit-identical, whatever the thread count', () => {
    // B = 50 splits the recurrence by batch rows on several threads; B = 12 by hidden units.
    for (const B of [50, 12]) checkDeterministic(k, B);
  });

  it('trains deterministically: Adam steps with dropout give the same parameters run after run, on 1, 2 or 3 threads', () => {
    const train = Uint16Array.from({ length: 30000 }, (_, i) => (i * 7919 + (i >> 3)) % 47);
    for (const cell of ['lstm', 'gru', 'rnn'] as CellType[]) {
      const run = (kernels: NativeKernels): { params: Float32Array; losses: number[] } =>
        adamRun(kernels, { cell, layers: 2, hidden: 96, emb: 32, vocabSize: 47, dropout: 0.1 }, train, 50, 25, 5);
      const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
      const first = run(k), second = run(k);
      assert.ok(first.losses[4] < first.losses[0], `${cell}: training lowers the loss (${first.losses.join(', ')})`);
      assert.deepEqual(second.losses, first.losses);
      assert.ok(bytes(second.params).equals(bytes(first.params)), `${cell}: parameters differ between identical runs`);
      for (const threads of [1, 3]) {
        const other = run(loadNativeKernels({ threads })!);
        assert.ok(bytes(other.params).equals(bytes(first.params)), `${cell}: parameters on ${threads} threads differ from ${k.threads}`);
      }
    }
  });

  function checkDeterministic(k: NativeKernels, B: number): void {
    const config: ModelConfig = { cell: 'lstm', layers: 2, hidden: B === 50 ? 128 : 200, emb: 64, vocabSize: 65, dropout: 0 };
    const run = (kernels: NativeKernels): Float32Array => {
      const model = new CharRNN(config, kernels, { seed: 3 });
      const rng = new Random(9);
      const T = 20;
      const state = model.newState(B);
      for (let chunk = 0; chunk < 2; chunk++) {
        const x = Array.from({ length: T * B }, () => rng.int(65)), y = Array.from({ length: T * B }, () => rng.int(65));
        model.forward(x, T, B, state, { train: true });
        model.backward(y);
      }
      return model.params.grad.slice();
    };
    const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    const a = run(k), b = run(k);
    assert.ok(bytes(a).equals(bytes(b)), 'gradients differ between identical runs');
    // Every output element is computed by the same operations whichever thread owns it, so the
    // partition does not show in the result either; a race would.
    const single = run(loadNativeKernels({ threads: 1 })!), three = run(loadNativeKernels({ threads: 3 })!);
    assert.ok(bytes(single).equals(bytes(a)) && bytes(three).equals(bytes(a)), `B = ${B}: gradients depend on the thread count`);
  }

  it('gives the same bits with the AVX2 kernels as with the AVX-512 ones', async t => {
    if (k.simd !== 'avx512') {
      t.skip(`the ${k.simd} kernels are in use here`);
      return;
    }
    // Each element is the same chain of fused multiply-adds over the same K blocks whatever the
    // tile width, so the kernel choice does not show in the result. The AVX2 run is a child
    // process: the kernel is picked once per process (CHARRNN_NATIVE_SIMD caps it).
    const url = (p: string): string => JSON.stringify(new URL(p, import.meta.url).href);
    const child = `import { CharRNN } from ${url('../src/model/charrnn.js')};
      import { Random } from ${url('../src/util/random.js')};
      import { loadNativeKernels } from ${url('../src/node/native-kernels.js')};
      ${GRADIENTS_SOURCE}
      const k = loadNativeKernels({ threads: 2 });
      process.stdout.write(JSON.stringify({ simd: k.simd, grads: ['lstm', 'gru', 'rnn'].map(c => gradientsBase64(CharRNN, Random, k, c)) }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', child], {
      encoding: 'utf8', env: { ...process.env, CHARRNN_NATIVE_SIMD: 'avx2' }, maxBuffer: 64 << 20,
    });
    assert.equal(r.status, 0, r.stderr);
    const avx2 = JSON.parse(r.stdout) as { simd: string; grads: string[] };
    assert.equal(avx2.simd, 'avx2-fma');
    const { gradientsBase64 } = await import(`data:text/javascript,${encodeURIComponent(GRADIENTS_SOURCE)}`) as {
      gradientsBase64(c: typeof CharRNN, r: typeof Random, k: NativeKernels, cell: CellType): string;
    };
    const k2 = loadNativeKernels({ threads: 2 })!;
    (['lstm', 'gru', 'rnn'] as const).forEach((cell, i) => {
      assert.equal(gradientsBase64(CharRNN, Random, k2, cell), avx2.grads[i], `${cell}: AVX-512 and AVX2 gradients differ`);
    });
  });
});

/**
 * Weight gradients of a small model over two chunks, as base64: B = 37 and hidden 72 leave partial
 * row tiles and a partial last panel. Module source, to run in a child process as well as here.
 */
const GRADIENTS_SOURCE = `
export function gradientsBase64(CharRNN, Random, kernels, cell) {
  const model = new CharRNN({ cell, layers: 2, hidden: 72, emb: 17, vocabSize: 11, dropout: 0 }, kernels, { seed: 5 });
  const rng = new Random(6);
  const T = 9, B = 37;
  const state = model.newState(B);
  for (let chunk = 0; chunk < 2; chunk++) {
    const x = Array.from({ length: T * B }, () => rng.int(11)), y = Array.from({ length: T * B }, () => rng.int(11));
    model.forward(x, T, B, state, { train: true });
    model.backward(y);
  }
  const g = model.params.grad;
  return Buffer.from(g.buffer, g.byteOffset, g.byteLength).toString('base64');
}`;

function checkCell(k: NativeKernels, shape: CellShape, optional: boolean, seed: number): void {
  const { cell, T, B, I, H } = shape;
  const G = GATES[cell] * H;
  const rng = new Random(seed);
  const lstm = cell === 'lstm';
  // PyTorch's initialisation bound: larger weights make the recurrence chaotic and amplify any rounding.
  const w = (n: number): [Float32Array, Float64Array] => pair(k, n, rng, 1 / Math.sqrt(H));
  const [wih, wih64] = w(G * I), [whh, whh64] = w(G * H), [bih, bih64] = w(G), [bhh, bhh64] = w(G);
  const [x, x64] = pair(k, T * B * I, rng), [h0, h064] = pair(k, B * H, rng), [c0, c064] = pair(k, B * H, rng);
  const sizes = cellActivationSizes(shape), ss = cellScratchSizes(shape);
  const act = { gates: k.alloc(sizes.gates), aux: k.alloc(sizes.aux), h: k.alloc(sizes.h) };
  const act64 = { gates: new Float64Array(sizes.gates), aux: new Float64Array(sizes.aux), h: new Float64Array(sizes.h) };
  const weights: CellWeights<Float32Array> = { wih, whh, bih, bhh };
  const weights64: CellWeights<Float64Array> = { wih: wih64, whh: whh64, bih: bih64, bhh: bhh64 };
  k.cellForward({ shape, weights, x, h0, c0: lstm ? c0 : null, act });
  ref.cellForward({ shape, weights: weights64, x: x64, h0: h064, c0: lstm ? c064 : null, act: act64 });
  const name = `${cell} T${T} B${B} I${I} H${H}${optional ? ' with optional buffers' : ''}`;
  for (const key of ['gates', 'aux', 'h'] as const) {
    const err = relErr(act[key], act64[key]);
    assert.ok(err < TOL, `${name} forward ${key}: ${err.toExponential(2)}`);
  }

  const [dh, dh64] = pair(k, T * B * H, rng);
  const [dhT, dhT64] = pair(k, B * H, rng), [dcT, dcT64] = pair(k, B * H, rng);
  // Gradients accumulate: start them from random values.
  const [gwih, gwih64] = pair(k, G * I, rng), [gwhh, gwhh64] = pair(k, G * H, rng);
  const [gbih, gbih64] = pair(k, G, rng), [gbhh, gbhh64] = pair(k, G, rng);
  const dx = k.alloc(T * B * I), dh0 = k.alloc(B * H), dc0 = k.alloc(B * H);
  const dx64 = new Float64Array(T * B * I), dh064 = new Float64Array(B * H), dc064 = new Float64Array(B * H);
  const scratch = { dgates: k.alloc(ss.dgates), dgatesHidden: k.alloc(ss.dgatesHidden), dhNext: k.alloc(ss.dhNext), dcNext: k.alloc(ss.dcNext) };
  const scratch64 = {
    dgates: new Float64Array(ss.dgates), dgatesHidden: new Float64Array(ss.dgatesHidden),
    dhNext: new Float64Array(ss.dhNext), dcNext: new Float64Array(ss.dcNext),
  };
  const opt = <A>(a: A): A | null => (optional ? a : null);
  k.cellBackward({
    shape, weights, x, h0, c0: lstm ? c0 : null, act, dh, dhT: opt(dhT), dcT: lstm ? opt(dcT) : null,
    grads: { wih: gwih, whh: gwhh, bih: gbih, bhh: gbhh }, dx: opt(dx), dh0: opt(dh0), dc0: lstm ? opt(dc0) : null, scratch,
  });
  ref.cellBackward({
    shape, weights: weights64, x: x64, h0: h064, c0: lstm ? c064 : null, act: act64, dh: dh64,
    dhT: opt(dhT64), dcT: lstm ? opt(dcT64) : null,
    grads: { wih: gwih64, whh: gwhh64, bih: gbih64, bhh: gbhh64 }, dx: opt(dx64), dh0: opt(dh064), dc0: lstm ? opt(dc064) : null,
    scratch: scratch64,
  });
  const checks: [string, Float32Array, Float64Array][] = [
    ['grad wih', gwih, gwih64], ['grad whh', gwhh, gwhh64], ['grad bih', gbih, gbih64], ['grad bhh', gbhh, gbhh64],
  ];
  if (optional) {
    checks.push(['dx', dx, dx64], ['dh0', dh0, dh064]);
    if (lstm) checks.push(['dc0', dc0, dc064]);
  } else {
    assert.ok(dx.every(v => v === 0) && dh0.every(v => v === 0) && dc0.every(v => v === 0), `${name}: null outputs untouched`);
  }
  for (const [what, a, e] of checks) {
    const err = relErr(a, e);
    assert.ok(err < TOL, `${name} ${what}: relative error ${err.toExponential(2)}`);
  }
}

/** Two training chunks with carried state on native and on reference f64, from the same float32 weights. */
function modelRun(k: NativeKernels, config: ModelConfig, T: number, B: number) {
  const model = new CharRNN(config, k, { seed: 21 });
  const model64 = new CharRNN(config, ref, { seed: 21 });
  model64.params.data.set(model.params.data);
  const rng = new Random(22);
  const ids = (): number[] => Array.from({ length: T * B }, () => rng.int(config.vocabSize));
  const chunks = [[ids(), ids()], [ids(), ids()]];
  const state = model.newState(B), state64 = model64.newState(B);
  let logits = new Float32Array(0), refLogits = new Float64Array(0), loss = 0, refLoss = 0;
  for (const [x, y] of chunks) {
    logits = model.forward(x, T, B, state, { train: true }).slice();
    refLogits = model64.forward(x, T, B, state64, { train: true }).slice();
    loss = model.backward(y);
    refLoss = model64.backward(y);
  }
  return { logits, loss, grads: model.params.grad, refLogits, refLoss, refGrads: model64.params.grad };
}
