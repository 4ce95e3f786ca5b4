// An explanation's charts as vega-lite specs, so that the HTML report (drawn
// to SVG in Node), its PNG summary and the page's Inside view (drawn by
// vega-embed) show the same pictures: the gate-saturation plot of Karpathy,
// Johnson and Fei-Fei (2015) and the histogram of surprise. Platform-neutral:
// no rendering here.
import type { TopLevelSpec } from 'vega-lite';
import type { Explanation } from '../explain/explanation.js';
import { wrap } from './corpus-plot.js';
import { SURPRISE_MAX, surpriseColor } from './explain-scales.js';
import { gateName, gateOrder, modelWords, signedR, unitLabel } from './explain-reading.js';
import { thousands } from './format.js';
import type { PlotSize } from './loss-plot.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const FONT = { font: 'DejaVu Sans, sans-serif' };
const AXIS = { labelFontSize: 11, titleFontSize: 12 };
/** Colours of layers 0, 1, 2, ... in the saturation plot (Tableau 10). */
const LAYER_COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7'];

/** A chart without its top-level fields (schema, background, config), to stand alone or inside a concat. */
type ChartPart = Record<string, unknown>;

/**
 * The saturation plot's part: one panel per gate, a point per unit at
 * (fraction of characters where the gate is above 0.9, fraction where it is
 * below 0.1), coloured by layer. A model without gates (a tanh RNN) gets a
 * sentence instead.
 */
function saturationPart(e: Explanation, size: PlotSize): ChartPart {
  const cell = e.model.cell;
  if (e.saturation.length === 0) {
    return {
      width: size.width,
      height: 40,
      title: { text: 'Gate saturation', fontSize: 13, anchor: 'start' },
      data: { values: [{ text: `A ${cell === 'rnn' ? 'tanh RNN' : cell.toUpperCase()} has no gates: nothing saturates.` }] },
      mark: { type: 'text', align: 'left', x: 0, y: 20, fontSize: 12, color: '#444444' },
      encoding: { text: { field: 'text', type: 'nominal' } },
    };
  }
  const layers = [...new Set(e.saturation.map(s => s.layer))].sort((a, b) => a - b).map(l => `layer ${l}`);
  const values = e.saturation.map(s => ({
    gate: gateName(cell, s.gate),
    layer: `layer ${s.layer}`,
    unit: `L${s.layer} unit ${s.unit}`,
    left: s.left,
    right: s.right,
  }));
  const gates = [...gateOrder(cell), ...new Set(values.map(v => v.gate))].filter((g, i, all) => all.indexOf(g) === i);
  const unit = { type: 'quantitative' as const, scale: { domain: [0, 1], nice: false }, axis: { ...AXIS, format: '.0%', tickCount: 5 } };
  return {
    title: {
      text: 'Gate saturation',
      subtitle: ['a point per unit: the share of characters where its gate', 'is right-saturated (open) and left-saturated (shut)'],
      fontSize: 13,
      subtitleFontSize: 11,
      anchor: 'start',
    },
    data: { values },
    facet: {
      column: {
        field: 'gate',
        type: 'nominal',
        sort: gates.filter(g => values.some(v => v.gate === g)),
        title: null,
        header: { labelFontSize: 12, labelFontWeight: 'bold' },
      },
    },
    spacing: 16,
    spec: {
      width: size.width,
      height: size.height,
      mark: { type: 'point', filled: true, size: 28, opacity: 0.65 },
      encoding: {
        x: { field: 'right', title: 'open: > 0.9', ...unit },
        y: { field: 'left', title: 'shut: < 0.1', ...unit },
        color: {
          field: 'layer',
          type: 'nominal',
          scale: { domain: layers, range: LAYER_COLORS },
          legend: layers.length > 1 ? { title: null, orient: 'top', direction: 'horizontal', labelFontSize: 11 } : null,
        },
        tooltip: [
          { field: 'unit', title: 'unit' },
          { field: 'gate', title: 'gate' },
          { field: 'right', title: 'open (> 0.9)', format: '.1%' },
          { field: 'left', title: 'shut (< 0.1)', format: '.1%' },
        ],
      },
    },
  };
}

