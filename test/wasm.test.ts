// The WebAssembly backend against the reference backend in float64: every kernel
// on random problems with awkward sizes, every cell type forward and backward
// (with and without the optional buffers), the allocator, and whole models.
// Both builds run: plain SIMD128 and, where the engine has it, relaxed SIMD.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cellActivationSizes, cellScratchSizes, GATES, type CellShape, type CellType, type CellWeights, type Kernels,
} from '../src/kernels/kernels.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { loadWasmKernels, relaxedSimdSupported, type WasmKernels } from '../src/kernels/wasm/index.js';
import { CharRNN } from '../src/model/charrnn.js';
import { enableWasmFeatures } from '../src/node/wasm-flags.js';
import { Random } from '../src/util/random.js';
import { maxRelativeError, randomFill } from './helpers.js';

const TOL = 1e-4;
const ref = referenceKernels('f64');

enableWasmFeatures();
const variants: WasmKernels[] = [await loadWasmKernels({ relaxedSimd: false })];
if (relaxedSimdSupported()) variants.push(await loadWasmKernels());

/** A wasm buffer holding `src` (rounded to f32), and the f64 copy of exactly those values. */
function pair(k: Kernels<Float32Array>, src: Float64Array): { w: Float32Array; d: Float64Array } {
  const w = k.alloc(src.length);
  w.set(src);
  return { w, d: Float64Array.from(w) };
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = TOL): void {
  const err = maxRelativeError(actual, expected);
  assert.ok(err < tol, `${what}: relative error ${err.toExponential(2)}`);
}

/**
 * As assertClose, but entries far below the array's RMS are measured against a
 * tenth of it. Float32 sums of K terms carry about sqrt(K) eps |terms| of
 * absolute error, so an entry that cancels to near zero (a weight gradient
 * summed over T*B rows, a pre-activation at a tanh's zero crossing) shows a
 * large relative error in any float32 engine, PyTorch's included. The model
 * check below holds loss and gradients to the plain floor.
 */
function assertCloseScaled(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = TOL): void {
  let sq = 0;
  for (let i = 0; i < expected.length; i++) sq += expected[i] * expected[i];
  const rms = Math.sqrt(sq / Math.max(1, expected.length));
  const err = maxRelativeError(actual, expected, Math.max(1e-4, 0.1 * rms));
  assert.ok(err < tol, `${what}: relative error ${err.toExponential(2)} (floor ${(0.1 * rms).toExponential(1)})`);
}

const SIZES = [1, 3, 17, 129];

