// The files of `charrnn explain`: one self-contained HTML report (the
// explanation as inline JSON, the Inside view's script and style as the build
// wrote them to dist/explain-report, the two charts as inline SVG; nothing
// fetched, which its Content-Security-Policy also forbids) and a PNG summary.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Explanation } from '../explain/explanation.js';
import { explainSummarySpec, saturationPlotSpec, surpriseHistogramSpec } from '../report/explain-plots.js';
import { modelWords } from '../report/explain-reading.js';
import { renderSvg, svgToPng } from './render.js';

/** The folder the web build writes the report's script and style to (dist/explain-report). */
const ASSETS = new URL('../../explain-report/', import.meta.url);

/** The report's script and style as built from web/inside/ (`npm run build:web`); missing ones are a broken build, said as such. */
export function reportAssets(): { script: string; style: string } {
  const read = (name: string): string => {
    const path = fileURLToPath(new URL(name, ASSETS));
    if (!existsSync(path)) throw new Error(`the report's ${name} is missing from ${fileURLToPath(ASSETS)}: run npm run build:web`);
    return readFileSync(path, 'utf8');
  };
  return { script: read('report.js'), style: read('report.css') };
}

/** The two charts the report shows, as SVG documents. */
export interface ReportCharts {
  saturation: string;
  histogram: string;
}

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * JSON to put inside a <script> element: `<` written as \u003c, so that no
 * `</script>` or `<!--` in the text can end the element early; the JSON parses
 * to the same value.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** The report's HTML: one file, everything inline. `source` names the text. */
export function reportHtml(explanation: Explanation, charts: ReportCharts, source: string): string {
  const { script, style } = reportAssets();
  const title = `Inside ${modelWords(explanation.model)}, reading ${source}`;
  // A script may not hold `</script`: the bundle's strings and regular expressions can say `<\/script` instead.
  const inlineScript = script.replace(/<\/(script)/gi, '<\\/$1');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
<style>
${style}
</style>
</head>
<body>
<header class="report-head">
<h1>${escapeHtml(title)}</h1>
<p>charrnn explain: hover any character for the model's guesses there; pick a unit to colour the text by its value.</p>
</header>
<main id="inside"><noscript>This report draws itself with a script; allow scripts for this file.</noscript></main>
<template id="chart-saturation">${charts.saturation}</template>
<template id="chart-histogram">${charts.histogram}</template>
<script type="application/json" id="charrnn-explanation">${scriptJson(explanation)}</script>
<script>
${inlineScript}
</script>
</body>
</html>
`;
}

/** The report's HTML and the PNG summary's bytes, charts drawn here (vega to SVG, resvg to PNG). */
export async function explainReport(explanation: Explanation, source: string): Promise<{ html: string; png: Uint8Array }> {
  const [saturation, histogram, summary] = await Promise.all([
    renderSvg(saturationPlotSpec(explanation)),
    renderSvg(surpriseHistogramSpec(explanation)),
    renderSvg(explainSummarySpec(explanation, source)),
  ]);
  return { html: reportHtml(explanation, { saturation, histogram }, source), png: await svgToPng(summary) };
}
