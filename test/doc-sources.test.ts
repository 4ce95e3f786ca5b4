// The docs say what the code does: the PyTorch loader shown in docs/pytorch.md is
// the file the PyTorch interop test runs, and the layer table of
// docs/architecture.md lists the folders there are.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

describe('docs that mirror the code', () => {
  it('docs/pytorch.md shows tools/load_charrnn.py, the loader test/e2e/pytorch-load.test.ts runs with PyTorch, verbatim', () => {
    const blocks = [...read('docs/pytorch.md').matchAll(/```python\n([\s\S]*?)```/g)].map(m => m[1]);
    assert.equal(blocks.length, 1, 'one Python block in docs/pytorch.md');
    assert.equal(blocks[0], read('tools/load_charrnn.py'));
  });

  it("docs/architecture.md's layer table names folders that exist, and every folder of src/", () => {
    const doc = read('docs/architecture.md');
    const table = doc.slice(doc.indexOf('| layer | folder | what it holds |'));
    const rows = table.slice(0, table.indexOf('\n\n')).split('\n').slice(2);
    const listed = rows.flatMap(r => [...r.split('|')[2].matchAll(/`([^`]+\/)`/g)].map(m => m[1]));
    assert.ok(listed.length > 5, 'the table was found');
    for (const folder of listed)
      assert.ok(
        existsSync(join(root, folder)) && statSync(join(root, folder)).isDirectory(),
        `${folder} is in the table but not in the repository`,
      );
    for (const name of readdirSync(join(root, 'src'))) {
      if (statSync(join(root, 'src', name)).isDirectory())
        assert.ok(listed.includes(`src/${name}/`), `src/${name}/ is missing from docs/architecture.md's layer table`);
    }
  });
});