for (const k of variants) {
  describe(`wasm kernels (${k.variant})`, () => {
    it('reports its name and variant', () => {
      assert.equal(k.name, 'wasm');
      assert.ok(k.variant === 'simd' || k.variant === 'relaxed-simd');
    });

    it('allocates zeroed, 64-byte aligned buffers that stay valid as memory grows', () => {
      const a = k.alloc(5);
      const ids = k.allocInt(3);
      assert.deepEqual([...a], [0, 0, 0, 0, 0]);
      assert.deepEqual([...ids], [0, 0, 0]);
      assert.equal(a.byteOffset % 64, 0);
      assert.equal(ids.byteOffset % 64, 0);
      a.set([1, 2, 3, 4, 5]);
      const before = k.memory.buffer.byteLength;
      const big = k.alloc(before / 4 + 1000); // forces a grow
      assert.ok(k.memory.buffer.byteLength > before);
      assert.equal(big[big.length - 1], 0);
      // The old view still reads and writes the same memory, and kernels still take it.
      assert.deepEqual([...a], [1, 2, 3, 4, 5]);
      k.scale(a, 5, 2);
      assert.deepEqual([...a], [2, 4, 6, 8, 10]);
    });

    it('rejects arrays that are not its own, and short ones', () => {
      const mine = k.alloc(4);
      assert.throws(() => k.scale(new Float32Array(4), 4, 2), /not a buffer of this backend/);
      assert.throws(() => k.scale(mine, 5, 2), /needs 5/);
    });

    it('matmul: exact on dyadic values, every size, transpose and accumulate combination', () => {
      // Quarter-integers in [-2, 2]: every product and sum is exact in float32, so
      // any indexing mistake shows as a difference, whatever the summation order.
      const rng = new Random(1);
      const dyadic = (n: number) => Float64Array.from({ length: n }, () => (rng.int(17) - 8) / 4);
      for (const M of SIZES) for (const N of SIZES) for (const K of SIZES) {
        for (const transA of [false, true]) for (const transB of [false, true]) for (const acc of [false, true]) {
          const a = pair(k, dyadic(M * K)), b = pair(k, dyadic(K * N)), c = pair(k, dyadic(M * N));
          k.matmul(c.w, a.w, b.w, M, N, K, transA, transB, acc);
          ref.matmul(c.d, a.d, b.d, M, N, K, transA, transB, acc);
          assert.deepEqual([...c.w], [...c.d], `M=${M} N=${N} K=${K} transA=${transA} transB=${transB} acc=${acc}`);
        }
      }
    });

    it('matmul: float accuracy on large products and subarray views', () => {
      const rng = new Random(2);
      for (const [M, N, K] of [[257, 65, 300], [50, 512, 128], [3, 129, 600]]) {
        for (const transA of [false, true]) for (const transB of [false, true]) {
          // Operands at an odd offset inside a larger buffer, as the model passes them.
          const a = pair(k, randomFill(new Float64Array(M * K + 3), rng));
          const b = pair(k, randomFill(new Float64Array(K * N + 5), rng));
          const c = pair(k, randomFill(new Float64Array(M * N + 1), rng));
          const sub = <A extends Float32Array | Float64Array>(x: A, off: number, n: number) => x.subarray(off, off + n) as A;
          k.matmul(sub(c.w, 1, M * N), sub(a.w, 3, M * K), sub(b.w, 5, K * N), M, N, K, transA, transB, true);
          ref.matmul(sub(c.d, 1, M * N), sub(a.d, 3, M * K), sub(b.d, 5, K * N), M, N, K, transA, transB, true);
          // Entries are sums of K terms of size ~1/4: measure against that scale, not against cancellation.
          const err = maxRelativeError(c.w, c.d, Math.sqrt(K));
          assert.ok(err < 1e-6, `M=${M} N=${N} K=${K} transA=${transA} transB=${transB}: ${err.toExponential(2)}`);
          assert.equal(c.w[0], Math.fround(c.d[0]), 'entry before the output view untouched');
        }
      }
    });

    it('addBias and sumRows', () => {
      const rng = new Random(3);
      for (const rows of SIZES) for (const cols of SIZES) {
        const y = pair(k, randomFill(new Float64Array(rows * cols), rng));
        const bias = pair(k, randomFill(new Float64Array(cols), rng));
        k.addBias(y.w, bias.w, rows, cols);
        ref.addBias(y.d, bias.d, rows, cols);
        assertClose(y.w, y.d, `addBias ${rows}x${cols}`);
        k.sumRows(bias.w, y.w, rows, cols);
        ref.sumRows(bias.d, y.d, rows, cols);
        assertClose(bias.w, bias.d, `sumRows ${rows}x${cols}`, 1e-5 * Math.sqrt(rows));
      }
    });

    it('embedding forward and backward', () => {
      const rng = new Random(4);
      for (const dim of SIZES) for (const n of [1, 17, 129]) {
        const V = 7;
        const table = pair(k, randomFill(new Float64Array(V * dim), rng));
        const ids = k.allocInt(n);
        for (let i = 0; i < n; i++) ids[i] = rng.int(V);
        const out = pair(k, new Float64Array(n * dim));
        k.embeddingForward(out.w, table.w, ids, n, dim);
        ref.embeddingForward(out.d, table.d, ids, n, dim);
        assert.deepEqual([...out.w], [...out.d]);
        const dOut = pair(k, randomFill(new Float64Array(n * dim), rng));
        k.embeddingBackward(table.w, dOut.w, ids, n, dim);
        ref.embeddingBackward(table.d, dOut.d, ids, n, dim);
        assertClose(table.w, table.d, `embeddingBackward n=${n} dim=${dim}`);
      }
    });

    it('softmax cross-entropy: loss and gradient, with and without dLogits', () => {
      const rng = new Random(5);
      for (const V of [1, 3, 17, 65, 129]) for (const rows of [1, 3, 50]) for (const spread of [1, 30]) {
        const logits = pair(k, randomFill(new Float64Array(rows * V), rng, spread));
        const targets = k.allocInt(rows);
        for (let r = 0; r < rows; r++) targets[r] = rng.int(V);
        const d = pair(k, new Float64Array(rows * V));
        const loss = k.softmaxCrossEntropy(logits.w, targets, rows, V, d.w, 0.02);
        const expected = ref.softmaxCrossEntropy(logits.d, targets, rows, V, d.d, 0.02);
        assert.ok(Math.abs(loss - expected) <= 1e-5 * Math.max(1, Math.abs(expected)), `loss V=${V} rows=${rows}: ${loss} vs ${expected}`);
        // Gradients are probabilities times the scale: compare at that scale.
        assertClose(d.w, d.d, `dLogits V=${V} rows=${rows}`, TOL);
        assert.equal(k.softmaxCrossEntropy(logits.w, targets, rows, V, null, 1), loss);
      }
    });

    it('multiply, sumSquares, scale', () => {
      const rng = new Random(6);
      for (const n of [1, 3, 17, 129, 1000]) {
        const x = pair(k, randomFill(new Float64Array(n), rng));
        const m = pair(k, randomFill(new Float64Array(n), rng));
        const out = pair(k, new Float64Array(n));
        k.multiply(out.w, x.w, m.w, n);
        ref.multiply(out.d, x.d, m.d, n);
        assertClose(out.w, out.d, `multiply ${n}`);
        const s = k.sumSquares(x.w, n), sd = ref.sumSquares(x.d, n);
        assert.ok(Math.abs(s - sd) <= 1e-12 * sd, `sumSquares ${n}: ${s} vs ${sd}`);
        k.scale(x.w, n, 0.3);
        ref.scale(x.d, n, Math.fround(0.3));
        assertClose(x.w, x.d, `scale ${n}`);
      }
    });

    it('adam, rmsprop and sgd over several steps', () => {
      const rng = new Random(7);
      for (const n of [1, 3, 17, 129]) {
        const fill = () => pair(k, randomFill(new Float64Array(n), rng));
        const zeros = () => pair(k, new Float64Array(n));
        const p1 = fill(), m = zeros(), v = zeros(), p2 = fill(), v2 = zeros(), p3 = fill(), buf = zeros(), p4 = fill(), buf4 = zeros();
        for (let step = 1; step <= 3; step++) {
          const g = fill();
          const a = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, step };
          k.adam(p1.w, g.w, m.w, v.w, n, a);
          ref.adam(p1.d, g.d, m.d, v.d, n, a);
          k.rmsprop(p2.w, g.w, v2.w, n, 0.01, 0.99, 1e-8);
          ref.rmsprop(p2.d, g.d, v2.d, n, 0.01, 0.99, 1e-8);
          k.sgd(p3.w, g.w, buf.w, n, 0.1, 0.9, step === 1);
          ref.sgd(p3.d, g.d, buf.d, n, 0.1, 0.9, step === 1);
          k.sgd(p4.w, g.w, buf4.w, n, 0.1, 0, false);
          ref.sgd(p4.d, g.d, buf4.d, n, 0.1, 0, false);
        }
        for (const [name, x] of [['adam p', p1], ['adam m', m], ['adam v', v], ['rmsprop p', p2], ['rmsprop v', v2],
          ['sgd p', p3], ['sgd buf', buf], ['sgd p (no momentum)', p4]] as const) assertClose(x.w, x.d, `${name} n=${n}`);
      }
    });

    const shapes: Omit<CellShape, 'cell'>[] = [
      { T: 1, B: 1, I: 1, H: 1 },
      { T: 3, B: 17, I: 3, H: 17 },
      { T: 17, B: 3, I: 129, H: 3 },
      { T: 2, B: 5, I: 17, H: 129 },
      { T: 6, B: 4, I: 9, H: 12 },
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
      it(`whole ${cell} model: logits, loss and gradients over two chunks with carried state and dropout`, () => {
        checkModel(k, cell);
      });
    }
  });
}

