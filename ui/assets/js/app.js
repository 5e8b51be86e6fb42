// The single-page app: routes (location hash), the live refresh loop,
// the header's controls and the banner.

import { ApiError, get, logout, token } from './api.js';
import { parseHash } from './format.js';
import { h, swap } from './dom.js';
import * as cluster from './pages/cluster.js';
import * as topology from './pages/topology.js';
import * as component from './pages/component.js';
import * as logs from './pages/logs.js';
import * as submit from './pages/submit.js';

const REFRESH_KEY = 'squall.refresh';

// routes map a hash's path segments to a page. A page module's create()
// returns {el, title, refresh(): Promise, dispose?()}.
const routes = [
  { match: (s) => s.length === 0, page: cluster, nav: 'cluster' },
  { match: (s) => s.length === 2 && s[0] === 'topology', page: topology, nav: 'cluster' },
  { match: (s) => s.length === 4 && s[0] === 'topology' && s[2] === 'component', page: component, nav: 'cluster' },
  { match: (s) => s.length === 1 && s[0] === 'logs', page: logs, nav: 'cluster' },
  { match: (s) => s.length === 1 && s[0] === 'submit', page: submit, nav: 'submit' },
];

const main = document.getElementById('main');
const banner = document.getElementById('banner');
const updated = document.getElementById('updated');
const every = document.getElementById('refresh-every');

let current = null; // the page shown: {el, title, refresh, dispose, live}
let timer = 0;
let inFlight = null; // {page, done}: the refresh running

// showBanner shows a message above the page; kind "info" for successes.
export function showBanner(text, kind) {
  banner.hidden = !text;
  banner.textContent = text || '';
  banner.className = 'banner' + (kind ? ' ' + kind : '');
  banner.setAttribute('role', kind === 'info' ? 'status' : 'alert');
}

// announce tells screen readers (and tests) what an action did.
export function announce(text) {
  document.getElementById('status').textContent = text;
}

function navigate() {
  const parsed = parseHash(location.hash);
  if (!parsed) {
    if (current) return; // an in-page anchor
    location.replace('#/');
    return;
  }
  const r = routes.find((x) => x.match(parsed.segs));
  if (current && current.dispose) current.dispose();
  current = null;
  showBanner('');
  document.querySelectorAll('[data-nav]').forEach((a) => {
    if (r && a.dataset.nav === r.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
  if (!r) {
    document.title = 'Not found · squall';
    swap(main, h('h1', null, 'Page not found'), h('p', null, h('a', { href: '#/' }, 'Go to the cluster page')));
    return;
  }
  current = r.page.create(parsed.segs, parsed.query, { showBanner, announce, refreshNow });
  document.title = current.title + ' · squall';
  swap(main, current.el);
  refreshNow();
}

// refreshNow reloads the current page's data now, and schedules the next.
export async function refreshNow() {
  clearTimeout(timer);
  const page = current;
  if (!page) return;
  if (!page.refresh) {
    main.setAttribute('data-refreshed', String(Date.now())); // nothing to load
    return;
  }
  // One refresh at a time per page; a page left behind (its refresh maybe
  // waiting on the login dialog) does not hold the next one up.
  while (inFlight && inFlight.page === page) await inFlight.done;
  if (page !== current) return;
  const done = (async () => {
    try {
      await page.refresh();
      if (page !== current) return;
      updated.textContent = 'Updated ' + new Date().toLocaleTimeString('en-GB');
      main.setAttribute('data-refreshed', String(Date.now()));
      if (banner.getAttribute('data-from') === 'refresh') showBanner('');
      banner.removeAttribute('data-from');
    } catch (err) {
      if (page !== current) return;
      showBanner(refreshError(err));
      banner.setAttribute('data-from', 'refresh');
    }
  })();
  inFlight = { page, done };
  await done;
  if (inFlight && inFlight.done === done) inFlight = null;
  if (page === current) schedule();
}

function refreshError(err) {
  if (err instanceof ApiError && err.status === 0) return `${err.message}; showing the last data, retrying`;
  return `Could not refresh: ${err.message}`;
}

function schedule() {
  clearTimeout(timer);
  const secs = Number(every.value);
  if (!secs || !current || current.live === false) return;
  timer = setTimeout(() => {
    // No refresh behind an open dialog or in a hidden tab: try again later.
    if (document.hidden || document.querySelector('dialog[open]')) schedule();
    else refreshNow();
  }, secs * 1000);
}

async function whoami() {
  const logoutBtn = document.getElementById('logout');
  logoutBtn.hidden = !token();
  try {
    const s = await get('/api/v1/cluster/summary');
    document.getElementById('whoami').textContent = s.user ? 'as ' + s.user : '';
  } catch {
    // The page shows the error.
  }
}

function start() {
  every.value = localStorage.getItem(REFRESH_KEY) || '5';
  if (!every.value) every.value = '5';
  every.addEventListener('change', () => {
    localStorage.setItem(REFRESH_KEY, every.value);
    schedule();
  });
  document.getElementById('refresh-now').addEventListener('click', () => refreshNow());
  document.getElementById('logout').addEventListener('click', () => {
    logout();
    document.getElementById('logout').hidden = true;
    document.getElementById('whoami').textContent = '';
    navigate();
  });
  document.getElementById('skip').addEventListener('click', () => main.focus());
  document.addEventListener('squall:login', whoami);
  document.addEventListener('visibilitychange', () => { if (!document.hidden) schedule(); });
  window.addEventListener('hashchange', navigate);
  navigate();
  whoami();
}

start();
