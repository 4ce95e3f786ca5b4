// The wasm backend's threads (src/kernels/wasm/pool.ts): the pool's life cycle
// (threads = 1 has no pool, dispose) and more threads than work to split. The
// threaded arithmetic, bit for bit against one thread, is checked by the
// conformance suite (test/conformance/: wasm-simd x2, wasm-relaxed x3). That the
// pool never keeps a process alive is in test/e2e/wasm-threads.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadWasmKernels } from '../src/kernels/wasm/index.js';
import { loadNodeWasmKernels, nodeWasmSpawner, wasmThreadCount } from '../src/node/wasm-threads.js';
import { Random } from '../src/util/random.js';
import { digest } from './conformance/suite.js';
import { randomFill } from './helpers.js';

const single = await loadNodeWasmKernels({ threads: 1 });

function assertSameBits(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.ok(
    Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(
      Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength),
    ),
    `${what}: not the single-threaded bits`,
  );
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
    const a = randomFill(new Float32Array(300 * 200), rng),
      b = randomFill(new Float32Array(200 * 100), rng);
    const own = (x: Float32Array, kk: typeof single): Float32Array => {
      const y = kk.alloc(x.length);
      y.set(x);
      return y;
    };
    const a1 = own(a, single),
      b1 = own(b, single),
      a2 = own(a, k),
      b2 = own(b, k);
    const c1 = single.alloc(300 * 100),
      c2 = k.alloc(300 * 100),
      c3 = k.alloc(300 * 100);
    single.matmul(c1, a1, b1, 300, 100, 200, false, false, false);
    k.matmul(c2, a2, b2, 300, 100, 200, false, false, false);
    assert.equal(k.threadedCalls, 1);
    await k.dispose();
    await k.dispose();
    assert.equal(k.threads, 1);
    k.matmul(c3, a2, b2, 300, 100, 200, false, false, false);
    assert.equal(k.threadedCalls, 1);
    assertSameBits(c2, c1, 'threaded');
    assertSameBits(c3, c1, 'after dispose');
  });
});

describe('more threads than ranges of streams', () => {
  it("5 threads: B = 12 and 7 leave some threads waiting; training and generation give one thread's bits, on the pool", async () => {
    const k = await loadNodeWasmKernels({ threads: 5 });
    try {
      const before = k.threadedCalls;
      assert.deepEqual(digest(k), digest(single));
      assert.ok(k.threadedCalls > before, 'ran on the pool');
    } finally {
      await k.dispose();
    }
  });
});
