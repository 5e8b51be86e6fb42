// A layered (Sugiyama-style) graph layout, left to right, pure: no DOM,
// so node's test runner checks it (ui/testdata/js/layout.test.mjs).
//
// 1. cycles are broken by reversing the back edges a depth-first search
//    finds (streams may loop: a bolt feeding an earlier one);
// 2. layers by longest path from the sources (spouts end up first);
// 3. edges longer than one layer get a dummy node in every layer between;
// 4. the order within layers minimises crossings by barycenter sweeps,
//    keeping the best order seen;
// 5. y coordinates move each node toward its neighbours' mean, without
//    overlaps, in a few passes; x comes from the layers' widths.

// layout places nodes [{id, w, h}] joined by edges [{from, to}] (several
// edges between the same pair are laid out once; self-loops are returned
// apart). Returns {width, height, nodes: Map id → {x, y, w, h, layer},
// edges: [{from, to, points: [{x, y}], reversed}], loops: [{id}]}.
export function layout(nodes, edges, opts = {}) {
  const layerGap = opts.layerGap ?? 80;
  const nodeGap = opts.nodeGap ?? 22;
  const margin = opts.margin ?? 12;
  const ids = nodes.map((n) => n.id);
  const size = new Map(nodes.map((n) => [n.id, { w: n.w, h: n.h }]));

  // Unique edges between known nodes; self-loops apart.
  const seen = new Set();
  const pairs = [];
  const loops = [];
  for (const e of edges) {
    if (!size.has(e.from) || !size.has(e.to)) continue;
    const k = e.from + '\u0000' + e.to;
    if (seen.has(k)) continue;
    seen.add(k);
    if (e.from === e.to) loops.push({ id: e.from });
    else pairs.push({ from: e.from, to: e.to });
  }

  // 1. Break cycles: DFS in input order; an edge to a node on the stack is
  // a back edge and is reversed.
  const out = new Map(ids.map((id) => [id, []]));
  for (const p of pairs) out.get(p.from).push(p);
  const state = new Map(); // 1 on stack, 2 done
  const reversed = new Set();
  const dfs = (start) => {
    const stack = [[start, 0]];
    state.set(start, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const list = out.get(top[0]);
      if (top[1] >= list.length) {
        state.set(top[0], 2);
        stack.pop();
        continue;
      }
      const p = list[top[1]++];
      const s = state.get(p.to);
      if (s === 1) reversed.add(p);
      else if (!s) {
        state.set(p.to, 1);
        stack.push([p.to, 0]);
      }
    }
  };
  const indeg = new Map(ids.map((id) => [id, 0]));
  for (const p of pairs) indeg.set(p.to, indeg.get(p.to) + 1);
  for (const id of ids) if (indeg.get(id) === 0 && !state.has(id)) dfs(id);
  for (const id of ids) if (!state.has(id)) dfs(id);
  const dag = pairs.map((p) => (reversed.has(p) ? { from: p.to, to: p.from, orig: p, rev: true } : { from: p.from, to: p.to, orig: p, rev: false }));

  // 2. Longest-path layering, in topological order (Kahn).
  const layer = new Map(ids.map((id) => [id, 0]));
  const succ = new Map(ids.map((id) => [id, []]));
  const deg = new Map(ids.map((id) => [id, 0]));
  for (const e of dag) {
    succ.get(e.from).push(e.to);
    deg.set(e.to, deg.get(e.to) + 1);
  }
  const queue = ids.filter((id) => deg.get(id) === 0);
  for (let i = 0; i < queue.length; i++) {
    const u = queue[i];
    for (const v of succ.get(u)) {
      layer.set(v, Math.max(layer.get(v), layer.get(u) + 1));
      deg.set(v, deg.get(v) - 1);
      if (deg.get(v) === 0) queue.push(v);
    }
  }

  // 3. Dummy nodes on long edges: every edge becomes a chain of unit edges.
  const nlayers = Math.max(0, ...layer.values()) + 1;
  const layers = Array.from({ length: nlayers }, () => []);
  for (const id of ids) layers[layer.get(id)].push(id);
  const chains = [];
  const up = new Map(); // node → predecessors (unit edges)
  const down = new Map();
  const link = (a, b) => {
    if (!down.has(a)) down.set(a, []);
    if (!up.has(b)) up.set(b, []);
    down.get(a).push(b);
    up.get(b).push(a);
  };
  let dummies = 0;
  for (const e of dag) {
    const chain = [e.from];
    for (let l = layer.get(e.from) + 1; l < layer.get(e.to); l++) {
      const d = '\u0001d' + dummies++;
      layer.set(d, l);
      size.set(d, { w: 0, h: 0 });
      layers[l].push(d);
      chain.push(d);
    }
    chain.push(e.to);
    for (let i = 0; i + 1 < chain.length; i++) link(chain[i], chain[i + 1]);
    chains.push({ e, chain });
  }

  // 4. Crossing minimisation: barycenter sweeps down and up.
  const pos = new Map();
  const index = () => layers.forEach((L) => L.forEach((id, i) => pos.set(id, i)));
  index();
  const crossings = () => {
    let c = 0;
    for (let l = 0; l + 1 < layers.length; l++) {
      const es = [];
      for (const a of layers[l]) for (const b of down.get(a) || []) es.push([pos.get(a), pos.get(b)]);
      for (let i = 0; i < es.length; i++) {
        for (let j = i + 1; j < es.length; j++) {
          if ((es[i][0] - es[j][0]) * (es[i][1] - es[j][1]) < 0) c++;
        }
      }
    }
    return c;
  };
  const sortBy = (L, nbrs) => {
    const bary = new Map(L.map((id) => {
      const ns = nbrs.get(id) || [];
      return [id, ns.length ? ns.reduce((s, n) => s + pos.get(n), 0) / ns.length : pos.get(id)];
    }));
    L.sort((a, b) => bary.get(a) - bary.get(b) || pos.get(a) - pos.get(b));
    L.forEach((id, i) => pos.set(id, i));
  };
  let best = layers.map((L) => L.slice());
  let bestC = crossings();
  for (let it = 0; it < 12 && bestC > 0; it++) {
    for (let l = 1; l < layers.length; l++) sortBy(layers[l], up);
    for (let l = layers.length - 2; l >= 0; l--) sortBy(layers[l], down);
    const c = crossings();
    if (c < bestC) {
      bestC = c;
      best = layers.map((L) => L.slice());
    }
  }
  for (let l = 0; l < layers.length; l++) layers[l] = best[l];
  index();

  // 5. Coordinates. x: each layer as wide as its widest node.
  const layerX = [];
  let x = margin;
  for (const L of layers) {
    const w = Math.max(0, ...L.map((id) => size.get(id).w));
    layerX.push({ x, w });
    x += w + layerGap;
  }
  const y = new Map();
  for (const L of layers) {
    let cy = margin;
    for (const id of L) {
      y.set(id, cy);
      cy += size.get(id).h + nodeGap;
    }
  }
  const center = (id) => y.get(id) + size.get(id).h / 2;
  const place = (L, nbrs) => {
    const want = L.map((id) => {
      const ns = nbrs.get(id) || [];
      return ns.length ? ns.reduce((s, n) => s + center(n), 0) / ns.length - size.get(id).h / 2 : y.get(id);
    });
    // Keep order and gaps: push down, then pull up, then push down again.
    const gap = (i) => (size.get(L[i]).h === 0 || (i + 1 < L.length && size.get(L[i + 1]).h === 0) ? nodeGap / 2 : nodeGap);
    for (let i = 1; i < L.length; i++) want[i] = Math.max(want[i], want[i - 1] + size.get(L[i - 1]).h + gap(i - 1));
    for (let i = L.length - 2; i >= 0; i--) want[i] = Math.min(want[i], want[i + 1] - size.get(L[i]).h - gap(i));
    for (let i = 1; i < L.length; i++) want[i] = Math.max(want[i], want[i - 1] + size.get(L[i - 1]).h + gap(i - 1));
    L.forEach((id, i) => y.set(id, want[i]));
  };
  for (let it = 0; it < 6; it++) {
    for (let l = 1; l < layers.length; l++) place(layers[l], up);
    for (let l = layers.length - 2; l >= 0; l--) place(layers[l], down);
  }
  const minY = Math.min(...[...y.values()]);
  for (const [id, v] of y) y.set(id, v - minY + margin);

  const placed = new Map();
  let height = 0;
  for (const id of ids) {
    const l = layer.get(id);
    const s = size.get(id);
    const nx = layerX[l].x + (layerX[l].w - s.w) / 2;
    placed.set(id, { x: nx, y: y.get(id), w: s.w, h: s.h, layer: l });
    height = Math.max(height, y.get(id) + s.h);
  }
  for (const L of layers) for (const id of L) height = Math.max(height, y.get(id));

  const outEdges = chains.map(({ e, chain }) => {
    const pts = chain.map((id, i) => {
      const l = layer.get(id);
      const s = size.get(id);
      const cx = layerX[l].x + layerX[l].w / 2;
      const cy = y.get(id) + s.h / 2;
      if (i === 0) return { x: cx + s.w / 2, y: cy };
      if (i === chain.length - 1) return { x: cx - s.w / 2, y: cy };
      return { x: cx, y: cy };
    });
    if (e.rev) pts.reverse();
    return { from: e.orig.from, to: e.orig.to, points: pts, reversed: e.rev };
  });
  return { width: Math.max(margin, x - layerGap + margin), height: height + margin, nodes: placed, edges: outEdges, loops, crossings: bestC };
}
