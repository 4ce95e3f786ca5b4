// A run's folder on disk: the files a run writes under fixed names, the record
// of where its text came from (run.json), and opening a folder for a run: one
// run at a time (a lock), a fresh folder per run by default, leftovers of a
// killed save cleared, and a test write before the first step.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { z } from 'zod';
import { CharrnnError } from '../errors.js';
import type { SavedFile } from '../run/events.js';
import type { RunStore } from '../run/training-run.js';
import { modelFile } from './base-models.js';
import { checkWritable, ensureFolder, fileError, readBytes, writeFileAtomic } from './files.js';
import { LOCK_FILE, processIsRunning, RunLock } from './run-lock.js';

export const RUN_FILES: Record<SavedFile, string> = {
  model: 'model.safetensors',
  best: 'best.safetensors',
  checkpoint: 'checkpoint.safetensors',
};

export const LOG_FILE = 'log.jsonl';
/** The loss plot training draws and `charrnn plot` redraws, from the log. */
export const LOSS_PLOT_FILES = ['loss.svg', 'loss.png'] as const;
/** Where `charrnn export-torch` puts a run's PyTorch training folder unless told otherwise. */
export const TORCH_FOLDER = 'torch';
/** Where the run's text came from, so that `--resume DIR` alone can read it again. */
export const SOURCE_FILE = 'run.json';
export const SOURCE_FORMAT = 'charrnn-run/1';

/** Saves each file of a run atomically into `dir` (a reader or a crash never sees half a file). */
export function folderStore(dir: string): RunStore {
  return { save: (file, bytes) => writeFileAtomic(join(dir, RUN_FILES[file]), bytes) };
}

/**
 * A model file's bytes, or a base model's by its name (src/node/base-models.ts).
 * A folder given instead (most often a run's, for its model) is one sentence
 * naming the model files in it.
 */
export function readModelBytes(path: string): Uint8Array {
  let folder = false;
  try {
    folder = statSync(path).isDirectory();
  } catch {
    /* readBytes says what is wrong */
  }
  if (folder) {
    const latest = join(path, RUN_FILES.model),
      best = join(path, RUN_FILES.best);
    if (existsSync(latest) || existsSync(best)) {
      throw new CharrnnError(
        `${path} is a run folder, not a model file: give ${latest} (the latest model)` +
          `${existsSync(best) ? ` or ${best} (the best by validation loss)` : ''}.`,
      );
    }
    throw new CharrnnError(`${path} is a folder, not a model file: give a .safetensors file written by charrnn train.`);
  }
  return readBytes(modelFile(path));
}

/** Whether `dir` holds a run's files, which a new run must not replace unasked. */
export function holdsRun(dir: string): boolean {
  return existsSync(join(dir, RUN_FILES.checkpoint)) || existsSync(join(dir, RUN_FILES.model));
}

/** DIR/run.json: the text a run trains on, as the files' absolute paths or an embedded corpus's name. */
export interface RunSource {
  format: typeof SOURCE_FORMAT;
  /** Absolute paths of the files given, in order, "-" for standard input (empty for an embedded corpus). */
  files: string[];
  corpus?: string;
  /** The text's name in messages and model files, as given at the start (kept on resume so that a model file's bytes do not depend on it). */
  source: string;
  /** The text's fingerprint, as the checkpoint has it (the checkpoint's is the one checked). */
  textHash: string;
}

const sourceSchema = z.object({
  format: z.literal(SOURCE_FORMAT),
  files: z.array(z.string()),
  corpus: z.string().optional(),
  source: z.string(),
  textHash: z.string(),
});

/** How run.json names standard input among the files. */
export const STANDARD_INPUT = '-';

/** An input as run.json records it: a file's absolute path, or "-" for standard input. */
export function recordedInput(input: string): string {
  return input === STANDARD_INPUT ? STANDARD_INPUT : resolve(input);
}

/** Says that a run's text came from standard input, which is gone: it must be given again. */
export function standardInputRun(dir: string, needs: string): CharrnnError {
  return new CharrnnError(`The run in ${dir} read its text from standard input; ${needs}.`);
}

export function writeRunSource(dir: string, source: Omit<RunSource, 'format'>): void {
  const record: RunSource = { format: SOURCE_FORMAT, ...source };
  writeFileAtomic(join(dir, SOURCE_FILE), new TextEncoder().encode(JSON.stringify(record, null, 2) + '\n'));
}

