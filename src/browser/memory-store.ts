// A run's files kept in memory: where a run in a browser saves (the page
// offers the latest model file as a download).
import type { SavedFile } from '../run/events.js';
import type { RunStore } from '../run/training-run.js';

export interface MemoryStore extends RunStore {
  /** The latest bytes of each file saved so far. */
  readonly files: ReadonlyMap<SavedFile, Uint8Array>;
}

/** A store that keeps the latest bytes of each file; `onSave` hears of each save (a worker posts them to its page). */
export function memoryStore(onSave: (file: SavedFile, bytes: Uint8Array) => void = () => {}): MemoryStore {
  const files = new Map<SavedFile, Uint8Array>();
  return {
    files,
    save(file, bytes) {
      files.set(file, bytes);
      onSave(file, bytes);
    },
  };
}
