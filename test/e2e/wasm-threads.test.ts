// A process that used the threaded wasm kernels ends by itself: the pool's
// workers never keep it alive. Only a process shows that (and how long it took).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

describe('the wasm thread pool in a process', () => {
  it('workers do not keep the process alive', () => {
    const entry = fileURLToPath(new URL('../../src/node/wasm-threads.js', import.meta.url));
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
