// "Inside a model", drawn from an Explanation: the text coloured by surprise
// (or by one unit's value), a hover on any character with the model's top
// guesses there, the neuron picker with each feature's strongest units as
// shortcuts, the two charts, the hardest passages and the surprise by class of
// character. Written once for both faces: the HTML report of `charrnn explain`
// (this module bundled into the file, its charts inline SVG) and the page's
// Inside view (its charts drawn by vega-embed). DOM only; every number comes
// from the explanation.
import type { Explanation, Passage, ShownChar, UnitKind, UnitRef } from '../../src/explain/explanation.js';
import { isDark, rgbAt, SURPRISE_MAX, SURPRISE_STOPS, UNIT_STOPS, type ColorStop } from '../../src/report/explain-scales.js';
import {
  modelWords,
  percentOf,
  signedR,
  unitColumn,
  unitIndex,
  unitLabel,
  unitValues,
  tracePositions,
  visibleChar,
} from '../../src/report/explain-reading.js';

/** The charts a face draws into their boxes: the report from its inline SVG, the page with vega-embed. */
export type ChartName = 'saturation' | 'histogram';

export interface InsideOptions {
  /** Draws a chart into its (empty) box; without it the charts are left out. */
  drawChart?: (which: ChartName, box: HTMLElement) => void | Promise<void>;
  /** A line over the view (the report's source); none by default. */
  title?: string;
}

/** What a face can do with a drawn view. */
export interface InsideView {
  /** Colours the text by a unit's values, or by surprise (null); false when that unit's values were not kept. */
  pick(unit: UnitRef | null): boolean;
  /** The unit the text is coloured by, null for surprise. */
  readonly picked: UnitRef | null;
}

const thousands = (n: number): string => Math.round(n).toLocaleString('en');

/** An element with a class and children (strings become text). */
function el<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  e.append(...children);
  return e;
}

