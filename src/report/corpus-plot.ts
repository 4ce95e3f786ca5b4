// The corpus report as a picture: the most frequent characters and the
// histogram of line lengths side by side, the warnings under the title.
import type { TopLevelSpec } from 'vega-lite';
import type { CorpusReport } from './corpus.js';
import { codePoint, describeChar } from './corpus.js';
import { thousands } from './format.js';

/** How many of the most frequent characters the bar chart shows. */
export const TOP_CHARS = 30;

/** A character's label on the chart: the description, with the code point of anything past ASCII (a font may lack its glyph). */
function chartLabel(c: string): string {
  const d = describeChar(c);
  return d.startsWith("'") && c.codePointAt(0)! > 0x7e ? `${d} ${codePoint(c)}` : d;
}

export function corpusPlotSpec(report: CorpusReport, source: string): TopLevelSpec {
  const top = report.counts.slice(0, TOP_CHARS).map((c, rank) => ({
    rank, label: chartLabel(c.char), count: c.count, share: report.chars ? c.count / report.chars : 0,
  }));
  const bins = report.lines.histogram.map(b => ({
    from: b.from, to: b.to, count: b.count,
    range: b.to - b.from === 1 ? `${b.from}${b.overflow ? '+' : ''}` : `${b.from}–${b.overflow ? '' : b.to - 1}`,
  }));
  const overflow = report.lines.histogram.find(b => b.overflow);
  const l = report.lines;
  const subtitle = [
    `${thousands(report.chars)} characters, ${thousands(report.counts.length)} distinct; ${thousands(l.count)} lines (${thousands(l.empty)} empty), length ${l.min}–${thousands(l.max)}, median ${l.median}`,
    ...report.warnings.map(w => `⚠ ${shorten(w, 150)}`),
  ];
  const axis = { labelFontSize: 12, titleFontSize: 13 };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: source, subtitle, fontSize: 16, subtitleFontSize: 12, anchor: 'start', subtitlePadding: 6, offset: 14 },
    background: 'white',
    padding: 12,
    config: { font: 'DejaVu Sans, sans-serif', view: { stroke: null } },
    spacing: 40,
    hconcat: [
      {
        title: { text: report.counts.length > TOP_CHARS ? `The ${TOP_CHARS} most frequent of ${thousands(report.counts.length)} characters` : `All ${report.counts.length} characters`, fontSize: 13 },
        width: 340,
        height: { step: 16 },
        data: { values: top },
        encoding: {
          y: { field: 'label', type: 'nominal', sort: { field: 'rank', order: 'ascending' }, title: null, axis: { ...axis, labelFontSize: 11, labelLimit: 200 } },
          x: { field: 'share', type: 'quantitative', title: 'share of the text', axis: { ...axis, format: '.0%' } },
        },
        layer: [
          { mark: { type: 'bar', color: '#1f77b4' } },
          {
            mark: { type: 'text', align: 'left', dx: 4, fontSize: 10, color: '#444444' },
            encoding: { text: { field: 'share', type: 'quantitative', format: '.1%' } },
          },
        ],
      },
      {
        title: { text: `Line lengths (${thousands(l.count - l.empty)} non-empty lines)`, fontSize: 13 },
        width: 440,
        height: Math.max(240, 16 * top.length),
        data: { values: bins },
        mark: { type: 'bar', color: '#e6550d', stroke: 'white', strokeWidth: 0.5 },
        encoding: {
          x: { field: 'from', type: 'quantitative', bin: { binned: true, step: bins.length ? bins[0].to - bins[0].from : 1 }, title: overflow ? `characters in the line (the last bar: ${thousands(overflow.from)} or more)` : 'characters in the line', axis: { ...axis, format: ',d', tickMinStep: 1 } },
          x2: { field: 'to' },
          y: { field: 'count', type: 'quantitative', title: 'lines', axis: { ...axis, format: ',d', tickMinStep: 1 } },
          tooltip: [{ field: 'range', title: 'length' }, { field: 'count', title: 'lines', format: ',d' }],
        },
      },
    ],
  } as TopLevelSpec;
}

function shorten(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}
