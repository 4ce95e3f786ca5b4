// A node:test reporter that prints, once every test file has run, what the
// spec reporter scatters: the conformance suite's worst error per engine and
// cell type, against PyTorch and against the float64 reference
// (test/conformance/suite.ts reports them as diagnostics), and every skipped
// test with its reason. A skip without a reason fails the run: nothing skips
// silently. Used by `npm test` beside the spec reporter.
import { ENGINES } from './conformance/engines.js';
import { REPORT_PREFIX } from './conformance/suite.js';

interface TestEvent {
  type: string;
  data: { name?: string; message?: string; skip?: string | boolean; file?: string };
}

type Row = Map<string, { error: number; at: string }>; // 'lstm PyTorch' -> worst

const GROUPS = ['lstm', 'gru', 'rnn', 'kernels'];
const AGAINST = ['PyTorch', 'reference-f64'];

export default async function* conformanceReporter(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const rows = new Map<string, Row>();
  const skips: string[] = [];
  let silent = 0;
  for await (const event of source) {
    if (event.type === 'test:diagnostic' && event.data.message?.startsWith(REPORT_PREFIX)) {
      const [engine, group, against, error, at] = event.data.message.slice(REPORT_PREFIX.length).split(' | ');
      const row = rows.get(engine) ?? new Map();
      rows.set(engine, row);
      const key = `${group} ${against}`;
      const e = Number(error);
      if (!(e <= (row.get(key)?.error ?? -1))) row.set(key, { error: e, at });
    } else if ((event.type === 'test:pass' || event.type === 'test:fail') && event.data.skip !== undefined && event.data.skip !== false) {
      if (typeof event.data.skip === 'string' && event.data.skip !== '') skips.push(`${event.data.name}: ${event.data.skip}`);
      else {
        silent++;
        skips.push(`${event.data.name}: NO REASON GIVEN (${event.data.file ?? 'unknown file'})`);
      }
    }
  }
  let out = '';
  if (rows.size > 0) {
    out +=
      '\nConformance: worst error (test/conformance/metric.ts) per engine and cell type, against PyTorch (float64) / against the float64 reference\n';
    const header = ['engine', ...GROUPS.map(g => `${g} vs PyTorch / vs f64`)];
    const order = (name: string): number => ENGINES.findIndex(e => e.name === name) >>> 0; // unknown names last
    const lines = [...rows]
      .sort(([a], [b]) => order(a) - order(b))
      .map(([engine, row]) => [
        engine,
        ...GROUPS.map(g =>
          AGAINST.map(a => {
            const w = row.get(`${g} ${a}`);
            return w ? w.error.toExponential(1) : '-';
          }).join(' / '),
        ),
      ]);
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map(l => l[i].length)));
    const fmt = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |\n`;
    out += fmt(header) + fmt(widths.map(w => '-'.repeat(w))) + lines.map(fmt).join('');
    out += '(- : not measured: the reference against itself, or no such check)\n';
  }
  out += `\n${skips.length} test(s) skipped${skips.length ? ':' : ''}\n${skips.map(s => `  - ${s}\n`).join('')}`;
  if (silent > 0) {
    out += `${silent} skip(s) without a reason: give every skip one (t.skip('why')).\n`;
    process.exitCode = 1;
  }
  yield out;
}
