// DIR/.lock: a run folder belongs to one process at a time. The file is made
// with O_EXCL (exactly one of two racing processes succeeds) and names its
// holder, so a second run is refused with who holds the folder, and a lock
// whose process is gone (kill -9, a power cut) is recognised and taken over.
import { randomUUID } from 'node:crypto';
import { closeSync, linkSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CharrnnError } from '../errors.js';
import { fileError } from './files.js';

export const LOCK_FILE = '.lock';

/** What the lock file holds (one JSON object). */
export interface LockHolder {
  pid: number;
  host: string;
  /** When the lock was taken, ISO 8601. */
  since: string;
  /** Tells this holder's lock from a later one of the same pid (pids are reused, in containers always). */
  token: string;
}

/** How long a lock file may stay empty (made, not yet written) before it counts as left by a killed process. */
const EMPTY_GRACE_MS = 2000;

export class RunLock {
  private released = false;
  private readonly onExit = (): void => this.release();

  private constructor(
    readonly path: string,
    readonly holder: LockHolder,
  ) {
    // process.exit() and a normal end run 'exit' listeners; only a kill skips them, and that lock is then stale.
    process.on('exit', this.onExit);
  }

  /**
   * Takes the lock of `dir` for this process, or refuses naming the process that
   * holds it. A stale lock (its process gone, on this machine) is taken over and
   * `note` says so.
   */
  static acquire(dir: string, note: (message: string) => void): RunLock {
    const path = join(dir, LOCK_FILE);
    const me: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), token: randomUUID() };
    for (let attempt = 0; attempt < 100; attempt++) {
      let fd: number;
      try {
        fd = openSync(path, 'wx');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw fileError(e, path);
        const found = readLock(path);
        if (found === null) continue; // released meanwhile
        const h = found.holder;
        if (h === null && found.text === '' && found.ageMs < EMPTY_GRACE_MS) {
          pause(20); // its maker is about to write it
          continue;
        }
        if (h !== null && holderIsAlive(h)) {
          const elsewhere = h.host !== me.host;
          throw new CharrnnError(
            `${dir} is in use by another run (process ${h.pid} on ${h.host}, since ${h.since}); ` +
              (elsewhere
                ? `if that run has ended, delete ${path}, else give another --out.`
                : 'wait for it to end, stop it, or give another --out.'),
          );
        }
        if (takeOver(path, found.text)) {
          note(
            h === null
              ? `took over the lock ${path}, which a killed process left unwritten`
              : `took over the lock of process ${h.pid} (since ${h.since}), which is gone: that run ended without releasing it, as after kill -9`,
          );
        }
        continue;
      }
      try {
        writeSync(fd, JSON.stringify(me) + '\n');
      } finally {
        closeSync(fd);
      }
      return new RunLock(path, me);
    }
    throw new CharrnnError(`Cannot take the lock ${path}: other processes keep taking and leaving it.`);
  }

  /** Removes the lock if it is still this one's. */
  release(): void {
    if (this.released) return;
    this.released = true;
    process.off('exit', this.onExit);
    if (readLock(this.path)?.holder?.token === this.holder.token) {
      try {
        unlinkSync(this.path);
      } catch {
        /* already gone */
      }
    }
  }
}

interface FoundLock {
  text: string;
  /** null when the file is empty or not a lock's JSON. */
  holder: LockHolder | null;
  ageMs: number;
}

/** The lock file's holder, or null when there is no lock file. */
function readLock(path: string): FoundLock | null {
  let text: string;
  let ageMs: number;
  try {
    ageMs = Date.now() - statSync(path).mtimeMs;
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw fileError(e, path);
  }
  let holder: LockHolder | null = null;
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (typeof h.pid === 'number' && typeof h.host === 'string' && typeof h.since === 'string' && typeof h.token === 'string')
      holder = h as LockHolder;
  } catch {
    /* empty or cut: left by a process killed while making it */
  }
  return { text, holder, ageMs };
}

/**
 * Whether the holder's process still runs. On another machine that cannot be
 * told, so it counts as running. Our own pid is a former holder's (pids repeat
 * across containers): this process has not taken the lock yet.
 */
function holderIsAlive(h: LockHolder): boolean {
  if (h.host !== hostname()) return true;
  return h.pid !== process.pid && processIsRunning(h.pid);
}

/** Whether a process of this pid runs on this machine. */
export function processIsRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // it runs, as another user
  }
}

/**
 * Removes a stale lock, unless another process replaced it since it was read:
 * the lock is renamed aside (only one of two racing processes gets it) and put
 * back if it is no longer the stale one. True when the stale lock was removed.
 */
function takeOver(path: string, staleText: string): boolean {
  const aside = `${path}.stale.${process.pid}.tmp`;
  try {
    renameSync(path, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false; // another process took it over first
    throw fileError(e, path);
  }
  const took = readFileSync(aside, 'utf8');
  if (took !== staleText) {
    try {
      linkSync(aside, path);
    } catch {
      /* a third process holds it now */
    }
  }
  unlinkSync(aside);
  return took === staleText;
}

function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
