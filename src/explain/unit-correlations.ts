// Pearson's r between every unit and every feature over a text, gathered one
// position at a time so that a text of any length is searched in the memory
// of its features alone: per unit the sums of x and x², per feature of f and
// f², and per pair of x·f (features are mostly 0, and their zeros cost nothing).
import type { TextFeature } from './text-features.js';
import type { FeatureUnits, UnitRef } from './explanation.js';

/** The correlations of U units with a text's features, position by position. */
export class UnitCorrelations {
  private readonly sx: Float64Array; // [U]
  private readonly sxx: Float64Array; // [U]
  private readonly sxf: Float64Array; // [F, U]
  private count = 0;
  /** The positions added, for the features' own sums. */
  private readonly added: number[] = [];

  constructor(
    private readonly features: readonly TextFeature[],
    private readonly units: readonly UnitRef[],
  ) {
    const U = units.length;
    this.sx = new Float64Array(U);
    this.sxx = new Float64Array(U);
    this.sxf = new Float64Array(features.length * U);
  }

  /** Adds the units' values x [U] at `position` of the text the features describe. */
  add(position: number, x: ArrayLike<number>): void {
    const U = this.units.length;
    const { sx, sxx, sxf } = this;
    for (let u = 0; u < U; u++) {
      const v = x[u];
      sx[u] += v;
      sxx[u] += v * v;
    }
    this.features.forEach((feature, f) => {
      const value = feature.values[position];
      if (value === 0) return;
      const row = f * U;
      for (let u = 0; u < U; u++) sxf[row + u] += value * x[u];
    });
    this.added.push(position);
    this.count++;
  }

  /** Each feature's `top` strongest units by |r|, strongest first: none for a feature that never varies; a unit that never varies has r = 0. */
  strongest(top: number): FeatureUnits[] {
    const U = this.units.length;
    const n = this.count;
    return this.features.map((feature, f) => {
      let sf = 0;
      let sff = 0;
      for (const p of this.added) {
        const v = feature.values[p];
        sf += v;
        sff += v * v;
      }
      const varF = n * sff - sf * sf;
      // A feature the text never varies (no brackets at all, say) has no units that follow it.
      if (!(varF > 1e-9 * n * n)) return { name: feature.name, description: feature.description, units: [] };
      const scored = this.units.map((ref, u) => {
        const varX = n * this.sxx[u] - this.sx[u] * this.sx[u];
        const cov = n * this.sxf[f * U + u] - this.sx[u] * sf;
        // Variances below rounding are no variance: a constant unit follows nothing.
        const r = varX > 1e-9 * n * n ? cov / Math.sqrt(varF * varX) : 0;
        return { ...ref, r: Math.max(-1, Math.min(1, r)) };
      });
      scored.sort(
        (a, b) =>
          Math.abs(b.r) - Math.abs(a.r) || a.layer - b.layer || (a.kind === b.kind ? 0 : a.kind === 'cell' ? -1 : 1) || a.unit - b.unit,
      );
      return { name: feature.name, description: feature.description, units: scored.slice(0, top) };
    });
  }
}
