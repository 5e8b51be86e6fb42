// The logs page: view and follow a worker's log (or a task's lines in
// it) through nimbus, which proxies the supervisors' logviewers:
//
//   GET /api/v1/logviewer/log?host=H&file=F&start=S&length=L
//
// answered as the logviewer on H answers /api/v1/log?file=F&start=S&length=L
// (docs/ui.md, Wiring). Asked for text/plain, the body is the bytes
// [S, S+L) of the file and X-Log-Start / X-Log-File-Length tell where they
// are; without start, the last L bytes. A Storm logviewer's HTML page is
// read too (its <pre>), reloaded whole when following.

import { ApiError, request } from '../api.js';
import { fmtInt, lineFilter, route } from '../format.js';
import { h, link, swap } from '../dom.js';

const PAGE = 64 << 10; // bytes read when opening, and per "older" step
const MAX_BUFFER = 2 << 20; // characters kept in the page

export function create(segs, query, app) {
  const host = query.get('host') || '';
  const file = query.get('file') || '';
  const topoId = file.split('/')[0];

  let buf = ''; // the text shown, from offset start to end of the file
  let start = -1;
  let end = -1;
  let fileLength = -1;
  let html = false;
  let decoder = new TextDecoder();

  const filter = h('input', { type: 'text', id: 'log-filter', value: query.get('grep') || '', 'aria-describedby': 'log-filter-hint' });
  const follow = h('input', { type: 'checkbox', id: 'log-follow', checked: true });
  const older = h('button', { type: 'button', id: 'log-older' }, 'Load older');
  const info = h('span', { class: 'muted', id: 'log-info' });
  const pre = h('pre', { class: 'log', tabindex: '0', role: 'region', 'aria-label': `Log ${file}`, 'data-testid': 'log' });
  const state = h('div', { id: 'log-state' });
  const el = h('div', null,
    h('h1', null, 'Log ', h('span', { class: 'mono' }, file || '(none)')),
    h('p', null, host ? `Worker host ${host}. ` : '', topoId ? link(route(['topology', topoId]), 'Back to the topology') : link('#/', 'Back to the cluster')),
    state,
    h('div', { class: 'toolbar' },
      h('label', { for: 'log-filter' }, 'Show lines containing'), filter,
      h('label', { class: 'inline' }, follow, ' Follow'),
      older, h('span', { class: 'sep' }), info),
    h('p', { class: 'hint', id: 'log-filter-hint' }, 'A filter ending in a number does not match longer numbers: task=7 does not match task=70.'),
    pre);

  const page = { el, title: 'Log ' + file, refresh };

  filter.addEventListener('input', draw);
  follow.addEventListener('change', () => { if (follow.checked) app.refreshNow(); });
  older.addEventListener('click', loadOlder);

  async function fetchLog(params) {
    const q = new URLSearchParams({ host, file, ...params });
    const resp = await request(`/api/v1/logviewer/log?${q}`, { raw: true, accept: 'text/plain, text/html;q=0.5' });
    const ctype = resp.headers.get('Content-Type') || '';
    if (ctype.includes('html')) {
      const doc = new DOMParser().parseFromString(await resp.text(), 'text/html');
      const p = doc.querySelector('pre#logContent, pre.logContent, pre');
      return { html: true, text: p ? p.textContent : '' };
    }
    const bytes = new Uint8Array(await resp.arrayBuffer());
    const s = Number(resp.headers.get('X-Log-Start'));
    const len = Number(resp.headers.get('X-Log-File-Length'));
    return { bytes, start: Number.isFinite(s) ? s : null, fileLength: Number.isFinite(len) ? len : null };
  }

  async function refresh() {
    if (!host || !file) {
      page.live = false;
      swap(state, h('p', { class: 'note bad' }, 'No log named: open a log from a topology\'s workers or a component\'s executors.'));
      return;
    }
    if (start >= 0 && !follow.checked) return;
    let r;
    try {
      r = await fetchLog(start < 0 || html ? { length: PAGE } : { start: end, length: 1 << 20 });
    } catch (err) {
      // 404: no such route, host or file; 502: the node's logviewer does
      // not answer (it may yet: the page keeps trying).
      if (err instanceof ApiError && (err.status === 404 || err.status === 502)) {
        page.live = err.status === 502;
        swap(state, h('div', { class: 'note bad', 'data-testid': 'logs-unavailable' },
          h('p', null, h('strong', null, 'Logs are not available through this nimbus. '), err.message),
          h('p', null, `Read it on ${host}: the file is ${file} under the supervisor's storm.local.dir/logs.`)));
        older.disabled = true;
        follow.disabled = err.status === 404;
        return;
      }
      throw err;
    }
    swap(state);
    if (r.html) {
      html = true;
      buf = r.text;
      older.disabled = true;
    } else if (start < 0 || (r.fileLength !== null && r.fileLength < end)) {
      // First read, or the file was truncated or rotated: start again.
      decoder = new TextDecoder();
      buf = decoder.decode(r.bytes, { stream: true });
      start = r.start ?? 0;
      end = start + r.bytes.length;
      fileLength = r.fileLength ?? end;
    } else {
      buf += decoder.decode(r.bytes, { stream: true });
      end += r.bytes.length;
      fileLength = r.fileLength ?? end;
      if (buf.length > MAX_BUFFER) {
        const cut = buf.indexOf('\n', buf.length - MAX_BUFFER);
        buf = buf.slice(cut + 1);
        start = -2; // unknown: older pages no longer line up
        older.disabled = true;
      }
    }
    draw();
  }

  async function loadOlder() {
    if (start <= 0) return;
    const from = Math.max(0, start - PAGE);
    try {
      const r = await fetchLog({ start: from, length: start - from });
      buf = new TextDecoder().decode(r.bytes) + buf;
      start = from;
      draw();
      app.announce(`Loaded ${fmtInt(r.bytes.length)} older bytes`);
    } catch (err) {
      app.showBanner(`Could not load older lines: ${err.message}`);
    }
  }

  function draw() {
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 24;
    const keep = lineFilter(filter.value.trim());
    const lines = buf.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    const shown = filter.value.trim() ? lines.filter(keep) : lines;
    pre.textContent = shown.join('\n');
    older.disabled = html || start <= 0;
    info.textContent = html ? `${fmtInt(shown.length)} lines`
      : `${fmtInt(shown.length)} of ${fmtInt(lines.length)} lines · bytes ${fmtInt(Math.max(0, start))}–${fmtInt(end)} of ${fmtInt(fileLength)}`;
    if (atBottom && follow.checked) pre.scrollTop = pre.scrollHeight;
  }

  return page;
}

