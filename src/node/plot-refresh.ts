// Training refreshes DIR/loss.svg and DIR/loss.png at each validation, so a
// person can watch a long run's curve without asking for it.
import type { RunEvent } from '../run/events.js';
import { writeLossPlot } from './plot-files.js';

export interface PlotRefresher {
  /** Feed every run event; a validation starts (or queues) a redraw. */
  onEvent(e: RunEvent): void;
  /** Resolves once the last queued redraw is done. */
  settle(): Promise<void>;
}

/**
 * Redraws from DIR/log.jsonl (which a resumed run continues, so the plot shows
 * the whole run) after each validation, one redraw at a time: a validation that
 * comes while one is drawing queues one more. A drawing that fails is reported
 * once through `warn` and never stops the run.
 */
export function plotRefresher(dir: string, warn: (message: string) => void): PlotRefresher {
  let drawing: Promise<void> | null = null;
  let again = false;
  let warned = false;
  const draw = (): Promise<void> =>
    writeLossPlot(dir)
      .then(
        () => undefined,
        (e: unknown) => {
          if (!warned) warn(`could not draw the loss plot (${e instanceof Error ? e.message : String(e)}); training goes on`);
          warned = true;
        },
      )
      .then(() => {
        if (again) {
          again = false;
          drawing = draw();
          return drawing;
        }
        drawing = null;
      });
  return {
    onEvent(e) {
      if (e.type !== 'validation') return;
      if (drawing) again = true;
      else drawing = draw();
    },
    async settle() {
      while (drawing) await drawing;
    },
  };
}
