// The seeded generator's bulk draw for dropout masks, against its one-at-a-time draws.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dropout } from '../src/layers/dropout.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { Random } from '../src/util/random.js';

describe('Random.fillBernoulli (dropout masks)', () => {
  it('is nextUint32 < p * 2^32, draw for draw, and leaves the generator where those draws leave it', () => {
    for (const [seed, p, n] of [
      [7, 0.3, 1000],
      [1, 0.5, 4097],
      [123456, 0.9, 333],
      [5, 1 / 3, 50],
    ] as const) {
      const bulk = new Random(seed),
        single = new Random(seed);
      const out = new Float32Array(n);
      bulk.fillBernoulli(out, n, p, 2.5);
      for (let i = 0; i < n; i++) assert.equal(out[i], single.nextUint32() < p * 2 ** 32 ? 2.5 : 0, `seed ${seed}, element ${i}`);
      assert.deepEqual(bulk.getState(), single.getState());
      assert.equal(bulk.nextUint32(), single.nextUint32());
    }
  });

  it('keeps about p of the elements, and all or none at p = 1 and p = 0', () => {
    const out = new Float64Array(200_000);
    new Random(3).fillBernoulli(out, out.length, 0.8, 1);
    const kept = out.reduce((a, v) => a + v, 0) / out.length;
    assert.ok(Math.abs(kept - 0.8) < 0.005, `kept ${kept}`); // 5 sd is 0.0045
    new Random(3).fillBernoulli(out, out.length, 1, 4);
    assert.ok(out.every(v => v === 4));
    new Random(3).fillBernoulli(out, out.length, 0, 4);
    assert.ok(out.every(v => v === 0));
  });

  it("makes the dropout layer's inverted masks: kept values scaled by 1 / (1 - p)", () => {
    const k = referenceKernels('f32');
    const d = new Dropout(k, 0.25);
    const x = Float32Array.from({ length: 64 }, (_, i) => i + 1);
    const out = new Float32Array(64);
    d.forward(out, x, 64, new Random(9));
    const draws = new Random(9);
    for (let i = 0; i < 64; i++) assert.equal(out[i], draws.nextUint32() < 0.75 * 2 ** 32 ? Math.fround(x[i] * Math.fround(1 / 0.75)) : 0);
  });
});
