// The cluster page: summary, nimbuses, supervisors, topologies and the
// cluster's configuration (Storm's index page).

import { get } from '../api.js';
import { fmtInt, route } from '../format.js';
import { h, section, summary, swap, table, statusBadge, link, filteredConfig } from '../dom.js';

export function create() {
  const sum = h('div');
  const nimbus = section('nimbuses', 'Nimbus summary');
  const sups = section('supervisors', 'Supervisor summary');
  const topos = section('topologies', 'Topology summary',
    h('p', { class: 'toolbar' }, link('#/submit', 'Submit a topology')));
  const conf = filteredConfig('cluster-configuration', 'Nimbus configuration');
  const el = h('div', null, h('h1', null, 'Cluster'), sum, topos.el, sups.el, nimbus.el, conf.el);
  let confLoaded = false;

  async function refresh() {
    const [c, n, s, t] = await Promise.all([
      get('/api/v1/cluster/summary'),
      get('/api/v1/nimbus/summary'),
      get('/api/v1/supervisor/summary'),
      get('/api/v1/topology/summary'),
    ]);
    swap(sum, summary([
      ['Version', c.stormVersion, 'stormVersion'],
      ['Supervisors', fmtInt(c.supervisors), 'supervisors'],
      ['Used slots', fmtInt(c.slotsUsed), 'slotsUsed'],
      ['Free slots', fmtInt(c.slotsFree), 'slotsFree'],
      ['Total slots', fmtInt(c.slotsTotal), 'slotsTotal'],
      ['Executors', fmtInt(c.executorsTotal), 'executorsTotal'],
      ['Tasks', fmtInt(c.tasksTotal), 'tasksTotal'],
      ['Topologies', fmtInt(c.topologies), 'topologies'],
    ], 'cluster-summary'));
    swap(nimbus.body, table({
      key: 'nimbuses', rowKey: (r) => r.host + ':' + r.port, rows: n.nimbuses || [], empty: 'No nimbus registered',
      columns: [
        { key: 'host', label: 'Host' },
        { key: 'port', label: 'Port', num: true, cell: (r) => String(r.port) },
        { key: 'status', label: 'Status', cell: (r) => statusBadge(r.status) },
        { key: 'version', label: 'Version' },
        { key: 'nimbusUpTimeSeconds', label: 'Uptime', num: true, cell: (r) => r.nimbusUpTime },
        { key: 'nimbusLogLink', label: 'Logs', cell: (r) => (r.nimbusLogLink ? link(r.nimbusLogLink, 'log') : '–') },
      ],
    }));
    swap(sups.body, table({
      key: 'supervisors', rowKey: (r) => r.id, rows: s.supervisors || [], empty: 'No supervisor is running',
      columns: [
        { key: 'host', label: 'Host' },
        { key: 'id', label: 'Id', cell: (r) => h('span', { class: 'mono' }, r.id) },
        { key: 'uptimeSeconds', label: 'Uptime', num: true, cell: (r) => r.uptime },
        { key: 'slotsTotal', label: 'Slots', num: true },
        { key: 'slotsUsed', label: 'Used slots', num: true },
        { key: 'slotsFree', label: 'Free slots', num: true },
        { key: 'version', label: 'Version' },
        { key: 'logLink', label: 'Logs', cell: (r) => (r.logLink ? link(r.logLink, 'log') : '–') },
      ],
    }));
    swap(topos.body, table({
      key: 'topologies', rowKey: (r) => r.id, rows: t.topologies || [], empty: 'No topology is running',
      columns: [
        { key: 'name', label: 'Name', cell: (r) => link(route(['topology', r.id]), r.name, { 'data-key': 'topo:' + r.id }) },
        { key: 'id', label: 'Id', cell: (r) => h('span', { class: 'mono' }, r.id) },
        { key: 'owner', label: 'Owner', value: (r) => r.owner || '–' },
        { key: 'status', label: 'Status', cell: (r) => statusBadge(r.status) },
        { key: 'uptimeSeconds', label: 'Uptime', num: true, cell: (r) => r.uptime },
        { key: 'workersTotal', label: 'Workers', num: true },
        { key: 'executorsTotal', label: 'Executors', num: true },
        { key: 'tasksTotal', label: 'Tasks', num: true },
        { key: 'schedulerInfo', label: 'Scheduler info', value: (r) => r.schedulerInfo || '' },
      ],
    }));
    if (!confLoaded) {
      conf.set(await get('/api/v1/cluster/configuration'));
      confLoaded = true;
    }
  }
  return { el, title: 'Cluster', refresh };
}

