// A text made ready for a run: running text becomes one id sequence; in line
// mode the text's lines are also split into training and held-out lines.
import { lineCorpus } from '../data/line-corpus.js';
import { Vocabulary } from '../text/vocabulary.js';
import type { EncodedCorpus } from './run.js';
import type { RunSettings } from './settings.js';

/**
 * The corpus of a run with these settings. In line mode the ids are the
 * non-empty lines, each followed by the end-of-line (what a resume fingerprints),
 * and the held-out lines depend on valFrac and the seed.
 */
export function encodeCorpus(text: string, source: string, s: Pick<RunSettings, 'lines' | 'valFrac' | 'seed'>): EncodedCorpus {
  if (s.lines) {
    const lines = lineCorpus(text, source, s.valFrac, s.seed);
    return { ids: lines.ids, vocab: lines.vocab, source, lines };
  }
  const vocab = Vocabulary.fromText(text);
  return { ids: vocab.encode(text).ids, vocab, source };
}