/** One cell problem on both backends: forward activations, then every gradient. */
function checkCell(k: WasmKernels, shape: CellShape, optional: boolean): void {
  const { cell, T, B, I, H } = shape;
  const G = GATES[cell] * H;
  const lstm = cell === 'lstm';
  const rng = new Random(T * 1000 + B * 100 + H);
  const rand = (n: number, s = 0.6) => pair(k, randomFill(new Float64Array(n), rng, s));
  const zero = (n: number) => pair(k, new Float64Array(n));
  // PyTorch's initialisation scale, 1/sqrt(H) (capped for tiny H).
  const ws = Math.min(0.6, 1 / Math.sqrt(H));
  const weights = { wih: rand(G * I, ws), whh: rand(G * H, ws), bih: rand(G, ws), bhh: rand(G, ws) };
  const x = rand(T * B * I, 1), h0 = rand(B * H), c0 = rand(B * H);
  const sizes = cellActivationSizes(shape);
  const act = { gates: zero(sizes.gates), aux: zero(sizes.aux), h: zero(sizes.h) };
  const w = <K extends string>(o: Record<K, { w: Float32Array; d: Float64Array }>) => Object.fromEntries(Object.entries(o).map(([n, v]) => [n, (v as { w: Float32Array }).w])) as Record<K, Float32Array>;
  const d = <K extends string>(o: Record<K, { w: Float32Array; d: Float64Array }>) => Object.fromEntries(Object.entries(o).map(([n, v]) => [n, (v as { d: Float64Array }).d])) as Record<K, Float64Array>;

  k.cellForward({ shape, weights: w(weights), x: x.w, h0: h0.w, c0: lstm ? c0.w : null, act: w(act) });
  ref.cellForward({ shape, weights: d(weights), x: x.d, h0: h0.d, c0: lstm ? c0.d : null, act: d(act) });
  assertCloseScaled(act.gates.w, act.gates.d, `${cell} gates`);
  assertCloseScaled(act.aux.w, act.aux.d, `${cell} aux`);
  assertCloseScaled(act.h.w, act.h.d, `${cell} h`);

  const dh = rand(T * B * H, 1), dhT = rand(B * H, 1), dcT = rand(B * H, 1);
  // Gradients accumulate into what is there already.
  const grads = { wih: rand(G * I, 0.1), whh: rand(G * H, 0.1), bih: rand(G, 0.1), bhh: rand(G, 0.1) };
  const dx = rand(T * B * I), dh0 = rand(B * H), dc0 = rand(B * H);
  const ss = cellScratchSizes(shape);
  const scratch = { dgates: zero(ss.dgates), dgatesHidden: zero(ss.dgatesHidden), dhNext: zero(ss.dhNext), dcNext: zero(ss.dcNext) };
  const maybe = <A>(v: A, use: boolean): A | null => (use ? v : null);
  k.cellBackward({
    shape, weights: w(weights), x: x.w, h0: h0.w, c0: lstm ? c0.w : null, act: w(act),
    dh: dh.w, dhT: maybe(dhT.w, optional), dcT: maybe(dcT.w, optional && lstm), grads: w(grads) as CellWeights<Float32Array>,
    dx: maybe(dx.w, optional), dh0: maybe(dh0.w, optional), dc0: maybe(dc0.w, optional && lstm), scratch: w(scratch),
  });
  ref.cellBackward({
    shape, weights: d(weights), x: x.d, h0: h0.d, c0: lstm ? c0.d : null, act: d(act),
    dh: dh.d, dhT: maybe(dhT.d, optional), dcT: maybe(dcT.d, optional && lstm), grads: d(grads) as CellWeights<Float64Array>,
    dx: maybe(dx.d, optional), dh0: maybe(dh0.d, optional), dc0: maybe(dc0.d, optional && lstm), scratch: d(scratch),
  });
  for (const name of ['wih', 'whh', 'bih', 'bhh'] as const) assertCloseScaled(grads[name].w, grads[name].d, `${cell} d${name}`);
  // Buffers passed as null stay as they were (the f64 copies were not written either).
  assertCloseScaled(dx.w, dx.d, `${cell} dx`);
  assertCloseScaled(dh0.w, dh0.d, `${cell} dh0`);
  assertCloseScaled(dc0.w, dc0.d, `${cell} dc0`);
}

