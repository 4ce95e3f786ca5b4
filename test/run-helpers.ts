// What the run layer's tests build runs from: a corpus from a string, and a store that keeps files in memory.
import type { SavedFile } from '../src/run/events.js';
import type { TrainingText, RunStore } from '../src/run/training-run.js';
import { Vocabulary } from '../src/text/vocabulary.js';

export function corpusOf(text: string): TrainingText {
  const vocab = Vocabulary.fromText(text);
  return { ids: vocab.encode(text).ids, vocab, source: 'test' };
}

/** A store that keeps the last bytes of each file in memory. */
export function memoryStore(): RunStore & { files: Map<SavedFile, Uint8Array> } {
  const files = new Map<SavedFile, Uint8Array>();
  return {
    files,
    save: (file, bytes) => {
      files.set(file, bytes);
    },
  };
}
