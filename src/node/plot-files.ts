// DIR/loss.svg and DIR/loss.png from DIR/log.jsonl: what `charrnn plot` does and
// what training repeats at each validation.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { CharrnnError } from '../errors.js';
import type { RunEvent } from '../run/events.js';
import { parseRunLog } from '../report/log.js';
import { lossPlotData, lossPlotSpec } from '../report/loss-plot.js';
import { readBytes, writeFileAtomic } from './files.js';
import { renderSvg, svgToPng } from './render.js';
import { LOSS_PLOT_FILES } from './run-folder.js';

/** The paths {@link writeLossPlot} wrote. */
export interface LossPlotFiles {
  /** DIR/loss.svg. */
  svg: string;
  /** DIR/loss.png. */
  png: string;
}

/** The events of DIR/log.jsonl; a folder without a log, or a log without events, is one sentence. */
export function readRunLog(dir: string): RunEvent[] {
  const path = join(dir, 'log.jsonl');
  let isFile = false;
  try {
    isFile = statSync(dir).isFile();
  } catch {
    /* readBytes says what is wrong */
  }
  if (isFile) throw new CharrnnError(`${dir} is a file, not a run folder: give the --out folder of a charrnn train run.`);
  let bytes: Uint8Array;
  try {
    bytes = readBytes(path);
  } catch (e) {
    if (e instanceof CharrnnError && /^No such file/.test(e.message)) {
      throw new CharrnnError(`${dir} has no log.jsonl: give the --out folder of a charrnn train run.`);
    }
    throw e;
  }
  // Not strict: a log cut inside a multi-byte character by kill -9 still has its whole lines.
  const { events } = parseRunLog(new TextDecoder('utf-8').decode(bytes));
  return events;
}

/**
 * Draws the loss plot of the run in `dir` to DIR/loss.svg and DIR/loss.png, each
 * written atomically (a viewer never sees half a file). `events`, when given, is
 * used instead of reading DIR/log.jsonl again (a training run has them already).
 */
export async function writeLossPlot(dir: string, events?: readonly RunEvent[]): Promise<LossPlotFiles> {
  const data = lossPlotData(events ?? readRunLog(dir));
  if (data.training.length === 0 && data.validation.length === 0) {
    throw new CharrnnError(`${join(dir, 'log.jsonl')} has no training steps or validations to plot.`);
  }
  const svg = await renderSvg(lossPlotSpec(data));
  const png = await svgToPng(svg);
  const files = { svg: join(dir, LOSS_PLOT_FILES[0]), png: join(dir, LOSS_PLOT_FILES[1]) };
  writeFileAtomic(files.svg, new TextEncoder().encode(svg));
  writeFileAtomic(files.png, png);
  return files;
}
