import test from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzip, gzip, readTar, writeTar, splitTopology } from '../../assets/js/tar.js';

const long = 'n'.repeat(120) + '.txt';
const uni = 'ünïcödé-' + 'u'.repeat(90) + '.txt';

for (const format of ['gnu', 'pax']) {
  test(`a directory packed by GNU tar (${format} format) splits into definition and resources`, async () => {
    const bytes = await readFile(new URL(`./topology-dir-${format}.tar.gz`, import.meta.url));
    const entries = readTar(await gunzip(bytes));
    const t = splitTopology(entries);
    assert.equal(t.definitionName, 'topology.yaml');
    assert.equal(new TextDecoder().decode(t.definition), 'name: wc\n');
    const files = Object.fromEntries(t.resources.filter((e) => e.type === '0').map((e) => [e.name, e]));
    assert.deepEqual(Object.keys(files).sort(), ['split.py', 'sub/' + long, 'sub/' + uni].sort());
    assert.equal(files['split.py'].mode & 0o777, 0o755, 'the executable bit survives');
    assert.equal(new TextDecoder().decode(files['sub/' + uni].data), 'é\n');
  });
}

test('writeTar writes what GNU tar reads back, long names and modes included', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'squall-ui-tar-'));
  try {
    const entries = [
      { name: 'sub', type: '5', mode: 0o755 },
      { name: 'split.py', mode: 0o755, data: new TextEncoder().encode('print(1)\n') },
      { name: 'sub/' + long, data: new TextEncoder().encode('x\n') },
      { name: 'sub/' + uni, data: new TextEncoder().encode('é\n') },
    ];
    const gz = await gzip(writeTar(entries));
    writeFileSync(join(dir, 'p.tar.gz'), gz);
    execFileSync('tar', ['-xzf', 'p.tar.gz'], { cwd: dir });
    assert.equal(readFileSync(join(dir, 'split.py'), 'utf8'), 'print(1)\n');
    assert.equal(statSync(join(dir, 'split.py')).mode & 0o777, 0o755);
    assert.equal(readFileSync(join(dir, 'sub', long), 'utf8'), 'x\n');
    assert.equal(readFileSync(join(dir, 'sub', uni), 'utf8'), 'é\n');
    // And it reads its own output.
    const back = readTar(await gunzip(gz));
    assert.deepEqual(back.map((e) => e.name), entries.map((e) => e.name));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad archives fail with a message that says what is wrong', async () => {
  await assert.rejects(gunzip(new TextEncoder().encode('not gzip at all'), 'dir.tar.gz'), /dir.tar.gz is not a gzip file/);
  const junk = new Uint8Array(1024).fill(65);
  assert.throws(() => readTar(junk, 'dir.tar.gz'), /dir.tar.gz is not a tar archive \(bad header checksum at byte 0\)/);
  const tar = writeTar([{ name: 'a.txt', data: new Uint8Array(2000) }]);
  assert.throws(() => readTar(tar.subarray(0, 1024)), /truncated/);
  assert.throws(() => splitTopology(readTar(writeTar([{ name: 'x/y/deep.yaml', data: new Uint8Array(1) }]))),
    /no topology.yaml at its top or in its top directory \(found: no YAML file\)/);
});

test('gunzip stops at its size limit', async () => {
  const big = await gzip(new Uint8Array(1 << 20));
  await assert.rejects(gunzip(big, 'bomb.tar.gz', 1000), /bomb.tar.gz is larger than 1000 bytes unpacked/);
});

test('the definition may sit at the top, or be the only YAML file', () => {
  const e = (name) => ({ name, type: '0', data: new TextEncoder().encode(name) });
  let t = splitTopology([e('topology.yml'), e('resources/a.py')]);
  assert.equal(t.definitionName, 'topology.yml');
  assert.deepEqual(t.resources.map((x) => x.name), ['a.py']);
  t = splitTopology([e('wc/flux.yaml'), e('wc/resources/b.sh'), e('other/resources/c')]);
  assert.equal(t.definitionName, 'flux.yaml');
  assert.deepEqual(t.resources.map((x) => x.name), ['b.sh']);
});
