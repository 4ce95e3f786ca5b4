// The one check of a user error, shared by the tests that run the CLI.
import assert from 'node:assert/strict';

/**
 * A user error as the spec wants it: a non-zero exit and exactly one line on
 * stderr, starting "charrnn: " and saying what is wrong, with no stack trace.
 */
export function assertUserError(r: { status: number | null; stderr: string }, says: RegExp, { exit }: { exit?: number } = {}): void {
  const lines = r.stderr.split('\n');
  assert.equal(lines.pop(), '', `stderr must end with a newline: ${JSON.stringify(r.stderr)}`);
  assert.notEqual(r.status, 0, 'a bad input must not exit 0');
  assert.notEqual(r.status, 70, `exit 70 means charrnn treated the input as its own bug: ${r.stderr}`);
  if (exit !== undefined) assert.equal(r.status, exit, r.stderr);
  assert.ok(!/^\s+at /m.test(r.stderr), `stack trace on stderr: ${r.stderr}`);
  assert.equal(lines.length, 1, `expected one line on stderr, got ${JSON.stringify(r.stderr)}`);
  assert.match(lines[0], /^charrnn: \S/);
  assert.match(lines[0], says);
}
