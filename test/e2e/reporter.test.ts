// test/reporter.ts, the end of `npm test` and `npm run test:all`: the conformance
// table from the suite's diagnostics, every skip with its reason, and a failed run
// for a skip without one, as a real `node --test` run with the reporter shows them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { REPORT_PREFIX } from '../conformance/suite.js';

const reporter = fileURLToPath(new URL('../reporter.js', import.meta.url));

function run(source: string): { status: number | null; stdout: string } {
  const dir = mkdtempSync(join(tmpdir(), 'charrnn-reporter-'));
  try {
    writeFileSync(join(dir, 'x.test.mjs'), source);
    // Without NODE_TEST_CONTEXT, which would make the inner runner report to this one instead of to its reporter.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const r = spawnSync(process.execPath, ['--test', `--test-reporter=${reporter}`, join(dir, 'x.test.mjs')], { encoding: 'utf8', env });
    return { status: r.status, stdout: r.stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the npm test reporter', () => {
  it('tabulates the worst error per engine and cell type, and lists skips with their reasons', () => {
    const line = (s: string): string => JSON.stringify(REPORT_PREFIX + s);
    const r = run(`import { it } from 'node:test';
      it('a', t => { t.diagnostic(${line('wasm-simd | lstm | PyTorch | 2.00e-6 | x')}); t.diagnostic(${line('wasm-simd | lstm | PyTorch | 3.00e-6 | y')}); });
      it('b', t => { t.diagnostic(${line('wasm-simd | kernels | reference-f64 | 1.00e-7 | z')}); });
      it('c', t => { t.skip('no GPU here'); });`);
    assert.equal(r.status, 0, r.stdout);
    assert.match(r.stdout, /\| wasm-simd +\| 3\.0e-6 \/ - +\| - \/ - +\| - \/ - +\| - \/ 1\.0e-7 +\|/);
    assert.match(r.stdout, /1 test\(s\) skipped:\n {2}- c: no GPU here\n/);
  });

  it('fails the run for a skip without a reason', () => {
    const r = run(`import { it } from 'node:test';\nit('quiet', t => { t.skip(); });`);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /quiet: NO REASON GIVEN/);
  });
});
