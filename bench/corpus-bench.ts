// npm run bench:corpus [-- --mb N] [--train [--steps S]] [--text PATH] [--keep]: the big-corpus benchmark.
// Writes an N MB text (default 1024) into a temporary folder — tinyshakespeare
// repeated, each copy rotated to another start and headed by its number, so no
// two copies are the same bytes — then, each in a fresh process so that peak
// RSS is its own: encodes it (MB/s, peak RSS), loads it again from the encoded
// cache, and with --train trains a 2x128 LSTM a few steps on it (peak RSS).
// A benchmark, not a test: it prints figures and asserts nothing.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCorpus } from '../src/node/read-corpus.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const MAIN = join(HERE, '../src/cli/main.js');
// The text repeated into the big corpus: --text PATH (tinyshakespeare in the published figures).
const textAt = process.argv.indexOf('--text');
const SOURCE = textAt >= 0 ? resolve(process.argv[textAt + 1]) : '';
if (SOURCE === '') {
  console.error('bench:corpus: give the text to repeat with --text FILE.');
  process.exit(1);
}
const MB = 1 << 20;

function argValue(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function makeText(path: string, bytes: number): void {
  const base = readFileSync(SOURCE);
  const fd = openSync(path, 'w');
  let written = 0;
  for (let copy = 0; written < bytes; copy++) {
    const start = (copy * 7919) % base.length;
    const parts = [Buffer.from(`=== copy ${copy} ===\n`), base.subarray(start), base.subarray(0, start)];
    for (const p of parts) {
      const take = p.subarray(0, Math.min(p.length, bytes - written));
      writeSync(fd, take);
      written += take.length;
    }
  }
  closeSync(fd);
}

/** Runs this file in a child process for one phase; returns its JSON line. */
function phase(args: string[]): Record<string, number | string> {
  const r = spawnSync(process.execPath, ['--max-old-space-size=4096', fileURLToPath(import.meta.url), '--child', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`phase ${args[0]} exited ${r.status}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number | string>;
}

const peakMB = (): number => Math.round(process.resourceUsage().maxRSS / 1024);

async function child(kind: string, file: string, cache: string): Promise<void> {
  const t0 = performance.now();
  if (kind === 'reference') {
    // What any reader must do at least: read the bytes, hash them and decode them to strings (then dropped).
    const fd = openSync(file, 'r');
    const buffer = Buffer.allocUnsafe(16 * MB);
    const hash = createHash('sha256');
    const decoder = new TextDecoder();
    let bytes = 0;
    for (let n; (n = readSync(fd, buffer, 0, buffer.length, null)) > 0; bytes += n) {
      hash.update(buffer.subarray(0, n));
      decoder.decode(buffer.subarray(0, n), { stream: true });
    }
    closeSync(fd);
    hash.digest();
    const seconds = (performance.now() - t0) / 1000;
    process.stdout.write(
      JSON.stringify({ phase: kind, seconds: +seconds.toFixed(2), mb_per_s: Math.round(bytes / MB / seconds), peak_rss_mb: peakMB() }) +
        '\n',
    );
    return;
  }
  const c = await readCorpus([file], undefined, { invalid: 'error', normalize: 'nfc' }, kind === 'encode' ? {} : { cacheDir: cache });
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(
    JSON.stringify({
      phase: kind,
      seconds: +seconds.toFixed(2),
      mb_per_s: Math.round(c.bytes / MB / seconds),
      peak_rss_mb: peakMB(),
      chars: c.ids.length,
      vocab: c.vocab.size,
      ids: c.ids.constructor.name,
      cached: c.cached ? 1 : 0,
    }) + '\n',
  );
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3], process.argv[4], process.argv[5]);
  const mb = argValue('--mb', 1024);
  const dir = mkdtempSync(join(tmpdir(), 'charrnn-bench-corpus-'));
  try {
    const file = join(dir, 'big.txt');
    const cache = join(dir, 'cache');
    let t = performance.now();
    makeText(file, mb * MB);
    console.log(`wrote ${mb} MB of text to ${file} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const reference = phase(['reference', file, cache]);
    console.log(`reference (read + SHA-256 + TextDecoder, nothing kept): ${reference.mb_per_s} MB/s (${reference.seconds} s)`);
    const encode = phase(['encode', file, cache]);
    console.log(
      `encode: ${encode.mb_per_s} MB/s, ${(Number(encode.mb_per_s) / Number(reference.mb_per_s)).toFixed(2)}x the reference (${encode.seconds} s for ${encode.chars} characters, ${encode.vocab} distinct, ${encode.ids}), peak RSS ${encode.peak_rss_mb} MB`,
    );
    const cached = phase(['encode-and-cache', file, cache]);
    console.log(`encode and write the cache: ${cached.mb_per_s} MB/s (${cached.seconds} s), peak RSS ${cached.peak_rss_mb} MB`);
    const reload = phase(['reload', file, cache]);
    console.log(`reload from the cache: ${reload.mb_per_s} MB/s of text (${reload.seconds} s), peak RSS ${reload.peak_rss_mb} MB`);
    if (process.argv.includes('--train')) {
      const steps = argValue('--steps', 20);
      // 0.1% held out, so the final validation pass takes seconds (10% of 1 GB would take many minutes).
      const args = [
        'train',
        file,
        '--layers',
        '2',
        '--hidden',
        '128',
        '--steps',
        String(steps),
        '--val-frac',
        '0.001',
        '--val-every',
        '0',
        '--checkpoint-every',
        '0',
        '--sample-length',
        '0',
        '--out',
        join(dir, 'run'),
      ];
      const exitHook =
        'data:text/javascript,process.on("exit",()=>process.stderr.write("peak_rss_mb "+Math.round(process.resourceUsage().maxRSS/1024)+"\\n"))';
      t = performance.now();
      const r = spawnSync(process.execPath, ['--import', exitHook, MAIN, ...args], { encoding: 'utf8' });
      const peak = /peak_rss_mb (\d+)/.exec(r.stderr)?.[1];
      if (r.status !== 0) throw new Error(`training exited ${r.status}: ${r.stderr}`);
      console.log(
        `train (charrnn ${args.join(' ').replace(dir, '$TMP')}): ${((performance.now() - t) / 1000).toFixed(1)} s, peak RSS ${peak} MB`,
      );
    }
  } finally {
    if (!process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
