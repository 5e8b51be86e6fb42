import test from 'node:test';
import assert from 'node:assert/strict';
import * as f from '../../assets/js/format.js';

test('fmtUptime writes Storm\'s uptimes', () => {
  for (const [secs, want] of [[0, '0s'], [5, '5s'], [65, '1m 5s'], [1759, '29m 19s'], [86400 + 189, '1d 0h 3m 9s'], [null, '–']]) {
    assert.equal(f.fmtUptime(secs), want, `fmtUptime(${secs})`);
  }
});

test('fmtInt groups thousands and marks missing values', () => {
  assert.equal(f.fmtInt(1190260), '1,190,260');
  assert.equal(f.fmtInt(0), '0');
  assert.equal(f.fmtInt(undefined), '–');
});

test('parseBool reads booleans and their strings', () => {
  assert.equal(f.parseBool(false, true), false);
  assert.equal(f.parseBool('false', true), false);
  assert.equal(f.parseBool(' TRUE ', false), true);
  assert.equal(f.parseBool(undefined, true), true);
  assert.equal(f.parseBool(0, true), true);
});

test('capacityLevel buckets capacities', () => {
  assert.deepEqual(['0.000', '0.499', '0.5', '0.81', '', null].map(f.capacityLevel), ['low', 'low', 'mid', 'high', 'none', 'none']);
});

test('executorTasks reads executor ids', () => {
  assert.deepEqual(f.executorTasks('[3-5]'), [3, 4, 5]);
  assert.deepEqual(f.executorTasks('[7-7]'), [7]);
  assert.deepEqual(f.executorTasks('junk'), []);
});

test('parseOverrides and parseExecutors name the bad input', () => {
  assert.deepEqual(f.parseOverrides('topology.workers=3\n\n# c\n a.b = "x" '), ['topology.workers=3', 'a.b="x"']);
  assert.throws(() => f.parseOverrides('ok=1\nnope'), /configuration line 2 "nope": want key=value/);
  assert.deepEqual(f.parseExecutors('split=4, count=2'), { split: 4, count: 2 });
  assert.deepEqual(f.parseExecutors('a=b=3'), { 'a=b': 3 });
  assert.throws(() => f.parseExecutors('split=0'), /executors "split=0"/);
});

test('lineFilter does not match longer numbers', () => {
  const keep = f.lineFilter('task=7');
  assert.ok(keep('level=INFO task=7 msg=x'));
  assert.ok(keep('task=7'));
  assert.ok(!keep('task=70'));
  assert.ok(f.lineFilter('')('anything'));
  assert.ok(f.lineFilter('a.b(')('x a.b( y'));
});

test('routes round-trip ids with slashes, spaces and question marks', () => {
  const h = f.route(['topology', 'word count-1-2', 'component', 'a/b?c#d'], { window: '600', sys: '' });
  assert.equal(h, '#/topology/word%20count-1-2/component/a%2Fb%3Fc%23d?window=600');
  const p = f.parseHash(h);
  assert.deepEqual(p.segs, ['topology', 'word count-1-2', 'component', 'a/b?c#d']);
  assert.equal(p.query.get('window'), '600');
  assert.equal(f.parseHash('#main'), null);
  assert.equal(f.parseHash(''), null);
  assert.deepEqual(f.parseHash('#/').segs, []);
});