/** The same model (same float32 weights) on wasm and on the float64 reference: logits, loss, gradients. */
function checkModel(k: WasmKernels, cell: CellType): void {
  const config = { cell, layers: 2, hidden: 19, emb: 7, vocabSize: 13, dropout: 0.25 };
  const T = 9, B = 5;
  const mw = new CharRNN(config, k, { seed: 3 });
  const md = new CharRNN(config, ref, { seed: 3 });
  md.params.data.set(mw.params.data);
  const rng = new Random(8);
  const ids = () => Array.from({ length: T * B }, () => rng.int(config.vocabSize));
  const sw = mw.newState(B), sd = md.newState(B);
  for (let chunk = 0; chunk < 2; chunk++) {
    const x = ids(), y = ids();
    mw.params.zeroGrad();
    md.params.zeroGrad();
    const lw = mw.forward(x, T, B, sw, { train: true });
    const ld = md.forward(x, T, B, sd, { train: true });
    // A logit can cancel to ~1e-5 from terms of ~0.2, below what float32 resolves
    // against the plain floor (any float32 engine); measured against the logits' scale.
    assertCloseScaled(lw, ld, `${cell} chunk ${chunk} logits`);
    const lossW = mw.backward(y), lossD = md.backward(y);
    assert.ok(Math.abs(lossW - lossD) / Math.abs(lossD) < TOL, `${cell} chunk ${chunk} loss ${lossW} vs ${lossD}`);
    for (const s of mw.params.specs) {
      assertClose(mw.params.grad.subarray(s.offset, s.offset + s.size), md.params.grad.subarray(s.offset, s.offset + s.size),
        `${cell} chunk ${chunk} grad ${s.name}`);
    }
    sw.layers.forEach((l, i) => assertClose(l.h, sd.layers[i].h, `${cell} carried h, layer ${i}`));
  }
}
