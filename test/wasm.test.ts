// What only the WebAssembly backend has: its two builds, its allocator over one
// growing shared memory, and its refusal of arrays that are not its own. Its
// arithmetic is checked by the conformance suite (test/conformance/).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadWasmKernels, relaxedSimdSupported, type WasmKernels } from '../src/kernels/wasm/index.js';
import { enableWasmFeatures } from '../src/node/wasm-flags.js';

enableWasmFeatures();
const variants: WasmKernels[] = [await loadWasmKernels({ relaxedSimd: false })];
if (relaxedSimdSupported()) variants.push(await loadWasmKernels());

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
  });
}
