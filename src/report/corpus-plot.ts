// The corpus report as a picture: the most frequent characters and the
// histogram of line lengths side by side, the warnings under the title.
import type { TopLevelSpec } from 'vega-lite';
import type { CorpusReport } from './corpus-report.js';
import { codePoint, readableChar } from './corpus-report.js';
import { thousands } from './format.js';

/** How many of the most frequent characters the bar chart shows. */
export const TOP_CHARS = 30;

/** A character's label on the chart: the description, with the code point of anything past ASCII (a font may lack its glyph). */
function chartLabel(c: string): string {
  const d = readableChar(c);
  return d.startsWith("'") && c.codePointAt(0)! > 0x7e ? `${d} ${codePoint(c)}` : d;
}

/**
 * The corpus report as a vega-lite spec: the most frequent characters and the
 * line-length histogram side by side, under a title of `source` (the text's
 * name) with the report's figures and warnings. Rendering is the caller's
 * (vega, or any vega-lite viewer).
 */
export function corpusPlotSpec(report: CorpusReport, source: string): TopLevelSpec {
  const top = report.counts.slice(0, TOP_CHARS).map((c, rank) => ({
    rank,
    label: chartLabel(c.char),
    count: c.count,
    share: report.chars ? c.count / report.chars : 0,
    // A share too small to print as a percentage is given as a count.
    note: report.chars && c.count / report.chars >= 0.001 ? `${((100 * c.count) / report.chars).toFixed(1)}%` : `×${thousands(c.count)}`,
  }));
  // Bars one character wide are centred on their length, so the tick under a bar names it.
  const shift = report.lines.histogram.length > 0 && report.lines.histogram[0].to - report.lines.histogram[0].from === 1 ? 0.5 : 0;
  const bins = report.lines.histogram.map(b => ({
    from: b.from - shift,
    to: b.to - shift,
    count: b.count,
    range: b.to - b.from === 1 ? `${b.from}${b.overflow ? '+' : ''}` : `${b.from}–${b.overflow ? '' : b.to - 1}`,
  }));
  const overflow = report.lines.histogram.find(b => b.overflow);
  // Wide bars are bins whose edges the axis marks; one-character bars get a plain scale over their extent.
  const xBins = shift
    ? { scale: { zero: false, domain: bins.length ? [bins[0].from, bins[bins.length - 1].to] : [0, 1], nice: false } }
    : { bin: { binned: true, step: bins.length ? bins[0].to - bins[0].from : 1 } };
  const l = report.lines;
  const subtitle = [
    `${thousands(report.chars)} characters, ${thousands(report.counts.length)} distinct; ${thousands(l.count)} lines (${thousands(l.empty)} empty), length ${l.min}–${thousands(l.max)}, median ${l.median}`,
    ...report.warnings.flatMap(w => wrap(`⚠ ${w}`, 150)),
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
        title: {
          text:
            report.counts.length > TOP_CHARS
              ? `The ${TOP_CHARS} most frequent of ${thousands(report.counts.length)} characters`
              : `All ${report.counts.length} characters`,
          fontSize: 13,
        },
        width: 340,
        height: { step: 16 },
        data: { values: top },
        encoding: {
          y: {
            field: 'label',
            type: 'nominal',
            sort: { field: 'rank', order: 'ascending' },
            title: null,
            axis: { ...axis, labelFontSize: 11, labelLimit: 200 },
          },
          x: { field: 'share', type: 'quantitative', title: 'share of the text', axis: { ...axis, format: '.0%', tickCount: 5 } },
        },
        layer: [
          { mark: { type: 'bar', color: '#1f77b4' } },
          {
            mark: { type: 'text', align: 'left', dx: 4, fontSize: 10, color: '#444444' },
            encoding: { text: { field: 'note', type: 'nominal' } },
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
          x: {
            field: 'from',
            type: 'quantitative',
            ...xBins,
            title: overflow ? `characters in the line (the last bar: ${thousands(overflow.from)} or more)` : 'characters in the line',
            axis: {
              ...axis,
              format: ',d',
              tickMinStep: 1,
              labelOverlap: true,
              ...(shift && bins.length <= 16 ? { values: bins.map(b => b.from + shift) } : {}),
            },
          },
          x2: { field: 'to' },
          y2: { datum: 0 },
          y: { field: 'count', type: 'quantitative', title: 'lines', axis: { ...axis, format: ',d', tickMinStep: 1 } },
          tooltip: [
            { field: 'range', title: 'length' },
            { field: 'count', title: 'lines', format: ',d' },
          ],
        },
      },
    ],
  } as TopLevelSpec;
}

/** A text broken at spaces into lines of at most `width` characters (a longer word stands alone). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}
