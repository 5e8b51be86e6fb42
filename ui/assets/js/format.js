// Pure formatting and parsing helpers: no DOM, so node's test runner
// checks them (ui/testdata/js).

const intFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

// fmtInt writes a count with thousands separators; a missing value is "–".
export function fmtInt(n) {
  if (n === null || n === undefined || n === '' || Number.isNaN(Number(n))) return '–';
  return intFormat.format(Number(n));
}

// fmtUptime writes seconds as Storm's UI does: "1d 0h 3m 9s", "29m 19s".
export function fmtUptime(secs) {
  if (secs === null || secs === undefined) return '–';
  let s = Math.max(0, Math.floor(Number(secs)));
  if (s === 0) return '0s';
  const parts = [];
  const units = [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]];
  for (const [u, n] of units) {
    const v = Math.floor(s / n);
    s -= v * n;
    if (v > 0 || parts.length > 0) parts.push(v + u);
  }
  return parts.join(' ');
}

// fmtTime writes seconds since the epoch as local "YYYY-MM-DD HH:MM:SS".
export function fmtTime(epochSecs) {
  if (epochSecs === null || epochSecs === undefined) return '–';
  const d = new Date(Number(epochSecs) * 1000);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// fmtRate writes tuples per second with a sensible precision.
export function fmtRate(perSec) {
  if (perSec === null || perSec === undefined || !Number.isFinite(perSec)) return '';
  if (perSec >= 100) return fmtInt(Math.round(perSec)) + '/s';
  if (perSec >= 10) return perSec.toFixed(1) + '/s';
  return perSec.toFixed(2) + '/s';
}

// Storm's metric windows, as the window query parameter spells them.
export const WINDOWS = [
  { value: '600', label: '10m 0s' },
  { value: '10800', label: '3h 0m 0s' },
  { value: '86400', label: '1d 0h 0m 0s' },
  { value: ':all-time', label: 'All time' },
];

export function windowLabel(w) {
  const known = WINDOWS.find((x) => x.value === String(w));
  if (known) return known.label;
  return /^\d+$/.test(String(w)) ? fmtUptime(w) : String(w);
}

// parseBool reads a configuration value that may be a boolean or a
// string ("false"); anything else is def.
export function parseBool(v, def) {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === 'true') return true;
    if (s === 'false') return false;
  }
  return def;
}

// capacityLevel buckets a bolt's capacity for colouring: Storm calls a
// bolt near 1 saturated.
export function capacityLevel(cap) {
  const c = Number(cap);
  if (cap === '' || cap === null || cap === undefined || Number.isNaN(c)) return 'none';
  if (c >= 0.8) return 'high';
  if (c >= 0.5) return 'mid';
  return 'low';
}

// RECENT_ERROR_SECS is how long a component's last error marks it in the
// graph and tables.
export const RECENT_ERROR_SECS = 600;

// executorTasks reads an executor id "[24-26]" as its task ids.
export function executorTasks(id) {
  const m = /^\[(\d+)-(\d+)\]$/.exec(String(id));
  if (!m) return [];
  const out = [];
  for (let t = Number(m[1]); t <= Number(m[2]) && out.length < 10000; t++) out.push(t);
  return out;
}

// parseOverrides reads "key=value" lines (configuration overrides, as
// `squall submit -c`). Blank lines and lines starting with # are skipped;
// it throws naming the first bad line.
export function parseOverrides(text) {
  const out = [];
  String(text).split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`configuration line ${i + 1} "${line.slice(0, 60)}": want key=value`);
    out.push(line.slice(0, eq).trim() + '=' + line.slice(eq + 1).trim());
  });
  return out;
}

// parseExecutors reads a rebalance's "component=N" list, separated by
// spaces or commas, into {component: N}.
export function parseExecutors(text) {
  const out = {};
  for (const part of String(text).split(/[\s,]+/)) {
    if (part === '') continue;
    const eq = part.lastIndexOf('=');
    const n = Number(part.slice(eq + 1));
    if (eq <= 0 || !Number.isInteger(n) || n <= 0) throw new Error(`executors "${part}": want component=N with N > 0`);
    out[part.slice(0, eq)] = n;
  }
  return out;
}

// lineFilter returns a predicate for log lines containing text; a filter
// ending in a digit does not match a longer number ("task=7" does not
// match "task=70").
export function lineFilter(text) {
  if (!text) return () => true;
  const esc = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(esc + (/\d$/.test(text) ? '(?!\\d)' : ''));
  return (line) => re.test(line);
}

// parseHash splits a location hash "#/topology/x?window=600" into the
// route's decoded path segments and its query.
export function parseHash(hash) {
  let h = String(hash || '');
  if (h.startsWith('#')) h = h.slice(1);
  if (!h.startsWith('/')) return null;
  const q = h.indexOf('?');
  const path = q < 0 ? h : h.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : h.slice(q + 1));
  const segs = path.split('/').filter((s) => s !== '').map((s) => {
    try { return decodeURIComponent(s); } catch { return s; }
  });
  return { segs, query };
}

// route builds a hash for path segments (escaped) and a query object.
export function route(segs, query) {
  let h = '#/' + segs.map((s) => encodeURIComponent(s)).join('/');
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const qs = q.toString();
  return qs ? h + '?' + qs : h;
}
