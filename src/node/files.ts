import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { CharrnnError } from '../errors.js';

/** Reads a whole file, turning the usual failures into one sentence. */
export function readBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw fileError(e, path);
  }
}

/** Makes a folder (and its parents) to write into, turning the usual failures into one sentence. */
export function ensureFolder(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw fileError(e, dir);
  }
}

/**
 * Writes a file so that a reader (or a crash, or kill -9 mid-write) never sees
 * it half written: a temporary file in the same folder, flushed, then renamed over.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const dir = dirname(path);
  ensureFolder(dir);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  try {
    const fd = openSync(tmp, 'w');
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw fileError(e, path);
  }
}

/** The usual file-system failures as one sentence naming the path; anything else as it is. */
export function fileError(e: unknown, path: string): Error {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOENT': return new CharrnnError(`No such file or folder: ${path}.`);
    case 'EISDIR': return new CharrnnError(`${path} is a folder, not a file.`);
    case 'EACCES':
    case 'EPERM': return new CharrnnError(`Permission denied: ${path}.`);
    case 'ENOSPC': return new CharrnnError(`No space left on the device while writing ${path}.`);
    case 'ENOTDIR': return new CharrnnError(`A part of ${path} is not a folder.`);
    case 'EEXIST': return new CharrnnError(`${path} is a file, not a folder.`);
    default: return e instanceof Error ? e : new Error(String(e));
  }
}
