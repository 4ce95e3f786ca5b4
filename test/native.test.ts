// What only the native backend has: its thread-count option, its allocator,
// its argument checks, the autotuned step plan and its packed step weights.
// CHARRNN_REQUIRE_NATIVE (the install script's exit code) is in
// test/e2e/native-build.test.ts.
// Its arithmetic, at every instruction set and thread count, is checked by the
// conformance suite (test/conformance/).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GenerationBatch } from '../src/generate/generation-batch.js';
import { inputTable, packedStepWeights } from '../src/generate/input-table.js';
import { modelStepScratchSize } from '../src/kernels/kernels.js';
import { CharRNN } from '../src/model/charrnn.js';
import type { ModelConfig } from '../src/model/config.js';
import { loadNativeKernels, nativeUnavailableReason } from '../src/node/native-kernels.js';
import { packedStepFloats } from '../src/train/memory-estimate.js';

const native = loadNativeKernels();

describe('native kernels', () => {
  if (!native) {
    // CI has a C compiler (.ci/run sets CHARRNN_REQUIRE_NATIVE=1): there a missing addon fails.
    it('are built where CHARRNN_REQUIRE_NATIVE=1 asks for them', t => {
      assert.notEqual(process.env.CHARRNN_REQUIRE_NATIVE, '1', `CHARRNN_REQUIRE_NATIVE=1, yet ${nativeUnavailableReason()}`);
      t.skip(`native addon unavailable: ${nativeUnavailableReason()}`);
    });
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
      const f = k.alloc(n),
        i = k.allocInt(n);
      assert.equal(f.length, n);
      assert.equal(i.length, n);
      assert.ok(f.every(v => v === 0) && i.every(v => v === 0));
      assert.ok(f instanceof Float32Array && i instanceof Int32Array);
    }
  });

  it('refuse buffers too small for the shape, buffers of another type, and ids out of range', () => {
    assert.throws(() => k.matmul(k.alloc(5), k.alloc(6), k.alloc(6), 2, 3, 2, false, false, false), RangeError);
    assert.throws(
      () => k.matmul(k.alloc(6), k.alloc(6), new Float64Array(6) as never as Float32Array, 2, 3, 2, false, false, false),
      TypeError,
    );
    const ids = k.allocInt(2);
    ids[1] = 3;
    assert.throws(() => k.embeddingForward(k.alloc(4), k.alloc(6), ids, 2, 2), RangeError);
  });

  it("pack a model's step weights once, of the size generation's memory estimate counts, and bind no step without them", () => {
    for (const config of [
      { cell: 'lstm', layers: 2, hidden: 40, emb: 6, vocabSize: 13, dropout: 0 },
      { cell: 'gru', layers: 3, hidden: 16, emb: 3, vocabSize: 65, dropout: 0 },
      { cell: 'rnn', layers: 1, hidden: 1, emb: 2, vocabSize: 2, dropout: 0 },
    ] satisfies ModelConfig[]) {
      const model = new CharRNN(config, k, { seed: 1 });
      const packed = packedStepWeights(model)!;
      assert.equal(packed.length, packedStepFloats(config), `${config.cell} ${config.layers}x${config.hidden}`);
      model.params.changed();
      assert.equal(packedStepWeights(model), packed, 'repacked in place, not reallocated');
    }
    const model = new CharRNN({ cell: 'gru', layers: 1, hidden: 4, emb: 3, vocabSize: 5, dropout: 0 }, k);
    const weights = {
      cell: 'gru',
      H: 4,
      V: 5,
      outWeight: model.params.get('out.weight'),
      layers: model.layers.map(l => ({ weights: l.weights, inputSize: l.inputSize })),
    } as const;
    assert.throws(() => k.packModelStep(weights, k.alloc(3)), /packed weights of this model are \d+ floats, got 3/);
    const B = 1;
    assert.throws(
      () =>
        k.bindModelStep({
          ...weights,
          B,
          table: inputTable(model),
          outBias: model.params.get('out.bias'),
          state: [{ h: k.alloc(B * 4), c: null }],
          ids: k.allocInt(B),
          logits: k.alloc(B * 5),
          scratch: k.alloc(modelStepScratchSize('gru', B, 4, 1)),
        }),
      /reads packed weights/,
    );
  });

  it('a step plan that measures one thread against two keeps every step what one thread gives', () => {
    // 64 steps each way, then its choice: every step stays what the single-threaded step gives.
    const config: ModelConfig = { cell: 'lstm', layers: 2, hidden: 40, emb: 6, vocabSize: 13, dropout: 0 };
    const tuned = new CharRNN(config, loadNativeKernels({ threads: 2, stepParallelMin: 0 })!, { seed: 5 });
    const alone = new CharRNN(config, loadNativeKernels({ threads: 1 })!, { seed: 5 });
    const [bt, ba] = [new GenerationBatch(tuned, { capacity: 2 }), new GenerationBatch(alone, { capacity: 2 })];
    const st = [bt.open(), bt.open()],
      sa = [ba.open(), ba.open()];
    for (let t = 0; t < 200; t++) {
      const ids = [t % 13, (7 * t + 3) % 13];
      ids.forEach((id, b) => {
        st[b].input(id);
        sa[b].input(id);
      });
      bt.step();
      ba.step();
      for (let b = 0; b < 2; b++) assert.deepEqual(Array.from(st[b].logits), Array.from(sa[b].logits), `step ${t} stream ${b}`);
    }
  });
});
