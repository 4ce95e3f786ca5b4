// The README says what the code does: its Python loader is the file the
// PyTorch interop test runs, and its folder table lists the folders there are.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');

describe('README', () => {
  it('shows tools/load_charrnn.py, the loader test/model-file.test.ts runs with PyTorch, verbatim', () => {
    const blocks = [...readme.matchAll(/```python\n([\s\S]*?)```/g)].map(m => m[1]);
    assert.equal(blocks.length, 1, 'one Python block');
    assert.equal(blocks[0], readFileSync(join(root, 'tools', 'load_charrnn.py'), 'utf8'));
  });

  it('has a folder table whose folders exist, listing every folder of src/', () => {
    const table = readme.slice(readme.indexOf('| folder | what |'));
    const rows = table.slice(0, table.indexOf('\n\n')).split('\n').slice(2);
    const listed = rows.flatMap(r => [...r.split('|')[1].matchAll(/`([^`]+\/)`/g)].map(m => m[1]));
    assert.ok(listed.length > 5, 'the table was found');
    for (const folder of listed) assert.ok(existsSync(join(root, folder)) && statSync(join(root, folder)).isDirectory(), `${folder} is in the table but not in the repository`);
    for (const name of readdirSync(join(root, 'src'))) {
      if (statSync(join(root, 'src', name)).isDirectory()) assert.ok(listed.includes(`src/${name}/`), `src/${name}/ is missing from the README's folder table`);
    }
  });
});
