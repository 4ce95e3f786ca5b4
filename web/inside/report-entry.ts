// The script inlined into the HTML report of `charrnn explain` (bundled by
// web/vite.report.config.ts as one IIFE with its CSS beside it): reads the
// explanation from the page's JSON and draws the shared view, its charts the
// SVG the report already holds. Nothing is fetched.
import type { Explanation } from '../../src/explain/explanation.js';
import { renderInside, type ChartName } from './inside-view.js';
import './inside-view.css';
import './report.css';

const data = document.getElementById('charrnn-explanation');
const root = document.getElementById('inside');
if (data && root) {
  const explanation = JSON.parse(data.textContent ?? 'null') as Explanation;
  renderInside(root, explanation, {
    drawChart(which: ChartName, box: HTMLElement) {
      const svg = document.getElementById(`chart-${which}`);
      if (svg instanceof HTMLTemplateElement) box.append(svg.content.cloneNode(true));
    },
  });
  document.body.dataset.ready = 'true';
}
