// `charrnn sample MODEL --length 3000000 | head -c 100`: once the reader has
// gone, the first failed write must end the generation, not the --length. In
// process, with a standard output that fails as a closed pipe does (Node's
// Writable sets `errored` at the write that fails, before its 'error' event).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { CliIo } from '../src/cli/io.js';
import { runCli } from '../src/cli/run-cli.js';
import { cliRunner, TINY } from './cli-runner.js';

let dir: string;
const { ok } = cliRunner(() => dir, { CHARRNN_BACKEND: 'reference' });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'charrnn-closed-'));
  writeFileSync(join(dir, 'corpus.txt'), 'the quick brown fox jumps over the lazy dog\n'.repeat(40));
  await ok(['train', 'corpus.txt', ...TINY, '--steps', '3', '--val-every', '0', '--sample-length', '0', '--out', 'm']);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('a standard output that closes after 100 characters ends sample --length 3000000 at the next write', async () => {
  const closeAfter = 100;
  let read = 0;
  let writesAfterClose = 0;
  let stderr = '';
  const stdout = {
    errored: null as Error | null,
    write(text: string): boolean {
      if (stdout.errored) {
        writesAfterClose++;
        return false;
      }
      read += text.length;
      // The reader takes its 100 characters and goes: this write is the one that fails.
      if (read >= closeAfter) stdout.errored = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
      return stdout.errored === null;
    },
  };
  const io: CliIo = {
    stdout,
    stderr: {
      write: (s: string) => {
        stderr += s;
      },
    },
    env: { ...process.env, CHARRNN_BACKEND: 'reference' },
  };
  const status = await runCli(['sample', join(dir, 'm/model.safetensors'), '--length', '3000000', '--backend', 'reference'], io);
  assert.equal(status, 0, stderr);
  assert.equal(stderr, '');
  // Written in pieces of a line or 64 characters: the failed write came within two pieces of the reader closing, and nothing after it.
  assert.ok(read < closeAfter + 2 * 64 + 64, `${read} characters written before the failed write`);
  assert.equal(writesAfterClose, 0, 'no write after the one that failed');
});
