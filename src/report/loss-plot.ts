// The loss plot of a run as a vega-lite spec, built from its events alone, so
// that `charrnn plot`, the refresh during training and a browser page's live
// chart all draw the same picture. Platform-neutral: no rendering here.
import type { TopLevelSpec } from 'vega-lite';
import type { ConfigEvent, RunEvent } from '../run/events.js';
import { duration, thousands } from './format.js';
import { runHistory } from './log.js';

/** One point of a loss curve. */
export interface LossPoint {
  /** The optimizer step. */
  step: number;
  /** Nats per character. */
  loss: number;
}

/** One training step of the loss plot: its loss and the smoothed loss there. */
export interface TrainingPoint extends LossPoint {
  /** The smoothed training loss at this step, nats per character. */
  smoothLoss: number;
}

/** What the loss plot shows, taken from a run's events. */
export interface LossPlotData {
  /** The model and corpus, for example "LSTM 2×256 on tiny-shakespeare" ("Training loss" without a config event). */
  title: string;
  /** The best validation loss and where the run stands, one line. */
  subtitle: string;
  /** Training steps with a finite loss, thinned to at most `maxPoints` (the last one kept). */
  training: TrainingPoint[];
  /** Every validation, in step order. */
  validation: LossPoint[];
  /** The lowest validation loss (the first of equals), or null without validation. */
  best: LossPoint | null;
}

/** Series names, as the legend shows them. */
export const SERIES = { raw: 'training (per step)', smooth: 'training (smoothed)', validation: 'validation' } as const;

/**
 * The plot's data from a run's events (a resumed run's replaced steps dropped,
 * see runHistory). `maxPoints` bounds the training points drawn: a long run
 * logs a step event per step, and a plot does not need 100,000 of them.
 */
export function lossPlotData(events: readonly RunEvent[], maxPoints = 2000): LossPlotData {
  const history = runHistory(events);
  const training: TrainingPoint[] = [];
  const validation: LossPoint[] = [];
  let config: ConfigEvent | null = null;
  let best: LossPoint | null = null;
  for (const e of history) {
    if (e.type === 'config') config = e;
    else if (e.type === 'step' && isFiniteNumber(e.loss) && isFiniteNumber(e.smoothLoss)) {
      training.push({ step: e.step, loss: e.loss, smoothLoss: e.smoothLoss });
    } else if (e.type === 'validation' && isFiniteNumber(e.loss)) {
      validation.push({ step: e.step, loss: e.loss });
      if (best === null || e.loss < best.loss) best = { step: e.step, loss: e.loss };
    }
  }
  const last = history[history.length - 1];
  // A result after the last start: this process has ended, so no validation is
  // coming (the text had none to spare); during training one may still come.
  let finished = false;
  for (const e of history) if (e.type === 'result' || e.type === 'config') finished = e.type === 'result';
  return {
    title: config
      ? `${config.model.cell.toUpperCase()} ${config.model.layers}×${config.model.hidden} on ${config.corpus.source}`
      : 'Training loss',
    subtitle: [
      best
        ? `best validation ${best.loss.toFixed(4)} nats/char at step ${thousands(best.step)}`
        : finished
          ? 'no validation'
          : 'no validation yet',
      last ? `${thousands(last.step)} ${last.step === 1 ? 'step' : 'steps'}, ${last.epoch.toFixed(2)} epochs, ${duration(last.time)}` : '',
    ]
      .filter(s => s !== '')
      .join(' · '),
    training: thin(training, maxPoints),
    validation,
    best,
  };
}

/** The size of a plot's drawing area, in CSS pixels (vega-lite's width and height). */
export interface PlotSize {
  width: number;
  height: number;
}

/**
 * Training loss (the smoothed curve over the faint per-step one) and validation
 * loss against steps, the best validation point marked and labelled.
 */
