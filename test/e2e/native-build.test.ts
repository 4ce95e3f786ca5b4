// The install script (scripts/build-native.mjs) as npm runs it: without the
// addon the install goes on with the WebAssembly kernels, unless
// CHARRNN_REQUIRE_NATIVE=1 asks for them, which fails it (exit 1, one sentence).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

describe('native build', () => {
  it('fails the install when CHARRNN_REQUIRE_NATIVE=1 and the addon is not built (here: skipped on purpose)', () => {
    const script = fileURLToPath(new URL('../../../scripts/build-native.mjs', import.meta.url));
    const env = { ...process.env, CHARRNN_SKIP_NATIVE: '1' };
    const optional = spawnSync(process.execPath, [script], { encoding: 'utf8', env: { ...env, CHARRNN_REQUIRE_NATIVE: '' } });
    assert.equal(optional.status, 0, 'without the requirement a missing addon is not an error');
    assert.match(optional.stderr, /the WebAssembly kernels will be used/);
    const required = spawnSync(process.execPath, [script], { encoding: 'utf8', env: { ...env, CHARRNN_REQUIRE_NATIVE: '1' } });
    assert.equal(required.status, 1);
    assert.match(
      required.stderr,
      /^charrnn: native kernels not built \(CHARRNN_SKIP_NATIVE=1\), and CHARRNN_REQUIRE_NATIVE=1 requires them\.\n$/,
    );
  });
});
