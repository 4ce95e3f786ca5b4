// How `charrnn train` shows a run: a live bar on a terminal, plain lines when
// stdout is a file or a pipe, one JSON object per event with --json, or only the
// final line with --quiet. Each renders the run's events; none knows training.
import cliProgress from 'cli-progress';
import wrapAnsi from 'wrap-ansi';
import { eventToJson, type ConfigEvent, type RunEvent } from '../run/events.js';
import { eventLine, formatDuration, progressLine, ProgressTracker, type Progress } from '../report/progress.js';
import type { CliIo, CliWriter } from './io.js';

export interface TrainDisplay {
  show(e: RunEvent): void;
  /** A message from the CLI itself (a signal was received). */
  notice(message: string): void;
  close(): void;
}

export interface DisplayChoice {
  json: boolean;
  quiet: boolean;
  /** A progress line every N steps; default: live on a terminal, else time-based. */
  printEvery?: number;
  /** The run's folder, named at the start and the end. */
  out: string;
}

/** Seconds between plain progress lines when stdout is not a terminal and --print-every is not given. */
const PLAIN_INTERVAL_SECONDS = 10;

export function chooseDisplay(c: DisplayChoice, io: Pick<CliIo, 'stdout' | 'stderr'>): TrainDisplay {
  const write = (s: string): void => {
    io.stdout.write(s);
  };
  const warn = (message: string): void => {
    io.stderr.write(`charrnn: ${message}\n`);
  };
  if (c.json) return jsonDisplay(write, warn, c.printEvery ?? 10);
  if (c.quiet) return quietDisplay(write, c.out);
  if (io.stdout.isTTY && c.printEvery === undefined) return liveDisplay(c.out, io.stdout);
  return plainDisplay(write, warn, c.out, c.printEvery);
}

function jsonDisplay(write: (s: string) => void, warn: (message: string) => void, every: number): TrainDisplay {
  let pending: RunEvent | null = null;
  const emit = (e: RunEvent): void => write(JSON.stringify(eventToJson(e)) + '\n');
  return {
    show(e) {
      if (e.type === 'step' && e.step !== 1 && e.step % every !== 0) {
        pending = e;
        return;
      }
      // The last step before a validation, a save or the end is always shown.
      if (e.type !== 'step' && pending !== null && pending.step === e.step) emit(pending);
      pending = null;
      emit(e);
    },
    notice: warn,
    close() {},
  };
}

function quietDisplay(write: (s: string) => void, out: string): TrainDisplay {
  return {
    show(e) {
      if (e.type === 'result') write(`${eventLine(e)}; saved in ${out}\n`);
    },
    notice() {},
    close() {},
  };
}

/** Lines for a log or a pipe: the events, and a progress line every N steps or every few seconds. */
function plainDisplay(
  write: (s: string) => void,
  warn: (message: string) => void,
  out: string,
  printEvery: number | undefined,
): TrainDisplay {
  const tracker = new ProgressTracker();
  let lastSampleStep = -1;
  let prime = '';
  let lastLineTime = -Infinity;
  let lastLineStep = -1;
  const progress = (p: Progress): void => {
    write(progressLine(p) + '\n');
    lastLineTime = p.elapsed;
    lastLineStep = p.step;
  };
  return {
    show(e) {
      const p = tracker.update(e);
      if (e.type === 'step') {
        const due = printEvery !== undefined ? e.step % printEvery === 0 : p.elapsed - lastLineTime >= PLAIN_INTERVAL_SECONDS;
        if (due || e.step === 1) progress(p);
        return;
      }
      // The final step's line, so the log shows where the run ended.
      if ((e.type === 'stopped' || e.type === 'result') && lastLineStep !== p.step && p.step > 0) progress(p);
      const line = e.type === 'config' ? `${eventLine(e)}; saving to ${out}` : eventLine(e);
      if (line !== null && e.type !== 'result') write(line + '\n');
      if (e.type === 'config') prime = finalSamplePrime(e);
      if (e.type === 'sample') lastSampleStep = e.step;
      if (e.type === 'result') {
        write(`${line}; saved in ${out}\n`);
        // The final sample, unless the same one was just shown at this step.
        if (e.sample && lastSampleStep !== e.step) write(`\nsample:\n${prime}${e.sample}\n\n`);
      }
    },
    notice: warn,
    close() {},
  };
}

/** A live bar on a terminal, with events and samples printed above it. */
function liveDisplay(out: string, terminal: CliWriter): TrainDisplay {
  const tracker = new ProgressTracker();
  const bars = new cliProgress.MultiBar(
    {
      format:
        '{bar} {percent}  step {stepText}  epoch {epoch}  loss {loss}  val {val}  best {best}  {speed} chars/s  {elapsedText} elapsed  ETA {etaText}',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      fps: 5,
      forceRedraw: true,
      autopadding: false,
      stream: terminal as NodeJS.WritableStream,
    },
    cliProgress.Presets.shades_classic,
  );
  let bar: cliProgress.SingleBar | null = null;
  let lastSampleStep = -1;
  let prime = '';
  const payload = (p: Progress): Record<string, string> => ({
    percent: `${Math.floor(p.fraction * 100)}%`.padStart(4),
    stepText: `${p.step}${p.totalSteps !== null ? `/${p.totalSteps}` : ''}`,
    epoch: p.epoch.toFixed(2),
    loss: p.smoothLoss === null ? '-' : p.smoothLoss.toFixed(4),
    val: p.valLoss === null ? '-' : p.valLoss.toFixed(4),
    best: p.bestValLoss === null ? '-' : p.bestValLoss.toFixed(4),
    speed: Math.round(p.charsPerSecond).toLocaleString('en'),
    // Not cli-progress's own {eta} and {duration}: those count bar units, not the run's limits.
    elapsedText: formatDuration(p.elapsed),
    etaText: p.eta === null ? '-' : formatDuration(p.eta),
  });
  // cli-progress turns the terminal's line wrapping off while the bar runs (so that redrawing the bar
  // never scrolls), which would cut every longer line at the edge: the recipe's line, samples. So the
  // lines printed above the bar are wrapped here, as the terminal would have wrapped them.
  const log = (text: string): void => {
    const body = text.endsWith('\n') ? text.slice(0, -1) : text;
    const columns = terminal.columns || 80;
    bars.log(wrapAnsi(body, columns, { hard: true, wordWrap: false, trim: false }) + '\n');
  };
  let stopped = false;
  // The lines logged since the last redraw are flushed by one more redraw before the bar stops for good.
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    bars.update();
    bars.stop();
  };
  return {
    show(e) {
      const p = tracker.update(e);
      if (e.type === 'config') {
        prime = finalSamplePrime(e);
        log(`${eventLine(e)}; saving to ${out}`);
        bar = bars.create(1000, Math.round(p.fraction * 1000), payload(p));
        return;
      }
      bar?.update(Math.round(p.fraction * 1000), payload(p));
      if (e.type === 'step') return;
      if (e.type === 'result') {
        stop();
        terminal.write(`${eventLine(e)}; saved in ${out}\n`);
        if (e.sample && lastSampleStep !== e.step) terminal.write(`\nsample:\n${prime}${e.sample}\n\n`);
        return;
      }
      if (e.type === 'sample') lastSampleStep = e.step;
      const line = eventLine(e);
      if (line !== null) log(line);
    },
    notice: message => log(`charrnn: ${message}`),
    close: stop,
  };
}

/** What the final sample is printed after: the prime it continues (a line model's lines hold it already). */
function finalSamplePrime(e: ConfigEvent): string {
  return e.corpus.lines ? '' : String(e.settings.samplePrime ?? '');
}