/** Draws `explanation` into `root` (emptied first) and returns the view. */
export function renderInside(root: HTMLElement, explanation: Explanation, options: InsideOptions = {}): InsideView {
  const e = explanation;
  const values = unitValues(e);
  const tooltip = el('div', 'inside-tooltip');
  tooltip.id = `inside-tooltip-${Math.random().toString(36).slice(2, 8)}`;
  tooltip.setAttribute('role', 'tooltip');
  tooltip.hidden = true;
  let picked: UnitRef | null = null;
  let column: Float32Array | null = null;

  // ---- the headline and the picker ----
  const head = el('div', 'inside-head');
  if (options.title) head.append(el('h2', 'inside-title', options.title));
  head.append(el('p', 'inside-headline', headline(e)));
  if (e.unknown > 0) head.append(el('p', 'inside-unknown', unknownLine(e)));
  if (e.shown.length < e.chars)
    head.append(
      el(
        'p',
        'inside-note',
        `The first ${thousands(e.shown.length)} of ${thousands(e.chars)} characters are shown; the charts and tables count them all.`,
      ),
    );

  const legend = el('div', 'inside-legend');
  const picker = unitPicker(e, ref => view.pick(ref));
  const shortcuts = featureList(e, ref => view.pick(ref));

  // ---- the text ----
  const text = el('div', 'inside-text');
  text.tabIndex = 0;
  text.setAttribute('aria-label', 'the text, coloured; arrow keys move between characters');
  text.setAttribute('aria-describedby', tooltip.id);
  const spans = fillText(text, e.shown);
  let active = -1;

  const colour = (): void => {
    for (let i = 0; i < spans.length; i++) {
      const c = e.shown[i];
      const rgb = column ? rgbAt(UNIT_STOPS, column[i]) : c.s === null ? null : rgbAt(SURPRISE_STOPS, c.s);
      const span = spans[i];
      span.style.backgroundColor = rgb ? `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})` : '';
      span.classList.toggle('dark', rgb !== null && isDark(rgb));
      if (column) span.dataset.v = column[i].toFixed(3);
      else delete span.dataset.v;
    }
    legend.replaceChildren(column && picked ? unitLegend(picked) : surpriseLegend());
    root.dataset.colour = picked ? unitLabel(picked) : 'surprise';
  };

  const show = (i: number): void => {
    if (i < 0 || i >= spans.length) return;
    spans[active]?.classList.remove('active');
    active = i;
    spans[i].classList.add('active');
    tooltip.replaceChildren(...tooltipBody(e, i, picked && column ? { ref: picked, value: column[i] } : null));
    tooltip.dataset.index = String(i);
    tooltip.hidden = false;
    place(tooltip, spans[i]);
  };
  const hide = (): void => {
    tooltip.hidden = true;
    spans[active]?.classList.remove('active');
  };
  text.addEventListener('mouseover', ev => {
    const span = (ev.target as Element).closest<HTMLElement>('.ch');
    if (span?.dataset.i !== undefined) show(Number(span.dataset.i));
  });
  text.addEventListener('mouseleave', hide);
  text.addEventListener('focus', () => show(Math.max(0, active)));
  text.addEventListener('blur', hide);
  text.addEventListener('keydown', ev => {
    const step = { ArrowRight: 1, ArrowLeft: -1, End: spans.length, Home: -spans.length }[ev.key];
    if (step === undefined) {
      if (ev.key === 'Escape') hide();
      return;
    }
    ev.preventDefault();
    show(Math.min(spans.length - 1, Math.max(0, active + step)));
    spans[active].scrollIntoView({ block: 'nearest' });
  });

  // ---- charts and tables ----
  const charts = el('div', 'inside-charts');
  if (options.drawChart) {
    for (const which of ['saturation', 'histogram'] as const) {
      const box = el('div', `inside-chart inside-chart-${which}`);
      charts.append(box);
      void options.drawChart(which, box);
    }
  }
  const worst = worstPassages(e, i => {
    show(i);
    spans[i].scrollIntoView({ block: 'center' });
  });

  root.replaceChildren(
    head,
    el('div', 'inside-controls', picker.element, legend),
    shortcuts,
    text,
    tooltip,
    charts,
    el('div', 'inside-tables', worst, classTable(e)),
  );
  root.classList.add('inside');

  const view: InsideView = {
    pick(ref: UnitRef | null): boolean {
      if (ref === null) {
        picked = null;
        column = null;
      } else {
        const u = unitIndex(e, ref);
        if (u < 0) return false;
        picked = { layer: ref.layer, kind: ref.kind, unit: ref.unit };
        column = unitColumn(e, values, u);
      }
      picker.set(picked);
      colour();
      if (!tooltip.hidden && active >= 0) show(active);
      return true;
    },
    get picked() {
      return picked;
    },
  };
  colour();
  return view;
}

function headline(e: Explanation): string {
  // JSON has no NaN: a text with nothing predicted comes back with null.
  const nats = typeof e.natsPerChar === 'number' && Number.isFinite(e.natsPerChar) ? e.natsPerChar : null;
  return (
    `${nats === null ? '–' : nats.toFixed(3)} nats per character (${nats === null ? '–' : (nats / Math.LN2).toFixed(3)} bits) ` +
    `over ${thousands(e.predicted)} predicted of ${thousands(e.chars)} characters · ${modelWords(e.model)}` +
    (e.model.lineModel ? ' · each line read from a fresh state (a bar marks its start), its end ⏎ predicted' : '')
  );
}

function unknownLine(e: Explanation): string {
  const named = e.unknownChars
    .slice(0, 8)
    .map(c => `“${visibleChar(c)}”`)
    .join(', ');
  const more = e.unknownChars.length > 8 ? `, and ${e.unknownChars.length - 8} more` : '';
  return (
    `${thousands(e.unknown)} ${e.unknown === 1 ? 'character' : 'characters'} the model never saw ` +
    `(${named}${more}), shown with a dashed box and not scored.`
  );
}

