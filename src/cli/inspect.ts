import { Command, Option } from 'commander';
import { basename, dirname, extname, join } from 'node:path';
import { corpusReport, readableChar, type CorpusReport } from '../report/corpus-report.js';
import { percent, thousands } from '../report/format.js';
import { CharrnnError } from '../errors.js';
import { DEFAULT_SETTINGS } from '../run/settings.js';
import { INVALID_POLICIES, type InvalidPolicy } from '../text/decoder.js';
import { NORMALIZATIONS, type Normalization } from '../text/normalize.js';
import type { CliIo } from './io.js';
import { fraction } from './flag-parsers.js';
import { action, type ExitStatus } from './action.js';
import { flagName } from './flag-names.js';

interface InspectFlags {
  corpus?: string;
  encoding?: string;
  invalid: InvalidPolicy;
  normalize: Normalization;
  lines?: boolean;
  valFrac: number;
  out?: string;
}

export function inspectCommand(io: CliIo, status: ExitStatus): Command {
  return new Command('inspect')
    .description(
      'report on a text before training on it: characters, lines, line lengths, and what will hurt training; also as NAME.inspect.svg and .png',
    )
    .argument('[files...]', 'text files and folders (read recursively, as train reads them), joined in order')
    .option('--corpus <name>', 'inspect an embedded corpus instead of files: moby-dick')
    .option('--encoding <label>', "the files' encoding, as train takes it (default: UTF-8, or UTF-16 by its byte order mark)")
    .addOption(
      new Option('--invalid <policy>', 'bytes the encoding cannot decode: error, or replace them with U+FFFD (as train --invalid)')
        .choices(INVALID_POLICIES)
        .default(DEFAULT_SETTINGS.invalid),
    )
    .addOption(
      new Option('--normalize <form>', 'Unicode normalisation of the text (as train --normalize)')
        .choices(NORMALIZATIONS)
        .default(DEFAULT_SETTINGS.normalize),
    )
    .option('--lines', 'the text is a list: each non-empty line is one example (as train --lines)')
    .option('--val-frac <f>', 'the validation fraction training will hold out', fraction, 0.1)
    .option('--out <dir>', "folder for the pictures (default: the first file's folder, or the current folder with --corpus)")
    .action(
      action(status, async (files: string[], flags: InspectFlags) => {
        if (files.length === 0 && flags.corpus === undefined)
          throw new CharrnnError('Nothing to inspect: give one or more text files or folders, or --corpus moby-dick.');
        // The text readers and the renderer (vega, resvg) load only when the command runs.
        const [{ loadCorpus }, { writeFileAtomic }, { renderSvg, svgToPng }, { corpusPlotSpec }] = await Promise.all([
          import('../node/read-corpus.js'),
          import('../node/files.js'),
          import('../node/render.js'),
          import('../report/corpus-plot.js'),
        ]);
        const corpus = loadCorpus(files, flags.corpus, {
          encoding: flags.encoding,
          invalid: flags.invalid,
          normalize: flags.normalize,
          note: m => io.stderr.write(`charrnn: ${m}\n`),
        });
        const report = corpusReport(corpus.text, { lines: flags.lines, valFraction: flags.valFrac, names: flagName });
        io.stdout.write(formatReport(report, corpus.source));
        const name = files.length > 0 ? basename(files[0], extname(files[0])) : corpus.source;
        const folder = flags.out ?? (files.length > 0 ? dirname(files[0]) : '.');
        const svgPath = join(folder, `${name}.inspect.svg`),
          pngPath = join(folder, `${name}.inspect.png`);
        const svg = await renderSvg(corpusPlotSpec(report, corpus.source));
        writeFileAtomic(svgPath, new TextEncoder().encode(svg));
        writeFileAtomic(pngPath, await svgToPng(svg));
        io.stdout.write(`pictures        ${svgPath}, ${pngPath}\n`);
      }),
    );
}

const BAR_WIDTH = 40;

/** The report as the terminal shows it: aligned fields, a text histogram, then the warnings. */
export function formatReport(r: CorpusReport, source: string): string {
  const l = r.lines;
  const share = (n: number) => (r.chars ? percent(n / r.chars, 1) : '0%');
  const out: string[] = [
    source,
    field('characters', `${thousands(r.chars)} (${thousands(r.counts.length)} distinct)`),
    field(
      'lines',
      `${thousands(l.count)} (${thousands(l.empty)} empty); non-empty length ${l.min}–${thousands(l.max)}, median ${l.median}, mean ${l.mean.toFixed(1)}`,
    ),
    field(
      'most frequent',
      r.counts
        .slice(0, 10)
        .map(c => `${readableChar(c.char)} ${share(c.count)}`)
        .join(', '),
    ),
    field(
      'least frequent',
      r.counts
        .slice(-10)
        .reverse()
        .map(c => `${readableChar(c.char)} ×${thousands(c.count)}`)
        .join(', '),
    ),
  ];
  if (l.histogram.length > 0) {
    out.push('line lengths');
    const most = Math.max(...l.histogram.map(b => b.count));
    // Runs of empty bars are one row, so a gap in the lengths does not fill the screen.
    const rows: { label: string; count: number }[] = [];
    for (let i = 0; i < l.histogram.length; i++) {
      const b = l.histogram[i];
      let j = i;
      if (b.count === 0) while (j + 1 < l.histogram.length && l.histogram[j + 1].count === 0) j++;
      const last = l.histogram[j];
      const label = b.from === last.to - 1 ? `${b.from}` : `${b.from}–${last.to - 1}`;
      rows.push({ label: label + (last.overflow ? '+' : ''), count: b.count });
      i = j;
    }
    const w = Math.max(...rows.map(row => row.label.length));
    for (const row of rows) {
      const bar = '█'.repeat(Math.round((BAR_WIDTH * row.count) / most)) || (row.count > 0 ? '▏' : '');
      out.push(`  ${row.label.padStart(w)}  ${bar}${bar ? ' ' : ''}${thousands(row.count)}`);
    }
  }
  const s = r.split;
  if (s) {
    const part =
      s.kind === 'tail'
        ? `the last ${percent(s.fraction)} (${thousands(s.heldOutChars)} characters)`
        : `the last ${percent(s.fraction)} of the lines`;
    let line = `${part}: ${percent(s.unseenShare, 2)} characters unseen before it, KL ${s.klNats.toFixed(4)} nats from the rest`;
    if (s.meanLineLength) line += `, mean line length ${s.meanLineLength.heldOut.toFixed(1)} against ${s.meanLineLength.rest.toFixed(1)}`;
    out.push(field(s.kind === 'tail' ? 'validation' : 'list order', line));
  }
  for (const w of r.warnings) out.push(`warning: ${w}`);
  return out.join('\n') + '\n';
}

function field(name: string, value: string): string {
  return `${name.padEnd(15)} ${value}`;
}