export function lossPlotSpec(data: LossPlotData, size: PlotSize = { width: 720, height: 400 }): TopLevelSpec {
  const series = (name: string, points: readonly LossPoint[]) => points.map(p => ({ step: p.step, loss: p.loss, series: name }));
  const color = {
    field: 'series',
    type: 'nominal' as const,
    scale: { domain: [SERIES.raw, SERIES.smooth, SERIES.validation], range: ['#9ecae9', '#1f77b4', '#e6550d'] },
    legend: {
      title: null,
      orient: 'top' as const,
      direction: 'horizontal' as const,
      labelFontSize: 12,
      symbolStrokeWidth: 3,
      symbolType: 'stroke',
    },
  };
  // Steps are whole: without a minimum tick step a run of a few steps gets ticks at 0.05 printed as `0 0 0 … 1 1 1`.
  const x = {
    field: 'step',
    type: 'quantitative' as const,
    title: 'step',
    scale: { domainMin: 0 },
    axis: { format: ',d', tickMinStep: 1, labelFontSize: 12, titleFontSize: 13 },
  };
  const y = {
    field: 'loss',
    type: 'quantitative' as const,
    title: 'loss (nats/char)',
    ...lossAxis(data, { labelFontSize: 12, titleFontSize: 13 }),
  };
  const maxStep = Math.max(0, ...data.training.map(p => p.step), ...data.validation.map(p => p.step));
  // A line through one point draws nothing: a short run's steps are marked, a long run's would be a smear.
  const stepPoints = data.training.length <= MARKED_STEPS;
  const layers: unknown[] = [
    {
      data: { values: series(SERIES.raw, data.training) },
      mark: { type: 'line', strokeWidth: 1, opacity: 0.8, ...(stepPoints ? { point: { filled: true, size: 16 } } : {}) },
      encoding: { x, y, color },
    },
    {
      data: {
        values: series(
          SERIES.smooth,
          data.training.map(p => ({ step: p.step, loss: p.smoothLoss })),
        ),
      },
      mark: { type: 'line', strokeWidth: 2, ...(stepPoints ? { point: { filled: true, size: 36 } } : {}) },
      encoding: { x, y, color },
    },
    {
      data: { values: series(SERIES.validation, data.validation) },
      mark: { type: 'line', strokeWidth: 2, point: { filled: true, size: 36 } },
      encoding: { x, y, color },
    },
  ];
  if (data.best) {
    const b = data.best;
    // The best point is circled, with a dashed rule up to a label at the top of
    // the plot, where no curve runs once training is under way (the legend sits
    // above the plot). The label runs leftwards from a point in the right part.
    const rightward = maxStep === 0 || b.step < 0.6 * maxStep;
    const label = `best validation ${b.loss.toFixed(4)} at step ${thousands(b.step)}`;
    layers.push(
      { data: { values: [b] }, mark: { type: 'rule', strokeDash: [4, 4], color: '#555555' }, encoding: { x, y, y2: { value: 0 } } },
      {
        data: { values: [b] },
        mark: { type: 'point', shape: 'circle', size: 220, strokeWidth: 2.5, color: '#000000', filled: false, opacity: 1 },
        encoding: { x, y },
      },
      {
        data: { values: [{ ...b, label }] },
        mark: {
          type: 'text',
          align: rightward ? 'left' : 'right',
          baseline: 'top',
          dx: rightward ? 6 : -6,
          dy: 4,
          fontSize: 13,
          fontWeight: 'bold',
        },
        encoding: { x, y: { value: 0 }, text: { field: 'label', type: 'nominal' } },
      },
    );
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: data.title, subtitle: data.subtitle, fontSize: 16, subtitleFontSize: 12, anchor: 'start' },
    width: size.width,
    height: size.height,
    background: 'white',
    padding: 12,
    config: { font: 'DejaVu Sans, sans-serif' },
    layer: layers,
  } as TopLevelSpec;
}

/** Runs of at most this many plotted steps get a point on each step. */
export const MARKED_STEPS = 50;

/** The smallest span of losses the y axis shows, in nats per character. */
export const MIN_LOSS_SPAN = 0.2;

/**
 * The loss axis's scale and axis: fitted to the data, except that losses (nearly)
 * all equal, as after one step, get a span of MIN_LOSS_SPAN around their middle
 * and a few ticks; otherwise the axis has one tick printed to every digit.
 */
function lossAxis(data: LossPlotData, axis: Record<string, unknown>): { scale: Record<string, unknown>; axis: Record<string, unknown> } {
  const losses = [...data.training.flatMap(p => [p.loss, p.smoothLoss]), ...data.validation.map(p => p.loss)];
  const low = Math.min(...losses),
    high = Math.max(...losses);
  if (losses.length === 0 || high - low >= MIN_LOSS_SPAN / 4) return { scale: { zero: false }, axis };
  const middle = (low + high) / 2;
  return {
    // Ends on multiples of 0.05, where vega's ticks fall (its `nice` moves only one end of a set domain).
    scale: {
      zero: false,
      domain: [Math.max(0, Math.floor(20 * (middle - MIN_LOSS_SPAN / 2)) / 20), Math.ceil(20 * (middle + MIN_LOSS_SPAN / 2)) / 20],
    },
    axis: { ...axis, tickCount: 5 },
  };
}

function thin<T>(points: readonly T[], maxPoints: number): T[] {
  if (points.length <= maxPoints) return [...points];
  const stride = Math.ceil(points.length / maxPoints);
  const out = points.filter((_, i) => i % stride === 0);
  if ((points.length - 1) % stride !== 0) out.push(points[points.length - 1]);
  return out;
}

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
