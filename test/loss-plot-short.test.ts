// The loss plot of runs too short for vega's defaults (issue 18, item 15): one
// step and five steps. The spec is checked for what it asks of vega, and the
// drawn SVG for what a reader sees: the axes' labels and the subtitle.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RunEvent } from '../src/run/events.js';
import { parseRunLog } from '../src/report/log.js';
import { lossPlotData, lossPlotSpec, MIN_LOSS_SPAN } from '../src/report/loss-plot.js';
import { renderSvg } from '../src/node/render.js';
import { CONFIG, syntheticRun, toLog } from './report-fixtures.js';

interface Encoding {
  field: string;
  scale: { domain?: [number, number] };
  axis: Record<string, unknown>;
}
interface Layer {
  mark: { type: string; point?: unknown };
  encoding: { x: Encoding; y: Encoding };
}

/** A run of `steps` steps as log.jsonl reads it back: no validation (the fixture validates from step 100 on). */
const run = (steps: number): RunEvent[] => parseRunLog(toLog(syntheticRun(steps))).events;
/** The same run while it trains: its result not yet written. */
const training = (steps: number): RunEvent[] => run(steps).filter(e => e.type !== 'result');

const decode = (s: string): string =>
  s
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');

/** The label texts of the axis whose aria-label starts with `axis` ("X-axis", "Y-axis"), in drawing order. */
function axisLabels(svg: string, axis: string): string[] {
  const start = svg.indexOf(`aria-label="${axis} titled`);
  assert.ok(start >= 0, `no ${axis} in the SVG`);
  const group = /role-axis-label"[^>]*>((?:<text[^>]*>[^<]*<\/text>)*)<\/g>/.exec(svg.slice(start));
  assert.ok(group, `no labels on the ${axis}`);
  return [...group[1].matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map(m => decode(m[1]));
}

const subtitleOf = (svg: string): string => decode(/role-title-subtitle"[^>]*>(.*?)<\/g>/.exec(svg)![1]);

describe('the loss plot of a short run', () => {
  for (const steps of [1, 5]) {
    test(`${steps} step${steps === 1 ? '' : 's'}: whole-step ticks, each label once, every step marked`, async () => {
      const spec = lossPlotSpec(lossPlotData(run(steps))) as unknown as { layer: Layer[] };
      const lines = spec.layer.filter(l => l.mark.type === 'line');
      for (const l of lines) {
        assert.equal(l.encoding.x.axis.tickMinStep, 1);
        assert.match(String(l.encoding.x.axis.format), /d$/);
      }
      // Both training series draw a point per step: a line through one point draws nothing.
      assert.ok(
        lines.slice(0, 2).every(l => l.mark.point),
        JSON.stringify(lines.map(l => l.mark)),
      );

      const svg = await renderSvg(spec as never);
      const x = axisLabels(svg, 'X-axis');
      assert.deepEqual(
        x,
        Array.from({ length: steps + 1 }, (_, i) => String(i)),
        `x labels ${JSON.stringify(x)}`,
      );
      // The symbols (not the line, which is labelled by its first point) of the smoothed series: one per step.
      const symbolGroups = [...svg.matchAll(/class="mark-symbol role-mark[^"]*"[^>]*>(.*?)<\/g>/g)].map(m => m[1]).join('');
      const symbols = [
        ...symbolGroups.matchAll(/aria-label="step: (\d+); loss \(nats\/char\): [\d.]+; series: training \(smoothed\)"/g),
      ].map(m => Number(m[1]));
      assert.deepEqual(
        symbols,
        Array.from({ length: steps }, (_, i) => i + 1),
      );

      const y = axisLabels(svg, 'Y-axis');
      assert.equal(new Set(y).size, y.length, `repeated y labels ${JSON.stringify(y)}`);
      assert.ok(y.length >= 3 && y.length <= 12, `y labels ${JSON.stringify(y)}`);
      for (const label of y) assert.match(label, /^\d+\.\d{1,2}$/, `y labels ${JSON.stringify(y)}`);
    });
  }

  test('one step: the loss axis spans MIN_LOSS_SPAN around the loss, with a few round ticks', async () => {
    const data = lossPlotData(run(1));
    const loss = data.training[0].loss;
    const spec = lossPlotSpec(data) as unknown as { layer: Layer[] };
    const [low, high] = spec.layer[0].encoding.y.scale.domain!;
    assert.ok(low < loss && loss < high && high - low >= MIN_LOSS_SPAN, `domain ${low}–${high} for ${loss}`);
    const y = axisLabels(await renderSvg(spec as never), 'Y-axis').map(Number);
    assert.ok(y.length >= 3 && y.length <= 7, `y labels ${JSON.stringify(y)}`);
    assert.ok(y[0] <= loss && loss <= y[y.length - 1], `y labels ${JSON.stringify(y)} around ${loss}`);
  });

  test('a long run keeps the fitted loss axis and draws no point per step', () => {
    const spec = lossPlotSpec(lossPlotData(run(500))) as unknown as { layer: Layer[] };
    assert.equal(spec.layer[0].encoding.y.scale.domain, undefined);
    assert.equal(spec.layer[0].mark.point, undefined);
  });

  test('the subtitle: "1 step" in the singular, "no validation" once the run has ended', async () => {
    assert.equal(lossPlotData(run(1)).subtitle, 'no validation · 1 step, 0.03 epochs, 0s');
    assert.equal(lossPlotData(run(5)).subtitle, 'no validation · 5 steps, 0.14 epochs, 0s');
    assert.equal(lossPlotData(training(5)).subtitle, 'no validation yet · 5 steps, 0.14 epochs, 0s');
    assert.equal(subtitleOf(await renderSvg(lossPlotSpec(lossPlotData(run(1))))), 'no validation · 1 step, 0.03 epochs, 0s');
    // A resumed run that is training again: the earlier process's result does not end it.
    const resumed = [...run(5), { ...CONFIG, step: 5, resumed: true }, ...training(7).filter(e => e.step > 5 && e.type !== 'config')];
    assert.match(lossPlotData(resumed).subtitle, /^no validation yet · 7 steps/);
  });
});
