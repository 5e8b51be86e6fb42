// The topology page: summary, actions, the live graph, Storm's stats
// tables with the window selector, last errors, workers with their logs,
// and the configuration.

import { ApiError, enc, get, optional, post } from '../api.js';
import { WINDOWS, RECENT_ERROR_SECS, fmtInt, fmtTime, fmtRate, fmtUptime, parseBool, parseExecutors, capacityLevel, route, windowLabel } from '../format.js';
import { h, section, summary, swap, table, statusBadge, link, filteredConfig } from '../dom.js';
import { confirmDialog } from '../dialog.js';
import * as graph from '../graph.js';

// MAX_BOLT_PAGES bounds the component pages read per refresh for the
// streams' rates (without the visualization route, also their edges).
const MAX_BOLT_PAGES = 40;

// RATE_SPAN is the time a stream's rate is measured over, in ms.
const RATE_SPAN = 20000;

export function create(segs, query, app) {
  const id = segs[1];
  let win = query.get('window') || ':all-time';
  let sys = parseBool(query.get('sys'), false);
  let actionsBlocked = ''; // why the actions are hidden, once known
  let clusterConf = null;
  // Samples of each stream's executed count, {n, t}, for its rate: over at
  // least RATE_SPAN ms, since workers report their counts every few seconds.
  const samples = new Map();

  const title = h('h1', null, 'Topology ', h('span', { class: 'mono' }, id));
  const sum = h('div');
  const notes = h('div', { id: 'topology-notes' });
  const actions = section('topology-actions', 'Topology actions');
  const winSelect = h('select', { id: 'window' }, WINDOWS.map((w) => h('option', { value: w.value, selected: w.value === win }, w.label)));
  const sysBox = h('input', { type: 'checkbox', id: 'sys', checked: sys });
  const controls = h('div', { class: 'toolbar' },
    h('label', { for: 'window' }, 'Stats window'), winSelect,
    h('label', { class: 'inline' }, sysBox, ' Show system components and streams'));
  const gsec = section('topology-graph', 'Topology graph');
  const streams = section('topology-streams', 'Streams');
  const stats = section('topology-stats', 'Topology stats');
  const spouts = section('topology-spouts', 'Spouts');
  const bolts = section('topology-bolts', 'Bolts');
  const errors = section('topology-errors', 'Last errors');
  const workers = section('topology-workers', 'Workers');
  const conf = filteredConfig('topology-configuration', 'Topology configuration');
  const el = h('div', null, title, sum, notes, actions.el, controls, gsec.el, stats.el, spouts.el, bolts.el,
    errors.el, workers.el, streams.el, conf.el);

  const setQuery = () => {
    history.replaceState(null, '', route(['topology', id], { window: win === ':all-time' ? '' : win, sys: sys ? '1' : '' }));
  };
  winSelect.addEventListener('change', () => { win = winSelect.value; setQuery(); app.refreshNow(); });
  sysBox.addEventListener('change', () => { sys = sysBox.checked; setQuery(); samples.clear(); app.refreshNow(); });

  const page = { el, title: 'Topology ' + id, refresh };

  async function refresh() {
    const q = `window=${enc(win)}&sys=${sys}`;
    let topo;
    try {
      topo = await get(`/api/v1/topology/${enc(id)}?${q}`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        page.live = false;
        swap(el, h('h1', null, 'Topology ', h('span', { class: 'mono' }, id)),
          h('p', { class: 'note bad', 'data-testid': 'not-found' }, `nimbus knows no topology ${id}: it was killed, or never submitted. `,
            link('#/', 'Back to the cluster')));
        return;
      }
      throw err;
    }
    if (!clusterConf) clusterConf = await get('/api/v1/cluster/configuration');
    const [errs, vis, pages] = await Promise.all([
      get(`/api/v1/topology/${enc(id)}/errors`),
      optional(`/api/v1/topology/${enc(id)}/visualization?${q}`, `visualization:${id}`),
      boltPages(topo, q),
    ]);
    title.replaceChildren(`Topology ${topo.name} `, statusBadge(topo.status));
    page.title = 'Topology ' + topo.name;
    document.title = page.title + ' · squall';
    drawSummary(topo);
    drawNotes(topo, vis, pages);
    drawActions(topo);
    const model = graphModel(topo, vis, pages);
    swap(gsec.body, graph.render(model));
    drawStreams(model, vis);
    drawStats(topo);
    drawErrors(errs);
    drawWorkers(topo);
    conf.set(topo.configuration);
  }

  async function boltPages(topo, q) {
    const list = (topo.bolts || []).slice(0, MAX_BOLT_PAGES);
    const out = new Map();
    // Four at a time: a large topology must not flood nimbus.
    for (let i = 0; i < list.length; i += 4) {
      const got = await Promise.all(list.slice(i, i + 4).map((b) =>
        get(`/api/v1/topology/${enc(id)}/component/${enc(b.boltId)}?${q}`).catch(() => null)));
      got.forEach((p, j) => { if (p) out.set(list[i + j].boltId, p); });
    }
    return out;
  }

  function drawSummary(t) {
    swap(sum, summary([
      ['Name', t.name, 'name'],
      ['Id', h('span', { class: 'mono' }, t.id), 'id'],
      ['Owner', t.owner || '–', 'owner'],
      ['Status', t.status, 'status'],
      ['Uptime', t.uptime, 'uptime'],
      ['Workers', fmtInt(t.workersTotal), 'workersTotal'],
      ['Executors', fmtInt(t.executorsTotal), 'executorsTotal'],
      ['Tasks', fmtInt(t.tasksTotal), 'tasksTotal'],
      ['Replication', fmtInt(t.replicationCount), 'replicationCount'],
      ['Message timeout', t.msgTimeout + ' s', 'msgTimeout'],
      t.checkpointTxid != null && ['Last checkpoint', checkpointText(t), 'checkpointTxid'],
      ['Version', t.stormVersion, 'stormVersion'],
    ], 'topology-summary'));
  }

  // A stateful topology's last committed checkpoint and its age.
  function checkpointText(t) {
    const age = fmtUptime(t.checkpointAgeSecs);
    if (Number(t.checkpointTxid) < 0) return `none committed yet (${age} since the checkpoint spout started)`;
    return `txid ${t.checkpointTxid}, committed ${age} ago`;
  }

  function drawNotes(t, vis, pages) {
    const n = [];
    if (t.schedulerInfo) n.push(h('p', { class: 'note' }, t.schedulerInfo));
    if (t.checkpointStalled) {
      const every = Number(t.checkpointIntervalMs) / 1000;
      n.push(h('p', { class: 'note bad', 'data-testid': 'checkpoint-stalled', role: 'alert' },
        `Checkpoint stalled: no checkpoint committed for ${fmtUptime(t.checkpointAgeSecs)} ` +
        `(10 intervals of ${every} s or more). The state is not advancing, and the spouts' acks, held until a commit, have stopped.`));
    }
    if (t.window !== win) {
      n.push(h('p', { class: 'note', 'data-testid': 'window-fallback' },
        `nimbus has no ${windowLabel(win)} window: the figures are ${t.windowHint || windowLabel(t.window)}.`));
    }
    if (!vis) {
      n.push(h('p', { class: 'note', 'data-testid': 'no-visualization' },
        'This nimbus has no visualization route: the graph shows the streams that have carried tuples, without their groupings.' +
        ((t.bolts || []).length > pages.size ? ` Rates are shown for the first ${pages.size} bolts.` : '')));
    }
    swap(notes, ...n);
  }

  function actionsState(t) {
    if (!parseBool(clusterConf['ui.actions.enabled'], true)) return 'Actions are turned off on this cluster (ui.actions.enabled is false).';
    if (t.topologyActionsAllowed === false) return 'You may view this topology but not operate it.';
    return actionsBlocked;
  }

  function drawActions(t) {
    const why = actionsState(t);
    if (why) {
      swap(actions.body, h('p', { class: 'muted', 'data-testid': 'actions-hidden' }, why));
      return;
    }
    const st = t.status;
    // aria-disabled, not disabled: a button the status rules out keeps
    // its place in the Tab order and the focus after a refresh.
    const btn = (label, op, enabled, run) => h('button', {
      type: 'button', id: 'action-' + op, 'data-key': 'action:' + op, 'aria-disabled': enabled ? null : 'true',
      class: op === 'kill' ? 'danger' : null, onclick: () => { if (enabled) run(); },
      title: enabled ? null : `Not while the topology is ${st}`,
    }, label);
    swap(actions.body, h('div', { class: 'toolbar' },
      btn('Activate', 'activate', st === 'INACTIVE', () => act(t, 'activate')),
      btn('Deactivate', 'deactivate', st === 'ACTIVE', () => act(t, 'deactivate')),
      btn('Rebalance', 'rebalance', st === 'ACTIVE' || st === 'INACTIVE', () => act(t, 'rebalance')),
      btn('Kill', 'kill', st !== 'KILLED', () => act(t, 'kill')),
      h('span', { class: 'sep' }),
      t.debug
        ? btn(`Stop debug (${t.samplingPct}%)`, 'debug', st !== 'KILLED', () => debugAction(app, t.id, '', t.name, false))
        : btn('Debug', 'debug', st !== 'KILLED', () => debugAction(app, t.id, '', t.name, true))));
  }

  const isWait = (v) => (/^\d+$/.test(v) ? '' : 'The wait time is a whole number of seconds.');

  async function act(t, op) {
    let path = `/api/v1/topology/${enc(t.id)}/${op}`;
    let body;
    if (op === 'activate' || op === 'deactivate') {
      const ok = await confirmDialog({ title: `${op === 'activate' ? 'Activate' : 'Deactivate'} ${t.name}?`,
        text: op === 'activate' ? 'Its spouts start emitting again.' : 'Its spouts stop emitting; the tuples in flight finish.',
        ok: op === 'activate' ? 'Activate' : 'Deactivate' });
      if (!ok) return;
    } else if (op === 'kill') {
      const v = await confirmDialog({ title: `Kill ${t.name}?`, danger: true, ok: 'Kill',
        text: 'The topology is deactivated at once, and its workers stop after the wait time.',
        fields: [{ id: 'wait', label: 'Wait time (seconds)', type: 'number', min: 0, step: 1, value: 30, required: true }],
        validate: (x) => isWait(x.wait) });
      if (!v) return;
      path += '/' + v.wait;
    } else {
      const v = await confirmDialog({ title: `Rebalance ${t.name}?`, ok: 'Rebalance',
        text: 'The topology is deactivated for the wait time, then its executors are spread again.',
        fields: [
          { id: 'wait', label: 'Wait time (seconds)', type: 'number', min: 0, step: 1, value: t.msgTimeout, required: true },
          { id: 'workers', label: 'Number of workers (optional)', type: 'number', min: 1, step: 1, placeholder: String(t.workersTotal) },
          { id: 'executors', label: 'Executors per component (optional)', placeholder: 'split=4 count=2', hint: 'component=N pairs, separated by spaces' },
        ],
        validate: (x) => {
          if (isWait(x.wait)) return isWait(x.wait);
          if (x.workers && !/^[1-9]\d*$/.test(x.workers)) return 'The number of workers is a whole number above 0.';
          try { parseExecutors(x.executors); } catch (err) { return err.message; }
          return '';
        } });
      if (!v) return;
      path += '/' + v.wait;
      const opts = {};
      if (v.workers) opts.numWorkers = Number(v.workers);
      const ex = parseExecutors(v.executors);
      if (Object.keys(ex).length) opts.executors = ex;
      body = Object.keys(opts).length ? { rebalanceOptions: opts } : {};
    }
    try {
      const r = await post(path, body);
      const msg = `${op} ${t.name}: ${r.status}`;
      app.showBanner(msg, 'info');
      app.announce(msg);
    } catch (err) {
      if (err.status === 403) actionsBlocked = `You may not operate this topology: ${err.message}`;
      app.showBanner(`${op} ${t.name} failed: ${err.message}`);
      app.announce(`${op} ${t.name} failed: ${err.message}`);
    }
    await app.refreshNow();
  }

  // graphModel joins the topology's components with the edges the
  // visualization route gives (Storm's shape), or, without it, the inputs
  // the bolts' pages report; rates come from the executed counts.
  function graphModel(t, vis, pages) {
    const nodes = [];
    for (const s of t.spouts || []) {
      nodes.push({ id: s.spoutId, kind: 'spout', executors: s.executors, recentError: recent(s), lastError: s.lastError });
    }
    for (const b of t.bolts || []) {
      nodes.push({ id: b.boltId, kind: 'bolt', executors: b.executors, capacity: b.capacity, recentError: recent(b), lastError: b.lastError });
    }
    const known = new Set(nodes.map((n) => n.id));
    const edges = new Map();
    const add = (from, to, stream, grouping) => {
      if (!known.has(from) || !known.has(to)) return null;
      if (!sys && (stream.startsWith('__') || from.startsWith('__'))) return null;
      const k = from + '\u0000' + stream + '\u0000' + to;
      if (!edges.has(k)) edges.set(k, { from, to, stream, grouping: grouping || '', executed: null });
      return edges.get(k);
    };
    if (vis) {
      for (const [comp, v] of Object.entries(vis)) {
        for (const input of v[':inputs'] || []) add(input[':component'], comp, input[':stream'], input[':grouping']);
      }
    }
    for (const [bolt, p] of pages) {
      for (const input of p.inputStats || []) {
        const e = vis ? edges.get(input.component + '\u0000' + input.stream + '\u0000' + bolt) : add(input.component, bolt, input.stream);
        if (e) e.executed = input.executed;
      }
    }
    const now = performance.now();
    for (const [k, e] of edges) {
      if (e.executed === null) continue;
      let list = samples.get(k) || [];
      if (list.length && e.executed < list[list.length - 1].n) list = []; // a worker restarted
      list.push({ n: e.executed, t: now });
      // Keep the newest sample older than the span, and those after it.
      while (list.length > 2 && now - list[1].t >= RATE_SPAN) list.shift();
      samples.set(k, list);
      const first = list[0];
      if (now - first.t >= RATE_SPAN / 2) e.rate = (e.executed - first.n) / ((now - first.t) / 1000);
    }
    return { topologyId: t.id, nodes, edges: [...edges.values()] };
  }

  function drawStreams(model, vis) {
    swap(streams.body, table({
      key: 'streams', rows: model.edges, rowKey: (r) => `${r.from}:${r.stream}:${r.to}`,
      empty: vis ? 'No streams' : 'No stream has carried a tuple yet',
      columns: [
        { key: 'from', label: 'From', cell: (r) => link(route(['topology', id, 'component', r.from]), r.from) },
        { key: 'stream', label: 'Stream' },
        { key: 'to', label: 'To', cell: (r) => link(route(['topology', id, 'component', r.to]), r.to) },
        { key: 'grouping', label: 'Grouping', value: (r) => r.grouping || '–' },
        { key: 'executed', label: 'Executed', num: true },
        { key: 'rate', label: 'Rate', num: true, cell: (r) => fmtRate(r.rate) || '–' },
      ],
    }));
  }

  function drawStats(t) {
    swap(stats.body, table({
      key: 'topology-stats', rows: t.topologyStats || [], rowKey: (r) => r.window,
      columns: [
        { key: 'windowPretty', label: 'Window' },
        { key: 'emitted', label: 'Emitted', num: true },
        { key: 'transferred', label: 'Transferred', num: true },
        { key: 'completeLatency', label: 'Complete latency (ms)', num: true, cell: (r) => r.completeLatency },
        { key: 'acked', label: 'Acked', num: true },
        { key: 'failed', label: 'Failed', num: true },
      ],
    }));
    const errCell = (r) => (r.lastError
      ? h('span', { class: recent(r) ? 'recent-error' : null, title: r.lastError }, r.lastError.length > 80 ? r.lastError.slice(0, 80) + '…' : r.lastError,
        h('br'), h('span', { class: 'muted' }, `${fmtTime(r.errorTime)} on ${r.errorHost}:${r.errorPort}`))
      : '');
    const compLink = (cid) => link(route(['topology', id, 'component', cid]), cid, { 'data-key': 'comp:' + cid });
    swap(spouts.body, table({
      key: 'spouts', rows: t.spouts || [], rowKey: (r) => r.spoutId,
      columns: [
        { key: 'spoutId', label: 'Id', cell: (r) => compLink(r.spoutId) },
        { key: 'executors', label: 'Executors', num: true },
        { key: 'tasks', label: 'Tasks', num: true },
        { key: 'emitted', label: 'Emitted', num: true },
        { key: 'transferred', label: 'Transferred', num: true },
        { key: 'completeLatency', label: 'Complete latency (ms)', num: true, cell: (r) => r.completeLatency },
        { key: 'acked', label: 'Acked', num: true },
        { key: 'failed', label: 'Failed', num: true },
        { key: 'lastError', label: 'Last error', class: 'err', cell: errCell },
      ],
    }));
    swap(bolts.body, table({
      key: 'bolts', rows: t.bolts || [], rowKey: (r) => r.boltId,
      columns: [
        { key: 'boltId', label: 'Id', cell: (r) => compLink(r.boltId) },
        { key: 'executors', label: 'Executors', num: true },
        { key: 'tasks', label: 'Tasks', num: true },
        { key: 'emitted', label: 'Emitted', num: true },
        { key: 'transferred', label: 'Transferred', num: true },
        { key: 'capacity', label: 'Capacity', num: true, cell: (r) => h('span', { class: 'cap-' + capacityLevel(r.capacity) }, r.capacity),
          title: 'Fraction of the recent time its executors were busy; near 1 is a bottleneck' },
        { key: 'executeLatency', label: 'Execute latency (ms)', num: true, cell: (r) => r.executeLatency },
        { key: 'executed', label: 'Executed', num: true },
        { key: 'processLatency', label: 'Process latency (ms)', num: true, cell: (r) => r.processLatency },
        { key: 'acked', label: 'Acked', num: true },
        { key: 'failed', label: 'Failed', num: true },
        { key: 'lastError', label: 'Last error', class: 'err', cell: errCell },
      ],
    }));
  }

  function drawErrors(errs) {
    const rows = (errs.topologyErrors || []).slice().reverse(); // newest first
    swap(errors.body, table({
      key: 'errors', rows, empty: 'No component reported an error',
      columns: [
        { key: 'errorTime', label: 'Time', cell: (r) => fmtTime(r.errorTime) },
        { key: 'component', label: 'Component', cell: (r) => link(route(['topology', id, 'component', r.component]), r.component) },
        { key: 'task', label: 'Task', num: true, cell: (r) => taskLogLink(id, r.errorHost, r.errorPort, r.task) },
        { key: 'errorHost', label: 'Worker', cell: (r) => workerLogLink(id, r.errorHost, r.errorPort, r.errorWorkerLogLink) },
        { key: 'error', label: 'Error', class: 'err', cell: (r) => h('pre', null, r.error) },
      ],
    }));
  }

  function drawWorkers(t) {
    swap(workers.body, table({
      key: 'workers', rows: t.workers || [], rowKey: (r) => `${r.host}:${r.port}`, empty: 'No worker is assigned',
      columns: [
        { key: 'host', label: 'Host' },
        { key: 'port', label: 'Port', num: true, cell: (r) => String(r.port) },
        { key: 'uptimeSeconds', label: 'Uptime', num: true, cell: (r) => r.uptime },
        { key: 'executorsTotal', label: 'Executors', num: true },
        { key: 'components', label: 'Components (tasks)', value: (r) => Object.entries(r.componentNumTasks || {}).sort().map(([c, n]) => `${c} (${n})`).join(', ') },
        { key: 'supervisorId', label: 'Supervisor', cell: (r) => h('span', { class: 'mono' }, r.supervisorId) },
        { key: 'log', label: 'Log', cell: (r) => workerLogLink(id, r.host, r.port, r.workerLogLink) },
      ],
    }));
  }

  return page;
}

