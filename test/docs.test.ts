// The docs are held to the code and to the repository: docs/cli.md names exactly
// the flags each command takes (read from the commands themselves, in process),
// every relative link leads to a file (and heading) that exists, every
// repository path in inline code exists, no doc points outside the repository,
// and the README stays a front door.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { charrnnCommands } from '../src/cli/run-cli.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
const docs = [
  'README.md',
  'CONTRIBUTING.md',
  ...readdirSync(join(root, 'docs'))
    .filter(f => f.endsWith('.md'))
    .map(f => `docs/${f}`),
];

const silent = { write: () => true };
const commands: Command[] = charrnnCommands({ stdout: silent, stderr: silent, env: {} }, { code: 0 });

/** Markdown without its fenced code blocks and inline code, where brackets and `#` mean nothing. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

/** The top-level folders of the repository that the docs name paths in. */
const TOP_FOLDERS = ['src', 'test', 'bench', 'scripts', 'python', 'tools', 'docs', 'web'];

/**
 * The repository paths a document names in inline code (`src/run/plan-run.ts`,
 * `test/e2e/`), with a `:LINE` suffix dropped; spans with a placeholder (an
 * upper-case word such as NAME, or a glob) stand for many files and are skipped.
 */
function repositoryPaths(markdown: string): string[] {
  const spans = [...markdown.replace(/^```[\s\S]*?^```/gm, '').matchAll(/`([^`\n]+)`/g)].map(m => m[1]);
  return spans
    .map(span => span.replace(/:\d+(-\d+)?$/, ''))
    .filter(span => TOP_FOLDERS.some(top => span.startsWith(`${top}/`)))
    .filter(span => !/\s|[*?{}<>[\]]|\b[A-Z][A-Z_]{2,}\b/.test(span));
}

/** Whether a path is a build's output (a folder .gitignore names, such as docs/api/), which a fresh clone lacks. */
function generated(path: string): boolean {
  const ignored = read('.gitignore')
    .split('\n')
    .filter(line => line.endsWith('/'))
    .map(line => line.replace(/^\//, ''));
  return ignored.some(folder => path.startsWith(folder));
}

/** GitHub's anchors for a document's headings (lower case, punctuation dropped, spaces to hyphens, repeats numbered). */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of markdown.replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const slug = m[1]
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

describe('docs/cli.md', () => {
  const cli = read('docs/cli.md');
  const sections = new Map<string, string>();
  for (const part of cli.split(/^## charrnn /m).slice(1)) sections.set(part.slice(0, part.indexOf('\n')).trim(), part);

  it('has a section for every command and no other', () => {
    assert.deepEqual([...sections.keys()].sort(), commands.map(c => c.name()).sort());
  });

  for (const command of commands) {
    it(`lists exactly the flags of charrnn ${command.name()}`, () => {
      const section = sections.get(command.name());
      assert.ok(section !== undefined, `docs/cli.md has no "## charrnn ${command.name()}" section`);
      const rows = section.split('\n').filter(line => line.startsWith('| `--'));
      const documented = rows.flatMap(row => [...row.split(' | ')[0].matchAll(/--[a-z0-9][a-z0-9-]*/g)].map(m => m[0]));
      const flags = command.options.filter(o => !o.hidden && o.long !== undefined).map(o => o.long as string);
      assert.deepEqual(
        [...documented].sort(),
        [...flags].sort(),
        `charrnn ${command.name()}: the flags in docs/cli.md's table against the command's own`,
      );
      assert.equal(new Set(documented).size, documented.length, `charrnn ${command.name()}: a flag listed twice`);
    });
  }
});

describe('links and paths in the docs', () => {
  for (const doc of docs) {
    it(`${doc}: every relative link leads to a file, and a heading where it names one`, () => {
      const text = read(doc);
      const links = [...prose(text).matchAll(/\]\(([^)\s]+)\)/g)].map(m => m[1]).filter(l => !/^[a-z]+:/i.test(l));
      for (const link of links) {
        const [path, anchor] = link.split('#') as [string, string | undefined];
        const target = path === '' ? join(root, doc) : join(root, dirname(doc), path);
        const name = relative(root, target);
        assert.ok(existsSync(target), `${doc} links to ${link}, and there is no ${name}`);
        if (anchor !== undefined && name.endsWith('.md')) {
          assert.ok(anchors(readFileSync(target, 'utf8')).has(anchor), `${doc} links to ${link}, and ${name} has no heading #${anchor}`);
        }
      }
    });

    it(`${doc}: every repository path in inline code exists`, () => {
      const missing = repositoryPaths(read(doc)).filter(path => !existsSync(join(root, path)) && !generated(path));
      assert.deepEqual(missing, [], `${doc} names paths the repository does not have`);
    });

    it(`${doc}: names no path outside the repository`, () => {
      const text = read(doc);
      for (const outside of ['../shared', '/work/']) assert.ok(!text.includes(outside), `${doc} mentions ${outside}`);
    });
  }

  it('finds the repository paths it checks, and skips placeholders', () => {
    assert.ok(repositoryPaths(read('docs/architecture.md')).length >= 10, 'docs/architecture.md names the folders of src/');
    assert.deepEqual(repositoryPaths('`src/run/` `test/e2e/NAME.test.ts` `src/*.ts` `tools/x.py:12` `web/{a,b}` `a src/b`'), [
      'src/run/',
      'tools/x.py',
    ]);
  });

  it('finds the links it checks', () => {
    assert.ok([...prose(read('README.md')).matchAll(/\]\(docs\/[^)]+\)/g)].length >= 8, 'the README links to the docs');
  });
});

describe('README.md', () => {
  it('is a front door: at most 250 lines', () => {
    const lines = read('README.md').split('\n').length - 1;
    assert.ok(lines <= 250, `README.md has ${lines} lines`);
  });
});
