// The quality benchmark's bad input (scripts/bench-quality.mjs, not run in CI
// otherwise), run as the program it is: each is one sentence on stderr and exit 1, before any training,
// and a --keep folder that exists is left as it was.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// dist/test/e2e/ -> the repository's scripts/.
const SCRIPT = fileURLToPath(new URL('../../../scripts/bench-quality.mjs', import.meta.url));

describe('bench:quality bad input', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'charrnn-bench-quality-test-'));
    writeFileSync(join(dir, 'text.txt'), 'to be or not to be\n'.repeat(10));
    writeFileSync(join(dir, 'ref.py'), '# not run\n');
    mkdirSync(join(dir, 'kept'));
    writeFileSync(join(dir, 'kept', 'earlier.txt'), 'an earlier run');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const bench = (args: string[]) => {
    const r = spawnSync(process.execPath, [SCRIPT, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    if (r.error) throw r.error;
    return r;
  };
  const oneSentence = (r: ReturnType<typeof bench>, says: RegExp): void => {
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, says);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /\bat .*:\d+:\d+/, 'no stack trace');
  };

  it('a missing flag, a path that does not exist, and a --keep folder that exists', () => {
    oneSentence(bench(['--torch-ref', 'ref.py']), /^bench:quality: give --text PATH\.$/m);
    oneSentence(
      bench(['--text', 'nowhere.txt', '--torch-ref', 'ref.py']),
      /^bench:quality: nowhere\.txt does not exist; give --text PATH/m,
    );
    oneSentence(
      bench(['--text', 'text.txt', '--torch-ref', 'ref.py', '--python', process.execPath, '--keep', 'kept']),
      /^bench:quality: kept exists; give --keep a new folder\.$/m,
    );
    assert.deepEqual(readdirSync(join(dir, 'kept')), ['earlier.txt']);
    assert.equal(readFileSync(join(dir, 'kept', 'earlier.txt'), 'utf8'), 'an earlier run');
  });
});
