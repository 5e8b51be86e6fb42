// The topology graph in SVG: components as nodes (spouts with a thick
// blue border; fill by capacity; a dashed red border for a recent error),
// streams as edges labelled with their rates. Each node is a link to the
// component's page, reachable with Tab.

import { layout } from './layout.js';
import { capacityLevel, fmtRate, route } from './format.js';
import { h } from './dom.js';

const NODE_H = 46;

function detailOf(n) {
  return n.kind === 'spout' ? `spout · ${n.executors} ex` : `cap ${n.capacity || '–'} · ${n.executors} ex`;
}

// nodeWidth fits the id (bold) and the detail line, within bounds.
function nodeWidth(n) {
  return Math.min(230, Math.max(96, 7.8 * n.id.length + 24, 6.8 * (detailOf(n).length + 2) + 24));
}

function shorten(label, w) {
  const max = Math.floor((w - 16) / 7.8);
  return label.length <= max ? label : label.slice(0, Math.max(1, max - 1)) + '…';
}

let cached = { key: '', result: null };

// render returns the graph's element for model {topologyId, nodes:
// [{id, kind, capacity, executors, recentError, lastError}], edges: [{from,
// to, stream, grouping, rate}]}.
export function render(model) {
  const nodes = model.nodes.map((n) => ({ id: n.id, w: nodeWidth(n), h: NODE_H }));
  // Room between layers for the longest label: "stream 12,345/s".
  const longest = Math.max(0, ...model.edges.map((e) => e.stream.length));
  const layerGap = Math.min(220, Math.max(70, 6.4 * (longest + 10) + 16));
  const key = JSON.stringify([nodes.map((n) => n.id), model.edges.map((e) => [e.from, e.to]), layerGap]);
  if (cached.key !== key) cached = { key, result: layout(nodes, model.edges, { layerGap }) };
  const L = cached.result;
  const byId = new Map(model.nodes.map((n) => [n.id, n]));

  const svg = h('svg:svg', {
    viewBox: `0 0 ${Math.ceil(L.width)} ${Math.ceil(L.height + 16)}`,
    // Natural size, shrunk (never enlarged) to fit the page.
    width: Math.ceil(L.width),
    height: Math.ceil(L.height + 16),
    role: 'group',
    'aria-label': `Topology graph: ${model.nodes.length} components, ${model.edges.length} streams`,
    'data-testid': 'graph',
  });
  svg.appendChild(h('svg:defs', null,
    h('svg:marker', { id: 'arrow', viewBox: '0 0 10 10', refX: '10', refY: '5', markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse' },
      h('svg:path', { d: 'M 0 0 L 10 5 L 0 10 z' }))));

  // Edges: one path per component pair, labelled with each stream's rate.
  const groups = new Map();
  for (const e of model.edges) {
    const k = e.from + '\u0000' + e.to;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(e);
  }
  for (const le of L.edges) {
    const streams = groups.get(le.from + '\u0000' + le.to) || [];
    const label = streams.map((s) => s.stream + (Number.isFinite(s.rate) ? ' ' + fmtRate(s.rate) : '')).join(', ');
    const busy = streams.some((s) => s.rate > 0);
    const mid = le.points[Math.floor(le.points.length / 2)];
    const prev = le.points[Math.floor(le.points.length / 2) - 1] || mid;
    const lx = le.points.length % 2 === 0 ? (mid.x + prev.x) / 2 : mid.x;
    const ly = (le.points.length % 2 === 0 ? (mid.y + prev.y) / 2 : mid.y) - 6;
    const title = streams.map((s) => `${s.from} → ${s.to}, stream ${s.stream}` + (s.grouping ? `, ${s.grouping} grouping` : '') +
      (Number.isFinite(s.rate) ? `, ${fmtRate(s.rate)}` : '')).join('\n');
    svg.appendChild(h('svg:g', { class: 'edge' + (busy ? ' busy' : ''), 'data-from': le.from, 'data-to': le.to, 'data-streams': streams.map((s) => s.stream).join(',') },
      h('svg:title', null, title),
      h('svg:path', { d: curve(le.points), 'marker-end': 'url(#arrow)' }),
      h('svg:text', { x: lx, y: ly, 'text-anchor': 'middle', class: 'bg', 'aria-hidden': 'true' }, label),
      h('svg:text', { x: lx, y: ly, 'text-anchor': 'middle' }, label)));
  }
  for (const loop of L.loops) {
    const n = L.nodes.get(loop.id);
    const streams = groups.get(loop.id + '\u0000' + loop.id) || [];
    const x0 = n.x + n.w * 0.3, x1 = n.x + n.w * 0.7;
    svg.appendChild(h('svg:g', { class: 'edge', 'data-from': loop.id, 'data-to': loop.id, 'data-streams': streams.map((s) => s.stream).join(',') },
      h('svg:title', null, streams.map((s) => `${s.from} → ${s.to}, stream ${s.stream}`).join('\n')),
      h('svg:path', { d: `M ${x1} ${n.y} C ${x1} ${n.y - 26}, ${x0} ${n.y - 26}, ${x0} ${n.y}`, 'marker-end': 'url(#arrow)' })));
  }

  for (const [id, p] of L.nodes) {
    const n = byId.get(id);
    const level = n.kind === 'spout' ? 'none' : capacityLevel(n.capacity);
    const detail = detailOf(n);
    const shown = shorten(id, p.w);
    const badge = n.recentError ? '⚠ ' : '';
    // The link's name is its visible text; <desc> says the rest, and the
    // rectangle's <title> shows it on hover.
    const label = `${id}: ${n.kind}, ${n.executors} executors` +
      (n.kind === 'bolt' ? `, capacity ${n.capacity || 'unknown'}` : '') + (n.recentError ? ', recent error: ' + n.lastError : '');
    svg.appendChild(h('svg:a', {
      href: route(['topology', model.topologyId, 'component', id]),
      class: `node ${n.kind}` + (n.recentError ? ' error' : ''),
      'data-id': id,
      'data-key': 'node:' + id,
    },
    h('svg:desc', null, label),
    h('svg:rect', { x: p.x, y: p.y, width: p.w, height: p.h, rx: n.kind === 'spout' ? 14 : 4, class: 'cap-' + level },
      h('svg:title', null, label)),
    h('svg:text', { x: p.x + p.w / 2, y: p.y + 19, 'text-anchor': 'middle', class: 'id' }, shown),
    h('svg:text', { x: p.x + p.w / 2, y: p.y + 36, 'text-anchor': 'middle' }, badge + detail)));
  }

  const legend = h('div', { class: 'legend', 'aria-hidden': 'true' },
    h('span', null, h('span', { class: 'swatch cap-none' }), 'spout'),
    h('span', null, h('span', { class: 'swatch cap-low' }), 'capacity < 0.5'),
    h('span', null, h('span', { class: 'swatch cap-mid' }), '0.5 – 0.8'),
    h('span', null, h('span', { class: 'swatch cap-high' }), '≥ 0.8 (saturated)'),
    h('span', null, '⚠ dashed red: error in the last 10 min'),
    h('span', null, 'edge labels: stream and tuples/s executed downstream'));
  return h('div', { class: 'graph' }, svg, legend);
}

// curve draws a smooth path through points, horizontal at each point.
function curve(pts) {
  let d = `M ${pts[0].x} ${pts[0].y}`;
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1], b = pts[i];
    const dx = (b.x - a.x) / 2;
    d += ` C ${a.x + dx} ${a.y}, ${b.x - dx} ${b.y}, ${b.x} ${b.y}`;
  }
  return d;
}