/** The text's characters as spans (data-i: the index in `shown`); a line break is a ⏎ span then a real break. */
function fillText(box: HTMLElement, shown: readonly ShownChar[]): HTMLSpanElement[] {
  const fragment = document.createDocumentFragment();
  const spans: HTMLSpanElement[] = [];
  shown.forEach((c, i) => {
    const span = document.createElement('span');
    span.className = 'ch';
    span.dataset.i = String(i);
    if (c.unknown) span.classList.add('unknown');
    if (c.lineStart) span.classList.add('fresh');
    if (c.s === null) span.classList.add('unpredicted');
    if (c.c === '\n') {
      span.textContent = '⏎';
      span.classList.add('eol');
      fragment.append(span, '\n');
    } else {
      span.textContent = c.c === '\t' ? '⇥\t' : c.c === '\r' ? '␍' : c.c;
      fragment.append(span);
    }
    spans.push(span);
  });
  box.append(fragment);
  return spans;
}

/** What the hover over character i says: the character, its surprise, the unit's value, the top guesses. */
function tooltipBody(e: Explanation, i: number, unit: { ref: UnitRef; value: number } | null): Node[] {
  const c = e.shown[i];
  const head = el('div', 'tip-head', el('span', 'tip-char', visibleChar(c.c)));
  const facts = el('div', 'tip-facts');
  if (c.unknown) facts.append(el('div', 'tip-unknown', 'not in the model’s vocabulary: not scored'));
  if (c.s !== null) facts.append(el('div', 'tip-surprise', `surprise ${c.s.toFixed(2)} nats · p = ${percentOf(Math.exp(-c.s))}`));
  else if (!c.unknown) facts.append(el('div', 'tip-surprise', 'the first character: nothing before it to predict from'));
  if (c.lineStart) facts.append(el('div', 'tip-fresh', 'a new line, read from a fresh state'));
  if (unit)
    facts.append(el('div', 'tip-unit', `${unitLabel(unit.ref)} = ${unit.value >= 0 ? '+' : '−'}${Math.abs(unit.value).toFixed(2)}`));
  head.append(facts);
  const nodes: Node[] = [head];
  if (c.top.length > 0) {
    const table = el('table', 'tip-guesses');
    table.append(el('caption', '', `the model’s top ${c.top.length} guesses here`));
    const best = c.top[0][1];
    c.top.forEach(([g, p], rank) => {
      const bar = el('span', 'tip-bar');
      bar.style.width = `${Math.max(1, Math.round((60 * p) / best))}px`;
      const row = el(
        'tr',
        g === c.c ? 'hit' : '',
        el('td', 'tip-rank', String(rank + 1)),
        el('td', 'tip-guess', visibleChar(g)),
        el('td', 'tip-p', percentOf(p)),
        el('td', '', bar),
      );
      row.dataset.char = g;
      row.dataset.p = String(p);
      table.append(row);
    });
    nodes.push(table);
  }
  return nodes;
}

/** Puts the tooltip under the character (above it near the bottom of the window), inside the window's width. */
function place(tooltip: HTMLElement, target: HTMLElement): void {
  const box = target.getBoundingClientRect();
  const parent = (tooltip.offsetParent ?? document.body).getBoundingClientRect();
  const width = tooltip.offsetWidth;
  const height = tooltip.offsetHeight;
  const left = Math.max(4, Math.min(box.left, window.innerWidth - width - 8));
  const below = box.bottom + 6 + height < window.innerHeight || box.top < height + 6;
  const top = below ? box.bottom + 6 : box.top - height - 6;
  tooltip.style.left = `${left - parent.left}px`;
  tooltip.style.top = `${top - parent.top}px`;
}

