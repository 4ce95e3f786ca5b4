// The wasm backend's threads (src/kernels/wasm/pool.ts): the pool's life cycle
// (threads = 1 has no pool, dispose, prompt process exit) and more threads than
// work to split. The threaded arithmetic, bit for bit against one thread, is
// checked by the conformance suite (test/conformance/: wasm-simd x2, wasm-relaxed x3).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadWasmKernels } from '../src/kernels/wasm/index.js';
import { loadNodeWasmKernels, nodeWasmSpawner, wasmThreadCount } from '../src/node/wasm-threads.js';
import { Random } from '../src/util/random.js';
import { digest } from './conformance/suite.js';
import { randomFill } from './helpers.js';

const single = await loadNodeWasmKernels({ threads: 1 });

function assertSameBits(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.ok(Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength)),
    `${what}: not the single-threaded bits`);
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
    const a = randomFill(new Float32Array(300 * 200), rng), b = randomFill(new Float32Array(200 * 100), rng);
    const own = (x: Float32Array, kk: typeof single): Float32Array => { const y = kk.alloc(x.length); y.set(x); return y; };
    const a1 = own(a, single), b1 = own(b, single), a2 = own(a, k), b2 = own(b, k);
    const c1 = single.alloc(300 * 100), c2 = k.alloc(300 * 100), c3 = k.alloc(300 * 100);
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

describe('more threads than ranges of streams', () => {
  it('5 threads: B = 12 and 7 leave some threads waiting; training and generation give one thread\'s bits, on the pool', async () => {
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
