#!/usr/bin/env node
// Builds the optional native kernels (native/, an N-API addon) with node-gyp.
// Run by `npm install` / `npm ci`. It never fails the install: when the addon
// cannot be built (no compiler, no Node headers offline, ...) charrnn falls back
// to its WebAssembly kernels, so this prints one line saying why and exits 0.
//
// CHARRNN_SKIP_NATIVE=1 skips the build. CHARRNN_REQUIRE_NATIVE=1 (CI, which has a
// compiler) makes a failed build fail the install instead.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = path.join(root, 'native');

const required = process.env.CHARRNN_REQUIRE_NATIVE === '1';

function skip(reason) {
  if (required) {
    console.error(`charrnn: native kernels not built (${reason}), and CHARRNN_REQUIRE_NATIVE=1 requires them.`);
    process.exit(1);
  }
  console.warn(`charrnn: native kernels not built (${reason}); the WebAssembly kernels will be used.`);
  process.exit(0);
}

if (process.env.CHARRNN_SKIP_NATIVE === '1') skip('CHARRNN_SKIP_NATIVE=1');
if (!existsSync(path.join(nativeDir, 'binding.gyp'))) skip('native/binding.gyp is missing');

// npm hands lifecycle scripts the path of its bundled node-gyp; outside npm, look
// next to the npm that ships with this node, then on PATH.
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(path.dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  for (const c of candidates) if (c && existsSync(c)) return [process.execPath, c];
  const probe = spawnSync('node-gyp', ['--version'], { stdio: 'ignore', shell: process.platform === 'win32' });
  return probe.status === 0 ? ['node-gyp'] : null;
}

// node-gyp downloads Node's headers unless told where they are. A configured
// nodedir wins; otherwise use the headers installed beside this node binary
// (distribution packages and official tarballs ship include/node), which keeps
// the build offline.
function nodedirArgs() {
  if (process.env.npm_config_nodedir) return [`--nodedir=${process.env.npm_config_nodedir}`];
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) && existsSync(path.join(prefix, 'include', 'node', 'common.gypi'))) {
    return [`--nodedir=${prefix}`];
  }
  return [];
}

const gyp = findNodeGyp();
if (!gyp) skip('node-gyp not found');
const [cmd, ...pre] = gyp;
const args = [...pre, 'rebuild', `--directory=${nativeDir}`, ...nodedirArgs(), '--jobs=max'];
const verbose = process.env.CHARRNN_NATIVE_VERBOSE === '1';
const result = spawnSync(cmd, args, {
  cwd: nativeDir,
  stdio: verbose ? 'inherit' : 'pipe',
  encoding: 'utf8',
  timeout: 300_000,
  shell: process.platform === 'win32' && cmd === 'node-gyp',
});
if (result.error || result.status !== 0) {
  if (!verbose) {
    const tail = `${result.stdout ?? ''}${result.stderr ?? ''}`
      .trim()
      .split('\n')
      .filter(l => !l.startsWith('gyp info'))
      .slice(-15)
      .join('\n');
    if (tail) console.warn(tail);
  }
  skip(result.error ? result.error.message : `node-gyp exited with ${result.status ?? result.signal}`);
}
console.log('charrnn: native kernels built (native/build/Release/charrnn_native.node).');
