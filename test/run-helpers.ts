// What the run layer's tests build runs from: the tiny settings every test
// runs (and their flag form, for the CLI's tests), a corpus from a string, and a
// store that keeps files in memory.
import { FLAG_NAMES } from '../src/cli/flag-names.js';
import type { SavedFile } from '../src/run/events.js';
import type { RunSettings } from '../src/run/settings.js';
import type { TrainingText, RunStore } from '../src/run/training-run.js';
import { Vocabulary } from '../src/text/vocabulary.js';

/**
 * The tiny model and training every test runs unless it needs otherwise: one
 * small LSTM layer on 4 streams of 16 characters. A test that needs another
 * size for its point spreads these and overrides one, saying why.
 */
export const TINY_SETTINGS = { layers: 1, hidden: 16, emb: 8, batch: 4, seq: 16 } satisfies Partial<RunSettings>;

/** TINY_SETTINGS for a run-layer test: steps only, with no samples, validations or checkpoints unless the test asks. */
export const TINY_RUN = { ...TINY_SETTINGS, sampleLength: 0, valEvery: 0, checkpointEvery: 0 } satisfies Partial<RunSettings>;

/** Settings as the CLI's flags (the run layer's names, through the CLI's own FLAG_NAMES). */
export function settingsFlags(settings: Partial<RunSettings>): string[] {
  return Object.entries(settings).flatMap(([name, value]) => [FLAG_NAMES(name as keyof RunSettings), String(value)]);
}

/** TINY_SETTINGS as flags: the CLI's tests' TINY_MODEL (test/cli-runner.ts). */
export const TINY_FLAGS = settingsFlags(TINY_SETTINGS);

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
