// What a person watching a run wants to know, folded from its events: where it
// is, how the losses go, how fast, and how long is left. Every text display (the
// terminal bar, plain lines in a log, the page) renders from this. Platform-neutral.
import type { ConfigEvent, RunEvent } from '../run/events.js';

/**
 * Where a run stands, as a display shows it: what {@link ProgressTracker}
 * folds from the run's events. Losses are in nats per character.
 */
export interface Progress {
  /** Optimizer steps taken so far (counting those of the runs this one resumes). */
  step: number;
  /** The step the run stops at, when known. */
  totalSteps: number | null;
  /** Passes over the training text so far, fractional. */
  epoch: number;
  /** The smoothed training loss, or null before the first step. */
  smoothLoss: number | null;
  /** The latest validation loss, or null before the first validation. */
  valLoss: number | null;
  /** The lowest validation loss so far, or null before the first validation. */
  bestValLoss: number | null;
  /** Training characters per second so far in this process, the warm-up steps excluded; 0 before the first step. */
  charsPerSecond: number;
  /** Seconds since this invocation started. */
  elapsed: number;
  /** Seconds left by the nearest limit, when one can be estimated. */
  eta: number | null;
  /** Share of the run done, 0 to 1, by the nearest limit. */
  fraction: number;
}

/** Folds run events into a Progress. */
export class ProgressTracker {
  private config: ConfigEvent | null = null;
  private startTime = 0;
  private startStep = 0;
  readonly progress: Progress = {
    step: 0,
    totalSteps: null,
    epoch: 0,
    smoothLoss: null,
    valLoss: null,
    bestValLoss: null,
    charsPerSecond: 0,
    elapsed: 0,
    eta: null,
    fraction: 0,
  };

  /**
   * Takes the run's next event and returns the progress after it: the same
   * object each time, updated in place.
   */
  update(e: RunEvent): Progress {
    const p = this.progress;
    if (e.type === 'config') {
      this.config = e;
      this.startTime = e.time;
      this.startStep = e.step;
      p.totalSteps = e.totalSteps;
    }
    p.step = e.step;
    p.epoch = e.epoch;
    p.elapsed = e.time - this.startTime;
    if (e.type === 'step') {
      p.smoothLoss = e.smoothLoss;
      p.charsPerSecond = e.charsPerSecond;
    } else if (e.type === 'validation') {
      p.valLoss = e.loss;
      p.bestValLoss = e.bestLoss;
    }
    this.estimate();
    return p;
  }

  /** The nearest of the step limit (at the speed so far) and the time budget. */
  private estimate(): void {
    const p = this.progress;
    const budget = this.config?.budgetSeconds ?? null;
    let eta: number | null = null;
    let fraction = 0;
    if (p.totalSteps !== null && p.totalSteps > 0) {
      fraction = p.step / p.totalSteps;
      const done = p.step - this.startStep;
      if (done > 0 && p.elapsed > 0) eta = ((p.totalSteps - p.step) * p.elapsed) / done;
    }
    if (budget !== null) {
      const left = Math.max(0, budget - p.elapsed);
      if (eta === null || left < eta) {
        eta = left;
        fraction = Math.min(1, p.elapsed / budget);
      }
    }
    p.eta = eta;
    p.fraction = Math.max(0, Math.min(1, fraction));
  }
}

/** 75 -> "1:15", 3725 -> "1:02:05". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

const loss = (v: number | null): string => (v === null ? '-' : v.toFixed(4));

/** One plain progress line: for logs, pipes and CI, where a live bar cannot be drawn. */
export function progressLine(p: Progress): string {
  const parts = [
    `step ${p.step}${p.totalSteps !== null ? `/${p.totalSteps}` : ''}`,
    `epoch ${p.epoch.toFixed(2)}`,
    `loss ${loss(p.smoothLoss)}`,
  ];
  if (p.valLoss !== null) parts.push(`val ${loss(p.valLoss)} (best ${loss(p.bestValLoss)})`);
  parts.push(`${Math.round(p.charsPerSecond).toLocaleString('en')} chars/s`, `${formatDuration(p.elapsed)} elapsed`);
  if (p.eta !== null) parts.push(`ETA ${formatDuration(p.eta)}`);
  return parts.join('  ');
}

/** The lines a person reads for the events that are not progress ticks (null: nothing to say). */
export function eventLine(e: RunEvent): string | null {
  switch (e.type) {
    case 'config': {
      const m = e.model;
      const what = `a ${m.layers}x${m.hidden} ${m.cell.toUpperCase()} (${e.params.toLocaleString('en')} parameters)`;
      if (e.resumed) return `resuming ${what} at step ${e.step}${e.totalSteps !== null ? ` of ${e.totalSteps}` : ''}, ${e.backend} backend`;
      const limits = [
        e.totalSteps !== null ? `step ${e.totalSteps.toLocaleString('en')}` : null,
        e.budgetSeconds !== null ? `${formatDuration(e.budgetSeconds)} of wall time` : null,
      ].filter(l => l !== null);
      return (
        `training ${what} on ${e.corpus.source}: ${e.corpus.chars.toLocaleString('en')} characters, ${e.corpus.vocab} distinct, ` +
        `${e.backend} backend; stops at ${limits.join(' or ')}${limits.length > 1 ? ', whichever comes first' : ''}`
      );
    }
    case 'validation':
      return (
        `step ${e.step}  validation loss ${e.loss.toFixed(4)} nats/char (${(e.loss / Math.LN2).toFixed(3)} bits)` +
        (e.best ? '  best so far' : `  (best ${e.bestLoss.toFixed(4)}, ${e.sinceBest} without a new best)`)
      );
    case 'sample':
      return `--- sample at step ${e.step} (temperature ${e.temperature}) ---\n${e.lines ? '' : e.prime}${e.text}\n---`;
    case 'stopped':
      return `stopping at step ${e.step}: ${e.message}`;
    case 'note':
      return `note: ${e.message}`;
    case 'result':
      return (
        `${e.reason === 'signal' ? 'stopped' : 'done'} at step ${e.step} after ${e.stepsThisRun} steps ` +
        `(${formatDuration(e.time)} in all, ${Math.round(e.charsPerSecond).toLocaleString('en')} chars/s)` +
        (e.bestValLoss !== null ? `; best validation loss ${e.bestValLoss.toFixed(4)}` : '')
      );
    default:
      return null;
  }
}
