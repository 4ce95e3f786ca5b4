// The text a run trains on, in the form the run layer takes it: ids under a
// vocabulary, where it came from, and (line mode) its lines.
import type { LineCorpus } from '../data/line-corpus.js';
import type { TokenIds } from '../data/streams.js';
import { Vocabulary } from '../text/vocabulary.js';
import { blankText } from './check-settings.js';

/** A text ready to train on: its ids under its vocabulary, and where it came from. */
export interface TrainingText {
  ids: TokenIds;
  vocab: Vocabulary;
  /** A short description for messages and the model file: a path, a list, a corpus name. */
  source: string;
  /** Line mode's lines (withLines makes them when settings.lines is on); `ids` are then the lines, each ended by EOL. */
  lines?: LineCorpus;
  /** The text's fingerprint (readCorpus: SHA-256 of the text options and bytes); else one of the ids is made. */
  hash?: string;
}

/**
 * A string as a run takes it: its vocabulary (every distinct character), its
 * ids, and `source` for messages and the model file. Node reads files and big
 * corpora with charrnn/node's `readCorpus`, which gives the same shape.
 *
 *     const run = new TrainingRun({ corpus: trainingText(text, 'poems.txt'), ... });
 *
 * An empty string is refused here (a SettingError naming `source`), since no
 * vocabulary can be made of it; a text of only white space, by the run's checks.
 */
export function trainingText(text: string, source: string): TrainingText {
  if (text === '') throw blankText(source, true);
  const vocab = Vocabulary.fromText(text);
  return { ids: vocab.encode(text).ids, vocab, source };
}
