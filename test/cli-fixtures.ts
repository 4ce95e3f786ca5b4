// What the CLI tests of both tiers share (test/cli.test.ts in process,
// test/e2e/cli.test.ts and test/e2e/run-folder.test.ts as real processes):
// the environment, the corpus, small readers of output, and the model whose
// resume must come back exactly.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

// The reference backend wherever the backend is not the point; CHARRNN_DEBUG off so
// that an internal error would not print a stack trace we then have to tell apart.
export const CLI_ENV = { ...process.env, CHARRNN_BACKEND: 'reference', CHARRNN_DEBUG: '' };

export const codePoints = (s: string): number => [...s].length;
export const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
export const jsonLines = (stdout: string): Record<string, unknown>[] =>
  stdout
    .split('\n')
    .filter(l => l !== '')
    .map(l => JSON.parse(l) as Record<string, unknown>);

// A corpus with characters outside the BMP (🙂, two UTF-16 units, one code point)
// and CJK, so that counting code points and counting UTF-16 units disagree.
export const LINE = 'the cat 🙂 sat on the 猫 mat.\n';
export const CORPUS = LINE.repeat(40);

/**
 * Two layers with dropout, so that the optimizer moments, the carried state, the
 * stream position and the dropout generator all have to come back exactly on a resume.
 */
export const RESUME_MODEL = ['--layers', '2', '--hidden', '16', '--emb', '8', '--batch', '4', '--seq', '16', '--dropout', '0.3'];
