import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { dirname, basename, join, resolve } from 'node:path';
import { CharrnnError } from '../errors.js';

/** Reads a whole file, turning the usual failures into one sentence. */
export function readBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw fileError(e, path);
  }
}

/**
 * Makes a folder (and its missing parents) to write into, turning the usual
 * failures into one sentence. One level at a time, not Node's recursive mkdir:
 * that loops forever under /proc, where mkdir says ENOENT for a parent that exists.
 */
export function ensureFolder(dir: string): void {
  const missing: string[] = [];
  for (let p = resolve(dir); ; p = dirname(p)) {
    let isFolder: boolean;
    try {
      isFolder = statSync(p).isDirectory();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(p) === p) throw fileError(e, dir);
      missing.push(p);
      continue;
    }
    if (!isFolder) throw new CharrnnError(missing.length === 0 ? `${dir} is a file, not a folder.` : `A part of ${dir} is not a folder.`);
    break;
  }
  for (const p of missing.reverse()) {
    try {
      mkdirSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && statSync(p).isDirectory()) continue; // another process made it meanwhile
      if (code === 'ENOENT') throw new CharrnnError(`Cannot make the folder ${dir}: ${dirname(p)} cannot hold new files or folders.`);
      throw fileError(e, dir);
    }
  }
}

/**
 * Checks that files can be created, written and renamed in `dir` (what every
 * save does) by doing it once with a small file, so that a folder that cannot
 * hold a run is said before the first step rather than at the first save.
 */
export function checkWritable(dir: string): void {
  const probe = join(dir, `.write-test.${process.pid}.tmp`);
  const renamed = join(dir, `.write-test-renamed.${process.pid}.tmp`);
  try {
    const fd = openSync(probe, 'w');
    try {
      writeSync(fd, 'charrnn write test\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(probe, renamed);
    unlinkSync(renamed);
  } catch (e) {
    for (const f of [probe, renamed])
      try {
        unlinkSync(f);
      } catch {
        /* not there */
      }
    const code = (e as NodeJS.ErrnoException).code;
    switch (code) {
      case 'EACCES':
      case 'EPERM':
        throw new CharrnnError(`Permission denied: files cannot be written in ${dir}.`);
      case 'EROFS':
        throw new CharrnnError(`${dir} is on a read-only file system.`);
      case 'ENOSPC':
        throw new CharrnnError(`No space left on the device of ${dir}.`);
      default:
        throw new CharrnnError(`${dir} cannot hold files: writing a test file there failed (${code ?? String(e)}).`);
    }
  }
}

/**
 * Writes a file so that a reader (or a crash, or kill -9 mid-write) never sees
 * it half written: a temporary file in the same folder, flushed, then renamed over.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const dir = dirname(path);
  ensureFolder(dir);
  // The temporary file's name ends in .PID.tmp: what a run's folder clears of a killed process's saves (run-folder.ts).
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
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw fileError(e, path);
  }
}

/** The usual file-system failures as one sentence naming the path; anything else as it is. */
export function fileError(e: unknown, path: string): Error {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOENT':
      return new CharrnnError(`No such file or folder: ${path}.`);
    case 'EISDIR':
      return new CharrnnError(`${path} is a folder, not a file.`);
    case 'EACCES':
    case 'EPERM':
      return new CharrnnError(`Permission denied: ${path}.`);
    case 'EROFS':
      return new CharrnnError(`${path} is on a read-only file system.`);
    case 'ENOSPC':
      return new CharrnnError(`No space left on the device while writing ${path}.`);
    case 'ENOTDIR':
      return new CharrnnError(`A part of ${path} is not a folder.`);
    case 'EEXIST':
      return new CharrnnError(`${path} is a file, not a folder.`);
    default:
      return e instanceof Error ? e : new Error(String(e));
  }
}
