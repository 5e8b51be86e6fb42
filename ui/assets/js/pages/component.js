// The component page: window stats, inputs and outputs (with the
// components on the other side), per-executor stats with their logs,
// shell children's restarts, and the component's errors.

import { ApiError, enc, get, optional } from '../api.js';
import { WINDOWS, fmtInt, fmtTime, capacityLevel, executorTasks, parseBool, route, windowLabel } from '../format.js';
import { h, section, summary, swap, table, link } from '../dom.js';
import { debugAction, eventLogLink, taskLogLink, workerLogLink } from './topology.js';

export function create(segs, query, app) {
  const topoId = segs[1];
  const compId = segs[3];
  let win = query.get('window') || ':all-time';
  let sys = parseBool(query.get('sys'), false);

  const title = h('h1', null, 'Component ', h('span', { class: 'mono' }, compId));
  const back = h('p', null, link(route(['topology', topoId]), 'Back to the topology'));
  const sum = h('div');
  const notes = h('div');
  const winSelect = h('select', { id: 'window' }, WINDOWS.map((w) => h('option', { value: w.value, selected: w.value === win }, w.label)));
  const sysBox = h('input', { type: 'checkbox', id: 'sys', checked: sys });
  const controls = h('div', { class: 'toolbar' }, h('label', { for: 'window' }, 'Stats window'), winSelect,
    h('label', { class: 'inline' }, sysBox, ' Show system streams'));
  const stats = section('component-stats', 'Stats');
  const inputs = section('component-inputs', 'Input stats');
  const outputs = section('component-outputs', 'Output stats');
  const execs = section('component-executors', 'Executors');
  const children = section('component-children', 'Shell children');
  const lag = section('component-lag', 'Kafka lag');
  const errors = section('component-errors', 'Errors');
  const debugBar = h('div', { class: 'toolbar' });
  const el = h('div', null, title, back, sum, notes, debugBar, controls, stats.el, inputs.el, outputs.el,
    execs.el, children.el, lag.el, errors.el);

  const setQuery = () => history.replaceState(null, '', route(['topology', topoId, 'component', compId],
    { window: win === ':all-time' ? '' : win, sys: sys ? '1' : '' }));
  winSelect.addEventListener('change', () => { win = winSelect.value; setQuery(); app.refreshNow(); });
  sysBox.addEventListener('change', () => { sys = sysBox.checked; setQuery(); app.refreshNow(); });

  const page = { el, title: `Component ${compId}`, refresh };
  let clusterConf = null;

  async function refresh() {
    const q = `window=${enc(win)}&sys=${sys}`;
    let c;
    try {
      c = await get(`/api/v1/topology/${enc(topoId)}/component/${enc(compId)}?${q}`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        page.live = false;
        swap(el, h('h1', null, 'Component ', h('span', { class: 'mono' }, compId)),
          h('p', { class: 'note bad', 'data-testid': 'not-found' }, err.message + '. ', link(route(['topology', topoId]), 'Back to the topology')));
        return;
      }
      throw err;
    }
    const vis = await optional(`/api/v1/topology/${enc(topoId)}/visualization?${q}`, `visualization:${topoId}`);
    // Fetched before anything is drawn, so the summary and the debug action
    // appear together.
    if (!clusterConf) clusterConf = await get('/api/v1/cluster/configuration');
    const spout = c.componentType === 'spout';
    title.replaceChildren(`${spout ? 'Spout' : 'Bolt'} `, h('span', { class: 'mono' }, c.id));
    back.replaceChildren(link(route(['topology', topoId]), `Back to topology ${c.name}`));
    page.title = `${c.id} · ${c.name}`;
    document.title = page.title + ' · squall';
    swap(sum, summary([
      ['Topology', link(route(['topology', topoId]), c.name), 'name'],
      ['Type', c.componentType, 'componentType'],
      ['Executors', fmtInt(c.executors), 'executors'],
      ['Tasks', fmtInt(c.tasks), 'tasks'],
      ['Topology status', c.topologyStatus, 'topologyStatus'],
      ['Debug', c.debug ? `on, ${c.samplingPct}% sampled` : 'off', 'debug'],
    ], 'component-summary'));
    // Storm's component debug action, shown when the topology may be
    // operated: not killed, actions on, and the caller allowed.
    const operable = c.topologyStatus !== 'KILLED' && c.topologyActionsAllowed !== false &&
      parseBool(clusterConf['ui.actions.enabled'], true);
    swap(debugBar, !operable ? null : h('button', {
      type: 'button', id: 'action-debug', 'data-key': 'action:debug',
      onclick: () => debugAction(app, topoId, c.id, c.name, !c.debug),
    }, c.debug ? 'Stop debug' : 'Debug'));
    const n = [];
    if (c.window !== win) {
      n.push(h('p', { class: 'note', 'data-testid': 'window-fallback' },
        `nimbus has no ${windowLabel(win)} window: the figures are ${c.windowHint || windowLabel(c.window)}.`));
    }
    swap(notes, ...n);

    if (spout) {
      swap(stats.body, table({
        key: 'component-window', rows: c.spoutSummary || [], columns: [
          { key: 'windowPretty', label: 'Window' },
          { key: 'emitted', label: 'Emitted', num: true },
          { key: 'transferred', label: 'Transferred', num: true },
          { key: 'completeLatency', label: 'Complete latency (ms)', num: true, cell: (r) => r.completeLatency },
          { key: 'acked', label: 'Acked', num: true },
          { key: 'failed', label: 'Failed', num: true },
        ],
      }));
    } else {
      swap(stats.body, table({
        key: 'component-window', rows: c.boltStats || [], columns: [
          { key: 'windowPretty', label: 'Window' },
          { key: 'emitted', label: 'Emitted', num: true },
          { key: 'transferred', label: 'Transferred', num: true },
          { key: 'executeLatency', label: 'Execute latency (ms)', num: true, cell: (r) => r.executeLatency },
          { key: 'executed', label: 'Executed', num: true },
          { key: 'processLatency', label: 'Process latency (ms)', num: true, cell: (r) => r.processLatency },
          { key: 'capacity', label: 'Capacity', num: true, cell: (r) => h('span', { class: 'cap-' + capacityLevel(r.capacity) }, r.capacity) },
          { key: 'acked', label: 'Acked', num: true },
          { key: 'failed', label: 'Failed', num: true },
        ],
      }));
    }

    // Inputs: the page's stats, with the groupings (and the inputs that
    // carried nothing yet) from the visualization route when nimbus has it.
    const declared = vis && vis[c.id] ? vis[c.id][':inputs'] || [] : [];
    const inRows = (c.inputStats || []).map((r) => ({ ...r }));
    for (const d of declared) {
      const r = inRows.find((x) => x.component === d[':component'] && x.stream === d[':stream']);
      if (r) r.grouping = d[':grouping'];
      else if (sys || !d[':stream'].startsWith('__')) inRows.push({ component: d[':component'], stream: d[':stream'], grouping: d[':grouping'], executed: 0, acked: 0, failed: 0, executeLatency: '', processLatency: '' });
    }
    inputs.el.hidden = spout;
    swap(inputs.body, table({
      key: 'inputs', rows: inRows, rowKey: (r) => r.component + ':' + r.stream, empty: 'No input has carried a tuple yet',
      columns: [
        { key: 'component', label: 'Component', cell: (r) => link(route(['topology', topoId, 'component', r.component]), r.component) },
        { key: 'stream', label: 'Stream' },
        { key: 'grouping', label: 'Grouping', value: (r) => r.grouping || '–' },
        { key: 'executeLatency', label: 'Execute latency (ms)', num: true, cell: (r) => r.executeLatency },
        { key: 'executed', label: 'Executed', num: true },
        { key: 'processLatency', label: 'Process latency (ms)', num: true, cell: (r) => r.processLatency },
        { key: 'acked', label: 'Acked', num: true },
        { key: 'failed', label: 'Failed', num: true },
      ],
    }));

    // Outputs: who consumes each stream, when the visualization says.
    const consumers = new Map();
    for (const [other, v] of Object.entries(vis || {})) {
      for (const i of v[':inputs'] || []) {
        if (i[':component'] !== c.id) continue;
        if (!consumers.has(i[':stream'])) consumers.set(i[':stream'], []);
        consumers.get(i[':stream']).push(other);
      }
    }
    swap(outputs.body, table({
      key: 'outputs', rows: c.outputStats || [], rowKey: (r) => r.stream, empty: 'Nothing emitted yet',
      columns: [
        { key: 'stream', label: 'Stream' },
        { key: 'to', label: 'To', cell: (r) => {
          const to = consumers.get(r.stream);
          return to ? to.flatMap((x, i) => [i ? ', ' : '', link(route(['topology', topoId, 'component', x]), x)]) : '–';
        } },
        { key: 'emitted', label: 'Emitted', num: true },
        { key: 'transferred', label: 'Transferred', num: true },
        ...(spout ? [
          { key: 'completeLatency', label: 'Complete latency (ms)', num: true, cell: (r) => r.completeLatency },
          { key: 'acked', label: 'Acked', num: true },
          { key: 'failed', label: 'Failed', num: true },
        ] : []),
      ],
    }));

    const taskLinks = (r) => {
      const tasks = executorTasks(r.id);
      if (tasks.length === 0) return '–';
      return tasks.slice(0, 8).flatMap((t, i) => [i ? ' ' : '', taskLogLink(topoId, r.host, r.port, t)]);
    };
    swap(execs.body, table({
      key: 'executors', rows: c.executorStats || [], rowKey: (r) => r.id, empty: 'No executor is assigned',
      columns: [
        { key: 'id', label: 'Id', cell: (r) => h('span', { class: 'mono' }, r.id) },
        { key: 'uptimeSeconds', label: 'Uptime', num: true, cell: (r) => r.uptime },
        { key: 'host', label: 'Worker', value: (r) => `${r.host}:${r.port}`, cell: (r) => workerLogLink(topoId, r.host, r.port, r.workerLogLink) },
        { key: 'emitted', label: 'Emitted', num: true },
        { key: 'transferred', label: 'Transferred', num: true },
        ...(spout ? [
          { key: 'completeLatency', label: 'Complete latency (ms)', num: true, cell: (r) => r.completeLatency },
        ] : [
          { key: 'capacity', label: 'Capacity', num: true, cell: (r) => h('span', { class: 'cap-' + capacityLevel(r.capacity) }, r.capacity) },
          { key: 'executeLatency', label: 'Execute latency (ms)', num: true, cell: (r) => r.executeLatency },
          { key: 'executed', label: 'Executed', num: true },
          { key: 'processLatency', label: 'Process latency (ms)', num: true, cell: (r) => r.processLatency },
        ]),
        { key: 'acked', label: 'Acked', num: true },
        { key: 'failed', label: 'Failed', num: true },
        // squall: time held back by full queues, messages waiting for
        // room in this executor's queue (the slow child's is the full one).
        { key: 'backpressureMs', label: 'Held back (ms)', num: true, cell: (r) => ('backpressureMs' in r ? fmtInt(r.backpressureMs) : '–') },
        { key: 'queue', label: 'Queue', num: true,
          value: (r) => (r.receiveQueueCapacity ? (r.receiveQueuePopulation || 0) / r.receiveQueueCapacity : -1),
          cell: (r) => (r.receiveQueueCapacity ? `${fmtInt(r.receiveQueuePopulation || 0)}/${fmtInt(r.receiveQueueCapacity)}` : '–') },
        { key: 'tasks', label: 'Task logs', cell: taskLinks },
        { key: 'events', label: 'Events', cell: (r) => eventLogLink(topoId, r.host, r.port) },
      ],
    }));

    // Shell children: squall's executorStats fields childRestarts and
    // crashLooping (see docs/ui.md); older nimbuses do not send them.
    const ex = c.executorStats || [];
    const known = ex.some((r) => 'childRestarts' in r || 'crashLooping' in r);
    if (!known) {
      swap(children.body, h('p', { class: 'muted', 'data-testid': 'children-unknown' },
        'This nimbus does not report shell children\'s restarts. A crash-looping child logs "shell child failed" with crash_looping=true in its worker\'s log.'));
    } else {
      swap(children.body, table({
        key: 'children', rows: ex, rowKey: (r) => r.id, columns: [
          { key: 'id', label: 'Executor', cell: (r) => h('span', { class: 'mono' }, r.id) },
          { key: 'childRestarts', label: 'Restarts', num: true },
          { key: 'crashLooping', label: 'State', value: (r) => (r.crashLooping ? 'crash-looping' : 'running'),
            cell: (r) => (r.crashLooping ? h('strong', { class: 'recent-error' }, 'crash-looping') : 'running') },
          { key: 'log', label: 'Log', cell: (r) => workerLogLink(topoId, r.host, r.port, r.workerLogLink) },
        ],
      }));
    }

    // Kafka spouts: each partition's lag, as GET .../lag reports it.
    const lagRows = c.spoutLag || [];
    lag.el.hidden = lagRows.length === 0;
    swap(lag.body, table({
      key: 'lag', rows: lagRows, rowKey: (r) => r.topic + '/' + r.partition, columns: [
        { key: 'topic', label: 'Topic' },
        { key: 'partition', label: 'Partition', num: true },
        { key: 'consumerCommittedOffset', label: 'Committed offset', num: true },
        { key: 'logHeadOffset', label: 'Log head offset', num: true },
        { key: 'lag', label: 'Lag', num: true },
      ],
    }));

    const errs = (c.componentErrors || []).slice().reverse();
    swap(errors.body, table({
      key: 'component-errors', rows: errs, empty: 'No error reported',
      columns: [
        { key: 'errorTime', label: 'Time', cell: (r) => fmtTime(r.errorTime) },
        { key: 'task', label: 'Task', num: true, cell: (r) => taskLogLink(topoId, r.errorHost, r.errorPort, r.task) },
        { key: 'errorHost', label: 'Worker', cell: (r) => workerLogLink(topoId, r.errorHost, r.errorPort, r.errorWorkerLogLink) },
        { key: 'error', label: 'Error', class: 'err', cell: (r) => h('pre', null, r.error) },
      ],
    }));
  }
  return page;
}