/** The layer, kind and unit selectors, and a button back to surprise. */
function unitPicker(e: Explanation, pick: (ref: UnitRef | null) => void): { element: HTMLElement; set(ref: UnitRef | null): void } {
  const wrap = el('div', 'inside-picker');
  const mode = el('select', 'inside-mode');
  mode.append(new Option('surprise', 'surprise'), new Option('a unit', 'unit'));
  mode.setAttribute('aria-label', 'colour the text by');
  const layer = el('select', 'inside-layer');
  layer.setAttribute('aria-label', 'layer');
  const kind = el('select', 'inside-kind');
  kind.setAttribute('aria-label', 'which values');
  const unit = el('input', 'inside-unit');
  unit.type = 'number';
  unit.min = '0';
  unit.step = '1';
  unit.setAttribute('aria-label', 'unit');
  const layers = [...new Set(e.units.map(u => u.layer))].sort((a, b) => a - b);
  for (const l of layers) layer.append(new Option(`layer ${l}`, String(l)));
  const kindsOf = (l: number): UnitKind[] => [...new Set(e.units.filter(u => u.layer === l).map(u => u.kind))];
  const unitsOf = (l: number, k: string): number[] => e.units.filter(u => u.layer === l && u.kind === k).map(u => u.unit);
  const fillKinds = (l: number, want?: UnitKind): void => {
    const kinds = kindsOf(l);
    kind.replaceChildren(...kinds.map(k => new Option(k === 'cell' ? 'cell (tanh c)' : 'hidden (h)', k)));
    kind.value = want && kinds.includes(want) ? want : kinds[0];
    const us = unitsOf(l, kind.value);
    unit.max = String(Math.max(...us));
  };
  const unitBox = el('span', 'inside-unit-box', layer, kind, unit);
  if (layers.length === 0) {
    mode.disabled = true;
    unitBox.replaceChildren(el('span', 'inside-note', 'no unit values were kept'));
  } else fillKinds(layers[0]);
  const current = (): UnitRef | null => {
    if (mode.value !== 'unit') return null;
    const n = Number(unit.value);
    return { layer: Number(layer.value), kind: kind.value as UnitKind, unit: Number.isInteger(n) ? n : 0 };
  };
  mode.addEventListener('change', () => pick(current()));
  layer.addEventListener('change', () => {
    fillKinds(Number(layer.value), kind.value as UnitKind);
    pick(current());
  });
  kind.addEventListener('change', () => pick(current()));
  unit.addEventListener('input', () => {
    const ref = current();
    if (ref && unitIndex(e, ref) >= 0) pick(ref);
  });
  if (unit.value === '') unit.value = '0';
  unitBox.hidden = true;
  wrap.append(el('label', '', 'Colour by ', mode), unitBox);
  return {
    element: wrap,
    set(ref) {
      mode.value = ref ? 'unit' : 'surprise';
      unitBox.hidden = ref === null;
      if (!ref) return;
      layer.value = String(ref.layer);
      fillKinds(ref.layer, ref.kind);
      unit.value = String(ref.unit);
    },
  };
}

/** Each feature with its strongest units as buttons that pick them. */
function featureList(e: Explanation, pick: (ref: UnitRef) => void): HTMLElement {
  const box = el('div', 'inside-features');
  if (e.features.length === 0) return box;
  box.append(el('h3', '', 'Units that follow a feature'));
  const list = el('ul', '');
  for (const f of e.features) {
    const units = el('span', 'feature-units');
    const item = el('li', '', el('span', 'feature-name', f.name), units);
    item.title = f.description;
    item.dataset.feature = f.name;
    if (f.units.length === 0) units.append(el('span', 'inside-note', 'no unit: the feature does not vary in this text'));
    for (const u of f.units) {
      const button = el('button', 'unit-shortcut', `${unitLabel(u)} `, el('span', 'r', `r=${signedR(u.r)}`));
      button.type = 'button';
      button.title = `colour the text by ${unitLabel(u)} (Pearson's r with “${f.name}”: ${signedR(u.r)})`;
      Object.assign(button.dataset, { layer: String(u.layer), kind: u.kind, unit: String(u.unit) });
      button.addEventListener('click', () => pick(u));
      units.append(button);
    }
    list.append(item);
  }
  box.append(list);
  return box;
}

function gradient(stops: readonly ColorStop[], lo: number, hi: number): string {
  return `linear-gradient(to right, ${stops.map(s => `rgb(${s.rgb.join(', ')}) ${(100 * (s.at - lo)) / (hi - lo)}%`).join(', ')})`;
}

function legendBar(stops: readonly ColorStop[], lo: number, hi: number, ticks: [number, string][]): HTMLElement {
  const bar = el('div', 'legend-bar');
  bar.style.background = gradient(stops, lo, hi);
  const labels = el('div', 'legend-ticks');
  for (const [at, label] of ticks) {
    const t = el('span', '', label);
    t.style.left = `${(100 * (at - lo)) / (hi - lo)}%`;
    labels.append(t);
  }
  return el('div', 'legend-scale', bar, labels);
}

