import test from 'node:test';
import assert from 'node:assert/strict';
import { layout } from '../../assets/js/layout.js';

const box = (id) => ({ id, w: 100, h: 40 });

function overlaps(l) {
  const ns = [...l.nodes.values()];
  for (let i = 0; i < ns.length; i++) {
    for (let j = i + 1; j < ns.length; j++) {
      const a = ns[i], b = ns[j];
      if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) return true;
    }
  }
  return false;
}

test('a chain goes left to right, one layer per component', () => {
  const l = layout(['spout', 'split', 'count'].map(box), [{ from: 'spout', to: 'split' }, { from: 'split', to: 'count' }]);
  assert.deepEqual(['spout', 'split', 'count'].map((id) => l.nodes.get(id).layer), [0, 1, 2]);
  assert.ok(l.nodes.get('spout').x < l.nodes.get('split').x);
  assert.ok(l.nodes.get('split').x < l.nodes.get('count').x);
  assert.equal(l.edges.length, 2);
  assert.equal(l.crossings, 0);
});

test('sources come first even when listed last', () => {
  const l = layout(['c', 'b', 'a'].map(box), [{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }]);
  assert.equal(l.nodes.get('a').layer, 0);
  assert.equal(l.nodes.get('c').layer, 2);
});

test('a long edge goes through the layers between, without crossing', () => {
  const l = layout(['a', 'b', 'c'].map(box), [{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }, { from: 'a', to: 'c' }]);
  const ac = l.edges.find((e) => e.from === 'a' && e.to === 'c');
  assert.equal(ac.points.length, 3, 'one bend point in the middle layer');
  assert.equal(l.crossings, 0);
  assert.ok(!overlaps(l));
});

test('crossings are removed where an order without them exists', () => {
  // s1 feeds b2 and s2 feeds b1: listing order crosses, the layout must not.
  const nodes = ['s1', 's2', 'b1', 'b2', 'c1', 'c2'].map(box);
  const edges = [
    { from: 's1', to: 'b2' }, { from: 's2', to: 'b1' },
    { from: 'b1', to: 'c2' }, { from: 'b2', to: 'c1' },
  ];
  const l = layout(nodes, edges);
  assert.equal(l.crossings, 0);
  assert.ok(!overlaps(l));
});

test('cycles and self-loops are laid out', () => {
  const l = layout(['a', 'b', 'c'].map(box), [
    { from: 'a', to: 'b' }, { from: 'b', to: 'c' }, { from: 'c', to: 'b' }, { from: 'c', to: 'c' },
  ]);
  assert.equal(l.nodes.size, 3);
  assert.deepEqual(l.loops, [{ id: 'c' }]);
  const back = l.edges.find((e) => e.from === 'c' && e.to === 'b');
  assert.ok(back.reversed);
  // A reversed edge still starts at its source.
  const first = back.points[0], last = back.points[back.points.length - 1];
  const c = l.nodes.get('c'), b = l.nodes.get('b');
  assert.ok(Math.abs(first.x - (c.x + c.w / 2)) <= c.w / 2 + 0.01);
  assert.ok(Math.abs(last.x - (b.x + b.w / 2)) <= b.w / 2 + 0.01);
});

test('nodes of one layer never overlap, whatever the fan-out', () => {
  const nodes = [box('s')];
  const edges = [];
  for (let i = 0; i < 12; i++) {
    nodes.push(box('b' + i));
    edges.push({ from: 's', to: 'b' + i });
    if (i % 3 === 0) edges.push({ from: 'b' + i, to: 'sink' });
  }
  nodes.push(box('sink'));
  const l = layout(nodes, edges);
  assert.ok(!overlaps(l));
  for (const n of l.nodes.values()) assert.ok(n.y >= 0 && n.x >= 0);
  assert.ok(l.width > 0 && l.height > 0);
});

test('edges to unknown nodes and repeated edges are ignored', () => {
  const l = layout(['a', 'b'].map(box), [{ from: 'a', to: 'b' }, { from: 'a', to: 'b' }, { from: 'a', to: 'zz' }]);
  assert.equal(l.edges.length, 1);
});

test('the layout is deterministic', () => {
  const nodes = ['a', 'b', 'c', 'd', 'e'].map(box);
  const edges = [{ from: 'a', to: 'c' }, { from: 'b', to: 'c' }, { from: 'c', to: 'd' }, { from: 'a', to: 'e' }];
  const one = layout(nodes, edges), two = layout(nodes, edges);
  assert.deepEqual([...one.nodes], [...two.nodes]);
  assert.deepEqual(one.edges, two.edges);
});