function recent(c) {
  return Boolean(c.lastError) && c.errorLapsedSecs !== null && c.errorLapsedSecs < RECENT_ERROR_SECS;
}

// logFile is the worker log's name under the logs root, as Storm's
// logviewer names it.
export function logFile(topologyId, port) {
  return `${topologyId}/${port}/worker.log`;
}

// eventLogFile is a worker's event log (Storm's events.log), where the
// tuples sampled while debug is on go.
export function eventLogFile(topologyId, port) {
  return `${topologyId}/${port}/events.log`;
}

export function eventLogLink(topologyId, host, port) {
  if (!host || !port) return '–';
  return link(route(['logs'], { host, file: eventLogFile(topologyId, port) }), 'events',
    { title: `The tuples sampled while debug is on, in the event log of worker ${host}:${port}` });
}

// debugAction is Storm's debug action, for the topology (component '') or
// one component: enabling asks for the sampling percent.
export async function debugAction(app, topoId, component, name, enable) {
  let path = `/api/v1/topology/${enc(topoId)}` + (component ? `/component/${enc(component)}` : '') + '/debug/';
  const what = component ? `component ${component}` : name;
  if (enable) {
    const v = await confirmDialog({ title: `Debug ${what}?`, ok: 'Debug',
      text: 'A share of the tuples it emits is written to its workers\' event logs (events.log), readable from the executors\' "events" links and with squall logs --events.',
      fields: [{ id: 'spct', label: 'Sampling percent', type: 'number', min: 0, step: 'any', value: 10, required: true }],
      validate: (x) => (/^\d+(\.\d+)?$/.test(x.spct) && Number(x.spct) > 0 && Number(x.spct) <= 100 ? '' : 'The sampling percent is a number above 0 and at most 100.') });
    if (!v) return;
    path += 'enable/' + v.spct;
  } else {
    path += 'disable/0';
  }
  try {
    await post(path);
    const msg = `debug ${enable ? 'on' : 'off'} for ${what}`;
    app.showBanner(msg, 'info');
    app.announce(msg);
  } catch (err) {
    app.showBanner(`debug ${what} failed: ${err.message}`);
    app.announce(`debug ${what} failed: ${err.message}`);
  }
  await app.refreshNow();
}

export function workerLogLink(topologyId, host, port, stormLink) {
  if (!host || !port) return '–';
  return link(route(['logs'], { host, file: logFile(topologyId, port) }), `${host}:${port}`,
    { title: stormLink ? `Also at ${stormLink}` : 'The worker\'s log, through nimbus' });
}

export function taskLogLink(topologyId, host, port, task) {
  if (!host || !port) return String(task);
  return link(route(['logs'], { host, file: logFile(topologyId, port), grep: `task=${task}` }), String(task),
    { title: `Task ${task}'s lines in its worker's log` });
}
