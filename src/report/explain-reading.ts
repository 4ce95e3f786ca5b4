// Reading an Explanation as its faces show it: the unit values unpacked from
// their base64, a unit's name, a character a person can see (a space, a line
// break), a gate's name. Platform-neutral: the HTML report's script, the
// page and the PNG summary all read it the same way.
import type { CellType } from '../kernels/kernels.js';
import type { Explanation, UnitRef } from '../explain/explanation.js';

/** The unit values of an explanation as int8 (value × 127): [shown, units]. */
export function unitValues(explanation: Pick<Explanation, 'unitValues'>): Int8Array {
  const binary = atob(explanation.unitValues);
  const out = new Int8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = (binary.charCodeAt(i) << 24) >> 24;
  return out;
}

/** One unit's values at every shown character, in [-1, 1]: [shown]. */
export function unitColumn(explanation: Explanation, values: Int8Array, unit: number): Float32Array {
  const U = explanation.units.length;
  const n = explanation.shown.length;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = values[i * U + unit] / 127;
  return out;
}

/** The index of a unit in `explanation.units`, or -1 where its values were not kept. */
export function unitIndex(explanation: Pick<Explanation, 'units'>, ref: UnitRef): number {
  return explanation.units.findIndex(u => u.layer === ref.layer && u.kind === ref.kind && u.unit === ref.unit);
}

/**
 * Where each shown character is in the traced text (where a passage's
 * `start` counts): the same index for running text; a line model's traced text
 * also holds each line's start marker, which is not shown. [shown]
 */
export function tracePositions(explanation: Pick<Explanation, 'shown' | 'model'>): Int32Array {
  const out = new Int32Array(explanation.shown.length);
  let at = 0;
  explanation.shown.forEach((c, i) => {
    if (explanation.model.lineModel && c.lineStart) at++; // the start marker before it
    out[i] = at++;
  });
  return out;
}

/** A unit's short name: "L0 cell 37" (layer 0 the bottom one). */
export function unitLabel(ref: UnitRef): string {
  return `L${ref.layer} ${ref.kind} ${ref.unit}`;
}

/** A correlation as the shortcuts print it: "+0.91", "−0.85". */
export function signedR(r: number): string {
  return `${r < 0 ? '−' : '+'}${Math.abs(r).toFixed(2)}`;
}

const VISIBLE: Record<string, string> = { ' ': '␣', '\n': '⏎', '\t': '⇥', '\r': '␍' };

/** A character as it can be seen alone (in a list of guesses): ␣ for a space, ⏎ for a line break, U+0007 for a control. */
export function visibleChar(c: string): string {
  if (VISIBLE[c]) return VISIBLE[c];
  if (/^[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]$/u.test(c) || /^\p{Z}$/u.test(c))
    return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  return c;
}

/** A probability as the hovers print it: "37.2%", "0.04%", "<0.01%". */
export function percentOf(p: number): string {
  if (p >= 0.1) return `${(100 * p).toFixed(1)}%`;
  if (p >= 0.0001) return `${(100 * p).toPrecision(2)}%`;
  return '<0.01%';
}

/** Each cell's sigmoid gates, in its order, by the names an explanation gives them. */
const GATES: Record<CellType, string[]> = { lstm: ['input', 'forget', 'output'], gru: ['reset', 'update'], rnn: [] };

/** A gate's name as the saturation plot labels it: "forget gate" (a name it does not know, as it is). */
export function gateName(cell: CellType, gate: string): string {
  return GATES[cell].includes(gate) ? `${gate} gate` : gate;
}

/** The order gates are drawn in: the cell's own (input, forget, output; reset, update). */
export function gateOrder(cell: CellType): string[] {
  return GATES[cell].map(g => `${g} gate`);
}

/** The model in a few words: "LSTM 2×128, 65 characters, line model". */
export function modelWords(model: Explanation['model']): string {
  return `${model.cell.toUpperCase()} ${model.layers}×${model.hidden}, ${model.vocabSize} characters${model.lineModel ? ', line model' : ''}`;
}
