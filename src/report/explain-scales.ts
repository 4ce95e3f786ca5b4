// The two colour scales of an explanation, written once so that the HTML
// report, the page's Inside view and the charts colour alike: surprise (white
// for a character the model was sure of, through yellow and orange to dark red)
// and a unit's value in [-1, 1] (red for -1, white for 0, blue for +1).
// Colours are CSS `rgb(r, g, b)` strings with whole components, as a browser's
// computed style writes them back.

/** One stop of a scale: at `at`, the colour [r, g, b]. */
export interface ColorStop {
  at: number;
  rgb: readonly [number, number, number];
}

/** Surprise at and above this many nats gets the darkest colour (p ≈ 0.0025). */
export const SURPRISE_MAX = 6;

/** The surprise scale, in nats: sequential, light for a sure guess (ColorBrewer YlOrRd). */
export const SURPRISE_STOPS: readonly ColorStop[] = [
  { at: 0, rgb: [255, 255, 255] },
  { at: 0.5, rgb: [255, 245, 204] },
  { at: 1.5, rgb: [254, 217, 118] },
  { at: 3, rgb: [253, 141, 60] },
  { at: 4.5, rgb: [227, 26, 28] },
  { at: SURPRISE_MAX, rgb: [128, 0, 38] },
];

/** A unit's value: diverging, red for -1 and blue for +1 (ColorBrewer RdBu). */
export const UNIT_STOPS: readonly ColorStop[] = [
  { at: -1, rgb: [178, 24, 43] },
  { at: -0.5, rgb: [239, 138, 98] },
  { at: 0, rgb: [247, 247, 247] },
  { at: 0.5, rgb: [103, 169, 207] },
  { at: 1, rgb: [33, 102, 172] },
];

/** The colour at `x` on a scale: linear between its stops, clamped at its ends. */
export function colorAt(stops: readonly ColorStop[], x: number): string {
  const [r, g, b] = rgbAt(stops, x);
  return `rgb(${r}, ${g}, ${b})`;
}

/** The colour at `x` as whole [r, g, b] components. */
export function rgbAt(stops: readonly ColorStop[], x: number): [number, number, number] {
  if (!(x > stops[0].at)) return [...stops[0].rgb];
  for (let i = 1; i < stops.length; i++) {
    const hi = stops[i];
    if (x <= hi.at) {
      const lo = stops[i - 1];
      const t = (x - lo.at) / (hi.at - lo.at);
      return [0, 1, 2].map(k => Math.round(lo.rgb[k] + t * (hi.rgb[k] - lo.rgb[k]))) as [number, number, number];
    }
  }
  return [...stops[stops.length - 1].rgb];
}

/** The background of a character the model was `nats` surprised by. */
export function surpriseColor(nats: number): string {
  return colorAt(SURPRISE_STOPS, nats);
}

/** The background of a character where a unit's value was `value` (in [-1, 1]). */
export function unitColor(value: number): string {
  return colorAt(UNIT_STOPS, value);
}

/** Whether text on that background reads better in white than in black (its luminance is low). */
export function isDark(rgb: readonly [number, number, number]): boolean {
  const [r, g, b] = rgb;
  return 0.299 * r + 0.587 * g + 0.114 * b < 140;
}
