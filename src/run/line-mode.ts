// Line mode's view of a corpus: the text's non-empty lines, split into training
// and held-out lines, with a vocabulary of their characters and the end-of-line.
import { lineCorpus } from '../data/line-corpus.js';
import type { TrainingText } from './training-text.js';
import type { RunSettings } from './settings.js';

/**
 * The corpus a run with these settings trains on: as read, or in line mode its
 * lines (ids: each non-empty line followed by the end-of-line; the held-out
 * lines depend on valFrac and the seed). The fingerprint stays the text's.
 */
export function withLines(corpus: TrainingText, s: Pick<RunSettings, 'lines' | 'valFrac' | 'seed'>): TrainingText {
  if (!s.lines) return corpus;
  const lines = lineCorpus(corpus.vocab.decode(corpus.ids), corpus.source, s.valFrac, s.seed, corpus.vocab.normalization);
  return { ...corpus, ids: lines.ids, vocab: lines.vocab, lines };
}
