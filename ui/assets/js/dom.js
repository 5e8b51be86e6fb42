// DOM helpers: element building, sortable tables, and swapping a
// section's content without losing the keyboard focus inside it.

import { fmtInt } from './format.js';

// h builds an element. attrs: "class", "text", "on<event>" handlers,
// booleans as presence, everything else as an attribute.
export function h(tag, attrs, ...children) {
  const el = tag.startsWith('svg:')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// swap replaces el's children, keeping the focus on the element with the
// same data-key (or id) if the focus was inside.
export function swap(el, ...children) {
  const active = document.activeElement;
  let key = null;
  if (active && el.contains(active)) key = active.getAttribute('data-key') || (active.id ? '#' + active.id : null);
  const scroll = new Map();
  el.querySelectorAll('[data-keep-scroll]').forEach((s) => scroll.set(s.getAttribute('data-keep-scroll'), s.scrollTop));
  el.replaceChildren();
  append(el, children);
  el.querySelectorAll('[data-keep-scroll]').forEach((s) => {
    const top = scroll.get(s.getAttribute('data-keep-scroll'));
    if (top !== undefined) s.scrollTop = top;
  });
  if (key) {
    const next = key.startsWith('#') ? el.querySelector(key) : el.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (next) next.focus({ preventScroll: true });
  }
}

// section is a titled region of a page whose body swap() updates.
export function section(id, title, ...intro) {
  const body = h('div', { id: id + '-body' });
  const el = h('section', { id, 'aria-labelledby': id + '-title' }, h('h2', { id: id + '-title' }, title), ...intro, body);
  return { el, body };
}

// summary is a definition list of label/value pairs.
export function summary(pairs, testid) {
  return h('dl', { class: 'summary', 'data-testid': testid },
    pairs.filter(Boolean).map(([label, value, key]) =>
      h('div', null, h('dt', null, label), h('dd', { 'data-field': key || null }, value))));
}

export function statusBadge(status) {
  return h('span', { class: 'status status-' + String(status).replace(/\s+/g, '-') }, status);
}

export function link(href, text, attrs) {
  return h('a', { href, ...(attrs || {}) }, text);
}

// sortState remembers each table's sort across refreshes, by table key.
const sortState = new Map();

// table builds a table. columns: {key, label, num, value(row) for sorting
// and default text, cell(row) for custom content, title}. rows: objects.
// The header buttons sort it (the sort survives refreshes).
export function table({ key, caption, columns, rows, empty, rowKey }) {
  const st = sortState.get(key);
  let sorted = rows.slice();
  if (st) {
    const col = columns.find((c) => c.key === st.col);
    if (col) {
      const val = col.value || ((r) => r[col.key]);
      sorted.sort((a, b) => cmp(val(a), val(b)) * st.dir);
    }
  }
  const redraw = (tableEl, colKey) => {
    const cur = sortState.get(key);
    const dir = cur && cur.col === colKey ? -cur.dir : 1;
    sortState.set(key, { col: colKey, dir });
    const next = table({ key, caption, columns, rows, empty, rowKey });
    tableEl.replaceWith(next);
    const btn = next.querySelector(`th[data-col="${CSS.escape(colKey)}"] button`);
    if (btn) btn.focus();
  };
  const thead = h('thead', null, h('tr', null, columns.map((c) => {
    const sort = st && st.col === c.key ? (st.dir > 0 ? 'ascending' : 'descending') : null;
    return h('th', { scope: 'col', class: c.num ? 'num' : null, 'data-col': c.key, 'aria-sort': sort, title: c.title },
      h('button', { type: 'button', 'data-key': `${key}:sort:${c.key}`, onclick: (e) => redraw(e.target.closest('table'), c.key) }, c.label));
  })));
  const tbody = h('tbody', null, sorted.length === 0
    ? h('tr', { class: 'empty' }, h('td', { colspan: columns.length }, empty || 'None'))
    : sorted.map((r) => h('tr', { 'data-row': rowKey ? rowKey(r) : null }, columns.map((c) => {
      const content = c.cell ? c.cell(r) : (c.num ? fmtInt((c.value || ((x) => x[c.key]))(r)) : (c.value ? c.value(r) : r[c.key]));
      return h('td', { class: [c.num ? 'num' : '', c.class || ''].join(' ').trim() || null, 'data-col': c.key }, content);
    }))));
  return h('table', { 'data-table': key }, caption ? h('caption', null, caption) : null, thead, tbody);
}

function cmp(a, b) {
  const na = Number(a), nb = Number(b);
  if (a !== '' && b !== '' && a !== null && b !== null && !Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
  return String(a ?? '').localeCompare(String(b ?? ''));
}

// configTable shows a configuration map with a filter box, keys sorted;
// values as JSON (secrets appear as the API returns them: redacted).
export function configTable(key, conf, filterInput) {
  const q = (filterInput && filterInput.value || '').toLowerCase();
  const rows = Object.keys(conf || {}).sort()
    .map((k) => ({ key: k, value: typeof conf[k] === 'string' ? conf[k] : JSON.stringify(conf[k]) }))
    .filter((r) => !q || r.key.toLowerCase().includes(q) || String(r.value).toLowerCase().includes(q));
  return table({
    key, columns: [
      { key: 'key', label: 'Key', cell: (r) => h('code', null, r.key) },
      { key: 'value', label: 'Value', cell: (r) => h('code', null, r.value) },
    ], rows, empty: q ? 'No key matches the filter' : 'Empty',
  });
}

// filteredConfig is a <details> with a filter box and configTable, the
// filter kept across refreshes.
export function filteredConfig(id, title) {
  const input = h('input', { type: 'text', id: id + '-filter', 'aria-label': title + ': filter keys and values', placeholder: 'filter' });
  const body = h('div');
  let conf = {};
  input.addEventListener('input', () => swap(body, configTable(id, conf, input)));
  const el = h('details', { id }, h('summary', null, title), h('div', { class: 'filter' }, input), body);
  return { el, set(c) { conf = c || {}; swap(body, configTable(id, conf, input)); } };
}
