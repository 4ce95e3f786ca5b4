// DIR/log.jsonl: the run's events, one JSON object a line, appended as they
// happen, so a plot or a person can follow a run that is still going.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventToJson, type RunEvent } from '../run/events.js';
import { writeFileAtomic } from './files.js';
import { LOG_FILE } from './run-folder.js';

/** Step events are logged every this many steps (and always the first, and the last before any other event). */
export const LOG_STEP_EVERY = 10;

export class RunLogWriter {
  readonly path: string;
  /** The wall time of the last event kept from before a resume (0 for a new run). */
  timeBefore = 0;
  private pendingStep: RunEvent | null = null;

  /** What the file will hold before the first new event: the lines kept from before a resume, or nothing. */
  private opening: string | null;

  /**
   * DIR/log.jsonl, for a new run or continued by a resumed one. Nothing is
   * written until the first event, so a run refused at its start leaves the
   * folder as it was. A resumed run continues the log: lines past the step it
   * resumes from (logged after its last checkpoint, and so about to be run
   * again) are dropped, as is a line cut short by a kill, so no step is repeated
   * or lost.
   */
  constructor(dir: string, resumedFromStep: number | null) {
    this.path = join(dir, LOG_FILE);
    this.opening = '';
    if (resumedFromStep !== null && existsSync(this.path)) {
      const kept = readFileSync(this.path, 'utf8')
        .split('\n')
        .filter(line => {
          try {
            const e = JSON.parse(line) as { step?: unknown; time?: unknown };
            const keep = typeof e.step === 'number' && e.step <= resumedFromStep;
            if (keep && typeof e.time === 'number') this.timeBefore = e.time;
            return keep;
          } catch {
            return false;
          }
        });
      this.opening = kept.map(l => l + '\n').join('');
    }
  }

  write(e: RunEvent): void {
    if (e.type === 'step' && e.step !== 1 && e.step % LOG_STEP_EVERY !== 0) {
      this.pendingStep = e;
      return;
    }
    // A validation, a save or the end always follows the step it happened at.
    if (e.type !== 'step' && this.pendingStep !== null && this.pendingStep.step === e.step) this.append(this.pendingStep);
    this.pendingStep = null;
    this.append(e);
  }

  private append(e: RunEvent): void {
    if (this.opening !== null) {
      writeFileAtomic(this.path, new TextEncoder().encode(this.opening));
      this.opening = null;
    }
    appendFileSync(this.path, JSON.stringify(eventToJson(e)) + '\n');
  }
}