/** The histogram's part: characters by surprise, each bar in the text's colour for its middle, the mean marked. */
function histogramPart(e: Explanation, size: PlotSize): ChartPart {
  const { width: w } = e.histogram;
  // The empty tail is left out: the axis ends a bin after the last character.
  let last = e.histogram.counts.length - 1;
  while (last >= 0 && e.histogram.counts[last] === 0) last--;
  const counts = e.histogram.counts.slice(0, Math.max(1, last + 2));
  const bins = counts.map((count, i) => ({
    from: i * w,
    to: (i + 1) * w,
    count,
    color: surpriseColor(Math.min(SURPRISE_MAX, (i + 0.5) * w)),
    range: `${(i * w).toFixed(2)}–${((i + 1) * w).toFixed(2)} nats`,
  }));
  const mean = [{ x: e.natsPerChar, label: `mean ${e.natsPerChar.toFixed(3)} nats/char` }];
  const x = {
    type: 'quantitative' as const,
    title: 'surprise (nats): −ln p of the character that came',
    axis: { ...AXIS, tickMinStep: 1, format: 'd' },
  };
  return {
    title: {
      text: 'Surprise',
      subtitle: `${thousands(e.predicted)} characters predicted`,
      fontSize: 13,
      subtitleFontSize: 11,
      anchor: 'start',
    },
    width: size.width,
    height: size.height,
    layer: [
      {
        data: { values: bins },
        mark: { type: 'bar', stroke: '#888888', strokeWidth: 0.5 },
        encoding: {
          x: { field: 'from', ...x, scale: { domainMin: 0, nice: false } },
          x2: { field: 'to' },
          y2: { datum: 0 },
          y: { field: 'count', type: 'quantitative', title: 'characters', axis: { ...AXIS, format: ',d', tickMinStep: 1 } },
          color: { field: 'color', type: 'nominal', scale: null, legend: null },
          tooltip: [
            { field: 'range', title: 'surprise' },
            { field: 'count', title: 'characters', format: ',d' },
          ],
        },
      },
      {
        data: { values: mean },
        mark: { type: 'rule', strokeDash: [4, 3], color: '#333333', strokeWidth: 1.5 },
        encoding: { x: { field: 'x', type: 'quantitative' } },
      },
      {
        data: { values: mean },
        mark: { type: 'text', align: 'left', baseline: 'top', dx: 4, dy: 2, fontSize: 11, color: '#333333' },
        encoding: { x: { field: 'x', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label', type: 'nominal' } },
      },
    ],
  };
}

/** A part as a chart of its own. */
function standalone(part: ChartPart): TopLevelSpec {
  return { $schema: SCHEMA, background: 'white', padding: 8, config: { ...FONT, view: { stroke: '#dddddd' } }, ...part } as TopLevelSpec;
}

/** The gate-saturation plot: a panel per gate, a point per unit, coloured by layer ({@link Explanation.saturation}). */
export function saturationPlotSpec(e: Explanation, size: PlotSize = { width: 130, height: 130 }): TopLevelSpec {
  return standalone(saturationPart(e, size));
}

/** The histogram of surprise over the predicted characters, its mean marked ({@link Explanation.histogram}). */
export function surpriseHistogramSpec(e: Explanation, size: PlotSize = { width: 300, height: 150 }): TopLevelSpec {
  return standalone(histogramPart(e, size));
}

/**
 * The PNG summary: the headline numbers (nats per character, the strongest unit
 * of each feature) over the saturation plot and the histogram side by side.
 * `source` names the text (a file's name).
 */
export function explainSummarySpec(e: Explanation, source: string): TopLevelSpec {
  const features = e.features.filter(f => f.units.length > 0).map(f => `${f.name}: ${unitLabel(f.units[0])} (r ${signedR(f.units[0].r)})`);
  const subtitle = [
    `${e.natsPerChar.toFixed(4)} nats/char (${(e.natsPerChar / Math.LN2).toFixed(3)} bits) over ${thousands(e.predicted)} predicted of ${thousands(e.chars)} characters` +
      (e.unknown > 0 ? `; ${thousands(e.unknown)} unknown to the model` : ''),
    ...wrap(`Strongest unit per feature — ${features.length > 0 ? features.join(' · ') : 'none'}`, 130),
  ];
  return standalone({
    title: {
      text: `Inside ${modelWords(e.model)}, reading ${source}`,
      subtitle,
      fontSize: 16,
      subtitleFontSize: 12,
      anchor: 'start',
      subtitlePadding: 6,
      offset: 14,
    },
    padding: 14,
    spacing: 36,
    hconcat: [saturationPart(e, { width: 170, height: 170 }), histogramPart(e, { width: 380, height: 170 })],
  });
}
