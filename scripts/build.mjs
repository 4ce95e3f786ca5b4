// Builds what is out of date, and only that: the wasm kernels when their
// AssemblyScript is newer than the generated module, TypeScript incrementally
// (tsc -b, its state in dist/.tsbuildinfo as tsconfig.json says), and the playground and
// the browser library when a file they are built from is newer than what Vite
// wrote. Compiled files whose source is gone (a test file moved or deleted)
// are removed, so `node --test dist/test/*.test.js` never runs a stale one.
//
//   node scripts/build.mjs          what `npm test` and `npm run test:all` run first
//   node scripts/build.mjs --full   everything from scratch but the web builds (`npm run build`)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const full = process.argv.includes('--full');
/** tsconfig.json's tsBuildInfoFile. */
const BUILD_INFO = join(root, 'dist', '.tsbuildinfo');

/** Runs a step of the build, ending this one with its exit code if it fails. */
function run(command, args) {
  const started = Date.now();
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  console.log(
    `build: ${[command === process.execPath ? 'node' : relative(root, command), ...args.map(a => relative(root, a) || a)].join(' ')} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
}

const bin = name => join(root, 'node_modules', '.bin', name);

/** Every file under `dir` (a file itself counts), skipping folders named in `skip`. */
function files(dir, skip = new Set()) {
  if (!existsSync(dir)) return [];
  if (statSync(dir).isFile()) return [dir];
  return readdirSync(dir, { withFileTypes: true }).flatMap(e =>
    skip.has(e.name) ? [] : e.isDirectory() ? files(join(dir, e.name), skip) : [join(dir, e.name)],
  );
}

const newest = paths => Math.max(-Infinity, ...paths.map(p => statSync(p).mtimeMs));
const oldest = paths => Math.min(Infinity, ...paths.map(p => (existsSync(p) ? statSync(p).mtimeMs : -Infinity)));

/** Whether any output is missing or older than the newest input. */
const stale = (inputs, outputs) => oldest(outputs) < newest(inputs);

// 1. The wasm kernels, generated into src/ (so that tsc compiles them with the rest).
const wasmOut = join(root, 'src/kernels/wasm/generated/binaries.ts');
if (full || stale([...files(join(root, 'src/kernels/wasm/assembly')), join(root, 'scripts/build-wasm.mjs')], [wasmOut])) {
  run(process.execPath, [join(root, 'scripts/build-wasm.mjs')]);
}

// 2. TypeScript: from scratch with --full, else what changed since the last build.
if (full) {
  rmSync(join(root, 'dist', 'test'), { recursive: true, force: true });
  rmSync(BUILD_INFO, { force: true });
}
run(bin('tsc'), ['-b', join(root, 'tsconfig.json')]);
removeOrphans();

// 3. The playground (web/dist), the browser library (dist/browser) and the script of
// `charrnn explain`'s HTML report (dist/explain-report), each a Vite build.
if (!full) {
  const webInputs = [
    ...files(join(root, 'web'), new Set(['dist'])),
    ...files(join(root, 'src'), new Set(['node', 'cli', 'assembly'])),
    join(root, 'package.json'),
  ];
  const webOutputs = ['web/dist/index.html', 'dist/browser/charrnn.js', 'dist/explain-report/report.js'].map(p => join(root, p));
  if (stale(webInputs, webOutputs)) {
    // Its own build state: the one it would inherit from tsconfig.json is the main build's.
    run(bin('tsc'), ['-p', join(root, 'web/tsconfig.json'), '--tsBuildInfoFile', join(root, 'dist/.tsbuildinfo-web')]);
    run(bin('vite'), ['build', '-c', join(root, 'web/vite.config.ts'), '--logLevel', 'warn']);
    run(bin('vite'), ['build', '-c', join(root, 'web/vite.lib.config.ts'), '--logLevel', 'warn']);
    run(bin('vite'), ['build', '-c', join(root, 'web/vite.report.config.ts'), '--logLevel', 'warn']);
  }
}

/** Removes what tsc wrote for a source file that no longer exists (an incremental build never does). */
function removeOrphans() {
  const removed = [];
  // Every folder tsc writes (dist/src, dist/test, ...); dist/browser and dist/explain-report are Vite's.
  const tops = readdirSync(join(root, 'dist'), { withFileTypes: true })
    .filter(e => e.isDirectory() && e.name !== 'browser' && e.name !== 'explain-report')
    .map(e => e.name);
  for (const top of tops) {
    for (const out of files(join(root, 'dist', top))) {
      const m = /^(.*)\.(js|d\.ts)(\.map)?$/.exec(relative(join(root, 'dist'), out));
      if (m && !existsSync(join(root, `${m[1]}.ts`))) {
        rmSync(out);
        removed.push(relative(root, out));
      }
    }
  }
  if (removed.length > 0) console.log(`build: removed ${removed.length} compiled file(s) whose source is gone: ${removed.join(', ')}`);
}
