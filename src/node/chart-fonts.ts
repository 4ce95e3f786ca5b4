// The fonts a chart is drawn with, chosen for the characters it holds. DejaVu
// (the dejavu-fonts-ttf package) is always there and covers Latin, Greek,
// Cyrillic and more, but not CJK or Thai; for a character it lacks, the fonts
// the machine has (fonts-noto-cjk, fonts-thai-tlwg, …) are searched, and what
// no font can draw is written as its code point, `<U+6F22>`, never as an
// empty box that tells the reader nothing.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { codePoint } from '../report/corpus-report.js';
import { fontCoverage, type Coverage } from './font-coverage.js';

/** Where operating systems keep fonts: searched only for characters DejaVu lacks. */
export const SYSTEM_FONT_DIRS: readonly string[] = [
  '/usr/share/fonts',
  '/usr/local/share/fonts',
  join(homedir(), '.local/share/fonts'),
  join(homedir(), '.fonts'),
  '/System/Library/Fonts',
  '/Library/Fonts',
  join(homedir(), 'Library/Fonts'),
  join(process.env.WINDIR ?? 'C:\\Windows', 'Fonts'),
];

export interface ChartFonts {
  /** The font files to draw with: DejaVu first, then any found for characters it lacks. */
  files: string[];
  /** Whether one of `files` has a glyph for the code point. */
  covers(code: number): boolean;
}

let base: { files: string[]; coverage: Coverage[] } | undefined;
/** The DejaVu font files every chart is drawn with; a missing one is a broken install, said as such. */
export function baseFontFiles(): string[] {
  if (base) return base.files;
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  const files = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'DejaVuSansMono.ttf'].map(f => join(dir, f));
  const missing = files.find(f => !existsSync(f));
  if (missing) throw new Error(`the font ${missing} is missing: reinstall charrnn's dependencies (npm ci)`);
  base = { files, coverage: files.map(fontCoverage) };
  return files;
}

/**
 * The fonts for a text: DejaVu, plus, for the characters it lacks, the fewest
 * fonts found under `dirs` that have them (the one with the most of them first).
 */
export function chartFonts(text: string, dirs: readonly string[] = SYSTEM_FONT_DIRS): ChartFonts {
  const files = [...baseFontFiles()];
  const coverage = [...base!.coverage];
  const covers = (code: number): boolean => coverage.some(c => c.has(code));
  let missing = new Set(
    [...text]
      .filter(c => !LAYOUT.test(c))
      .map(c => c.codePointAt(0)!)
      .filter(c => !covers(c)),
  );
  if (missing.size > 0) {
    const candidates = installedFonts(dirs);
    while (missing.size > 0) {
      let best: InstalledFont | null = null,
        bestCount = 0;
      for (const font of candidates) {
        const have = font.coverage();
        if (files.includes(font.path) || have.size === 0) continue;
        let count = 0;
        for (const c of missing) if (have.has(c)) count++;
        if (count > bestCount) {
          best = font;
          bestCount = count;
        }
      }
      if (!best) break;
      files.push(best.path);
      coverage.push(best.coverage());
      missing = new Set([...missing].filter(c => !best.coverage().has(c)));
    }
  }
  return { files, covers };
}

/**
 * The text with each character none of the fonts can draw written as its code
 * point, `<U+0E01>`; tabs and line breaks, which lay text out, are kept.
 */
export function drawableText(text: string, fonts: ChartFonts): string {
  let out = '';
  for (const c of text) out += fonts.covers(c.codePointAt(0)!) || LAYOUT.test(c) ? c : `<${codePoint(c)}>`;
  return out;
}

const LAYOUT = /^[\t\n\r]$/;

interface InstalledFont {
  path: string;
  /** Empty for a file that cannot be read as a font. */
  coverage(): Coverage;
}

// A style variant has the characters of its regular face: reading them all
// would cost seconds on a machine with every Noto font for nothing.
const VARIANT = /(bold|italic|oblique|light|thin|black|medium|semi|extra|heavy|condensed|narrow|demi)/i;
const FONT_FILE = /\.(ttf|otf|ttc)$/i;

const scanned = new Map<string, InstalledFont[]>();
const coverages = new Map<string, Coverage>();

/** The regular faces in the folders (to a depth of four), in a fixed order: sans before others, then by path. */
function installedFonts(dirs: readonly string[]): InstalledFont[] {
  const key = dirs.join('\0');
  const known = scanned.get(key);
  if (known) return known;
  const paths: string[] = [];
  const walk = (dir: string, depth: number): void => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return; // a folder this machine lacks or may not read
    }
    for (const name of names) {
      const path = join(dir, name);
      if (FONT_FILE.test(name)) {
        if (!VARIANT.test(name)) paths.push(path);
      } else if (depth < 4 && isFolder(path)) walk(path, depth + 1);
    }
  };
  for (const dir of dirs) walk(dir, 1);
  const rank = (p: string): number => (/sans/i.test(p) && !/mono/i.test(p) ? 0 : 1);
  const fonts = paths.sort((a, b) => rank(a) - rank(b)).map(path => ({ path, coverage: () => coverageOf(path) }));
  scanned.set(key, fonts);
  return fonts;
}

function coverageOf(path: string): Coverage {
  let c = coverages.get(path);
  if (!c) {
    try {
      c = fontCoverage(path);
    } catch {
      c = new Set(); // not a font after all, or unreadable: never chosen
    }
    coverages.set(path, c);
  }
  return c;
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