/** DIR/run.json, or null when the run was saved before runs recorded their text. */
export function readRunSource(dir: string): RunSource | null {
  const path = join(dir, SOURCE_FILE);
  if (!existsSync(path)) return null;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(readBytes(path)));
  } catch (e) {
    if (e instanceof CharrnnError) throw e;
    throw new CharrnnError(`${path} is not a charrnn run record: it is not JSON.`);
  }
  const format = (json as { format?: unknown } | null)?.format;
  const version = typeof format === 'string' ? /^charrnn-run\/(\d+)$/.exec(format) : null;
  if (version && Number(version[1]) > 1) {
    throw new CharrnnError(
      `${path} was written by a newer charrnn (format ${format}; this one reads ${SOURCE_FORMAT}); update charrnn to resume this run.`,
    );
  }
  const parsed = sourceSchema.safeParse(json);
  if (!parsed.success) throw new CharrnnError(`${path} is not a charrnn run record (${SOURCE_FORMAT}).`);
  // Records written before standard input was recorded as "-" have it as a path ending in /-, where no file is.
  const files = parsed.data.files.map(f => (basename(f) === STANDARD_INPUT && !existsSync(f) ? STANDARD_INPUT : f));
  return { ...parsed.data, files };
}

/**
 * Claims a new folder `root/<stem>-<YYYYMMDD>-<n>` with n the first number not
 * taken. mkdir without `recursive` fails on a folder that exists, so two runs
 * started at once never get the same one.
 */
export function claimFreshFolder(root: string, stem: string, date = new Date()): string {
  ensureFolder(root);
  const day = `${date.getFullYear()}${String(date.getMonth() + 1).padStart(2, '0')}${String(date.getDate()).padStart(2, '0')}`;
  const name = folderStem(stem);
  for (let n = 1; n <= 100_000; n++) {
    const dir = join(root, `${name}-${day}-${n}`);
    try {
      mkdirSync(dir);
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw fileError(e, dir);
    }
  }
  throw new CharrnnError(`${root} has no free folder name for ${name}-${day}-N; give --out.`);
}

/** A file-name-safe stem from a text's name: "Moby Dick.txt" -> "Moby-Dick". */
export function folderStem(source: string): string {
  const base = source === '-' ? 'stdin' : basename(source, extname(source));
  const safe = base
    .replace(/[^\p{L}\p{N}_-]+/gu, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return safe === '' ? 'run' : safe;
}

/** How a run uses its folder. */
export type FolderUse =
  /** A new run: the folder may exist, but must not hold a run. */
  | 'new'
  /** A new run replacing the run the folder holds (--force). */
  | 'replace'
  /** Continuing the run the folder holds. */
  | 'resume';

/**
 * Opens `dir` for one run and holds it until the process ends: makes it (for a
 * new run), takes its lock (refusing while another run holds it), refuses or
 * clears a run it already holds, and removes temporary files a killed process
 * left. First of all a test file is written, so a folder that cannot hold the
 * run's files is said now rather than at the first save. Said through `note`: a stale lock taken over, files removed.
 */
export function openRunFolder(dir: string, use: FolderUse, note: (message: string) => void): RunLock {
  if (use === 'resume') {
    let isFolder = false;
    try {
      isFolder = statSync(dir).isDirectory();
    } catch {
      /* said below */
    }
    if (!isFolder) throw new CharrnnError(`No run to resume: ${dir} is not a folder.`);
  } else {
    ensureFolder(dir);
  }
  checkWritable(dir);
  const lock = RunLock.acquire(dir, note);
  try {
    if (use === 'resume' && !existsSync(join(dir, RUN_FILES.checkpoint))) {
      throw new CharrnnError(`${dir} holds no run to resume: it has no ${RUN_FILES.checkpoint}.`);
    }
    if (use === 'new' && holdsRun(dir)) {
      throw new CharrnnError(`${dir} holds a run already; continue it with --resume ${dir}, give another --out, or --force to replace it.`);
    }
    if (use === 'replace') {
      // Everything the old run made goes, so no file in the folder describes a run other than the new one
      // (an old loss plot or PyTorch export would otherwise stay until overwritten, or for good).
      for (const f of [...Object.values(RUN_FILES), SOURCE_FILE, LOG_FILE, ...LOSS_PLOT_FILES]) {
        try {
          unlinkSync(join(dir, f));
        } catch {
          /* not there */
        }
      }
      try {
        rmSync(join(dir, TORCH_FOLDER), { recursive: true, force: true });
      } catch (e) {
        throw fileError(e, join(dir, TORCH_FOLDER));
      }
    }
    const removed = removeLeftovers(dir);
    if (removed.length > 0) {
      note(
        `removed ${removed.length} temporary file${removed.length === 1 ? '' : 's'} left in ${dir} by an interrupted save: ${removed.join(', ')}`,
      );
    }
  } catch (e) {
    lock.release();
    throw e;
  }
  return lock;
}

/**
 * Removes `.NAME.PID.tmp` files (writeFileAtomic's) whose process is gone: a
 * save cut short by kill -9 or a power cut. Called with the folder's lock held,
 * so no run is writing them; a live process's (a `charrnn plot` of this folder)
 * is left alone. Returns the names removed.
 */
export function removeLeftovers(dir: string): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    const m = /^\..+\.(\d+)\.tmp$/.exec(name);
    if (!m || name === LOCK_FILE) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && processIsRunning(pid)) continue;
    try {
      unlinkSync(join(dir, name));
      removed.push(name);
    } catch {
      /* gone meanwhile */
    }
  }
  return removed.sort();
}
