// A run's folder on disk: the files a run writes, under fixed names.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SavedFile } from '../run/events.js';
import type { RunStore } from '../run/run.js';
import { writeFileAtomic } from './files.js';

export const RUN_FILES: Record<SavedFile, string> = {
  model: 'model.safetensors',
  best: 'best.safetensors',
  checkpoint: 'checkpoint.safetensors',
};

export const LOG_FILE = 'log.jsonl';

/** Saves each file of a run atomically into `dir` (a reader or a crash never sees half a file). */
export function folderStore(dir: string): RunStore {
  return { save: (file, bytes) => writeFileAtomic(join(dir, RUN_FILES[file]), bytes) };
}

/** Whether `dir` holds a run's files, which a new run must not replace unasked. */
export function holdsRun(dir: string): boolean {
  return existsSync(join(dir, RUN_FILES.checkpoint)) || existsSync(join(dir, RUN_FILES.model));
}
