// Drawing a vega-lite spec headless: vega's SVG renderer (no canvas, no DOM) for
// the SVG, and resvg for the PNG. The PNG's text is drawn with the DejaVu Sans
// that ships in the dejavu-fonts-ttf package, never with the machine's default
// fonts: a machine without fonts would otherwise get a PNG with no text at all.
// The machine's fonts are only asked for characters DejaVu lacks (chart-fonts.ts).
import type { TopLevelSpec } from 'vega-lite';
import { chartFonts, drawableText, type ChartFonts } from './chart-fonts.js';

type Vega = typeof import('vega');
type VegaLite = typeof import('vega-lite');
type ResvgModule = typeof import('@resvg/resvg-js');

// Loaded on first use: vega and vega-lite take ~0.1 s to import, which a command
// that draws nothing should not pay.
let libraries: Promise<{ vega: Vega; vegaLite: VegaLite; resvg: ResvgModule }> | undefined;
function load(): Promise<{ vega: Vega; vegaLite: VegaLite; resvg: ResvgModule }> {
  libraries ??= Promise.all([import('vega'), import('vega-lite'), import('@resvg/resvg-js')]).then(([vega, vegaLite, resvg]) => {
    // Without a canvas vega guesses every text 0.8 em a character wide, which
    // leaves wide empty margins beside labels in DejaVu Sans; this guess is closer.
    (vega as unknown as { textMetrics: { width: (item: TextItem, text?: unknown) => number } }).textMetrics.width = textWidth;
    return { vega, vegaLite, resvg };
  });
  return libraries;
}

type CompileLogger = NonNullable<NonNullable<Parameters<VegaLite['compile']>[1]>['logger']>;

// vega-lite's warnings (about specs charrnn builds itself) are not the user's business.
const quiet = {
  level(): never {
    throw new Error('unused');
  },
  error(...args: readonly unknown[]): never {
    throw new Error(args.map(String).join(' '));
  },
  warn() {
    return quiet;
  },
  info() {
    return quiet;
  },
  debug() {
    return quiet;
  },
};

export interface RenderOptions {
  /** The folders searched for fonts with the characters DejaVu lacks (the system's font folders unless given). */
  fontDirs?: readonly string[];
}

/**
 * The spec drawn as an SVG document (text as <text>, in the spec's fonts). Its
 * characters that no font here can draw are written as code points, `<U+6F22>`,
 * before the layout, so that labels are measured as they will be drawn.
 */
export async function renderSvg(spec: TopLevelSpec, options: RenderOptions = {}): Promise<string> {
  const { vega, vegaLite } = await load();
  const fonts = chartFonts(JSON.stringify(spec), options.fontDirs);
  const compiled = vegaLite.compile(drawable(spec, fonts) as TopLevelSpec, { logger: quiet as unknown as CompileLogger }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * An SVG drawn as a PNG at `scale` times its size (2: sharp on high-density
 * screens), with DejaVu and the fonts found for the characters it lacks
 * (for a character its font lacks, resvg falls back to a loaded font that has it).
 */
export async function svgToPng(svg: string, scale = 2, options: RenderOptions = {}): Promise<Uint8Array> {
  const { resvg } = await load();
  const image = new resvg.Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    font: {
      loadSystemFonts: false,
      fontFiles: chartFonts(svg, options.fontDirs).files,
      defaultFontFamily: 'DejaVu Sans',
      sansSerifFamily: 'DejaVu Sans',
      monospaceFamily: 'DejaVu Sans Mono',
    },
    logLevel: 'off',
  });
  return image.render().asPng();
}

/** The spec with every string's undrawable characters written as code points (keys, all ASCII, kept). */
function drawable(value: unknown, fonts: ChartFonts): unknown {
  if (typeof value === 'string') return drawableText(value, fonts);
  if (Array.isArray(value)) return value.map(v => drawable(v, fonts));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, drawable(v, fonts)]));
  }
  return value;
}

interface TextItem {
  text?: unknown;
  fontSize?: number;
  fontWeight?: string | number;
}

/**
 * An estimate of a text's width in DejaVu Sans from classes of characters
 * (advance widths in em: narrow punctuation and i, l, t ~0.3, digits 0.64,
 * most lower case ~0.6, upper case ~0.7, m and w ~0.9); bold is ~10% wider.
 */
function textWidth(item: TextItem, text?: unknown): number {
  const value = text ?? item.text;
  const lines = Array.isArray(value) ? value.map(String) : [value == null ? '' : String(value)];
  const size = item.fontSize ?? 11;
  const bold = item.fontWeight === 'bold' || Number(item.fontWeight) >= 600;
  let widest = 0;
  for (const line of lines) {
    let em = 0;
    for (const c of line) em += charEm(c);
    widest = Math.max(widest, em);
  }
  return widest * size * (bold ? 1.1 : 1);
}

function charEm(c: string): number {
  if (/[ .,:;'!|()[\]{}ijlt-]/.test(c)) return 0.34;
  if (/[0-9]/.test(c)) return 0.64;
  if (/[mwMW%]/.test(c)) return 0.9;
  if (/[A-Z]/.test(c)) return 0.72;
  if (/[fr"`]/.test(c)) return 0.42;
  return c.codePointAt(0)! > 0x2e80 ? 1 : 0.6;
}