function surpriseLegend(): HTMLElement {
  const ticks: [number, string][] = [0, 1, 2, 3, 4, 5, 6].map(n => [n, n === SURPRISE_MAX ? `${n}+` : String(n)]);
  return el(
    'div',
    'legend',
    el('span', 'legend-title', 'surprise, nats (−ln p)'),
    legendBar(SURPRISE_STOPS, 0, SURPRISE_MAX, ticks),
    el('span', 'legend-note', 'p: 1 · 0.37 · 0.14 · 0.05 · 0.02 · 0.007 · 0.0025'),
  );
}

function unitLegend(ref: UnitRef): HTMLElement {
  const ticks: [number, string][] = [
    [-1, '−1'],
    [-0.5, '−0.5'],
    [0, '0'],
    [0.5, '+0.5'],
    [1, '+1'],
  ];
  return el(
    'div',
    'legend',
    el('span', 'legend-title', `${unitLabel(ref)}${ref.kind === 'cell' ? ', tanh of the cell' : ''}`),
    legendBar(UNIT_STOPS, -1, 1, ticks),
  );
}

/** The hardest passages, each coloured by surprise; one inside the shown text jumps there. */
function worstPassages(e: Explanation, jump: (i: number) => void): HTMLElement {
  const box = el('div', 'inside-worst');
  box.append(el('h3', '', 'The hardest passages'));
  if (e.worst.length === 0) {
    box.append(el('p', 'inside-note', 'none: too few characters were predicted'));
    return box;
  }
  const shownAt = new Map<number, number>();
  tracePositions(e).forEach((position, i) => shownAt.set(position, i));
  const list = el('ol', '');
  for (const p of e.worst) {
    const item = el('li', '');
    item.append(passageText(p));
    const facts = el('div', 'passage-facts', `mean ${p.mean.toFixed(2)} nats · character ${thousands(p.start + 1)}`);
    const at = shownAt.get(p.start);
    if (at !== undefined) {
      const go = el('button', 'passage-go', 'show in the text');
      go.type = 'button';
      go.addEventListener('click', () => jump(at));
      facts.append(' · ', go);
    }
    item.append(facts);
    list.append(item);
  }
  box.append(list);
  return box;
}

function passageText(p: Passage): HTMLElement {
  const text = el('div', 'passage-text');
  p.chars.forEach((c, i) => {
    const s = p.surprise[i];
    const span = el('span', 'pc', c === '\n' ? '⏎' : c);
    if (s !== null) {
      const rgb = rgbAt(SURPRISE_STOPS, s);
      span.style.backgroundColor = `rgb(${rgb.join(', ')})`;
      if (isDark(rgb)) span.classList.add('dark');
      span.title = `${visibleChar(c)}: ${s.toFixed(2)} nats`;
    }
    text.append(span);
  });
  return text;
}

function classTable(e: Explanation): HTMLElement {
  const box = el('div', 'inside-classes');
  box.append(el('h3', '', 'Surprise by class of character'));
  const table = el('table', '');
  table.append(
    el('thead', '', el('tr', '', el('th', '', 'class'), el('th', 'num', 'characters'), el('th', 'num', 'mean nats'), el('th', '', ''))),
  );
  const most = Math.max(1e-9, ...e.byClass.map(c => c.mean));
  const body = el('tbody', '');
  for (const c of e.byClass) {
    const bar = el('span', 'class-bar');
    bar.style.width = `${Math.round((120 * c.mean) / most)}px`;
    const rgb = rgbAt(SURPRISE_STOPS, c.mean);
    bar.style.backgroundColor = `rgb(${rgb.join(', ')})`;
    const row = el(
      'tr',
      '',
      el('td', '', c.name),
      el('td', 'num', thousands(c.count)),
      el('td', 'num', c.count > 0 ? c.mean.toFixed(3) : '–'),
      el('td', '', bar),
    );
    row.dataset.class = c.name;
    body.append(row);
  }
  table.append(body);
  box.append(table);
  return box;
}
