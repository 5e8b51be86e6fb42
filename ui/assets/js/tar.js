// tar and gzip in the browser, for submitting a topology directory packed
// as one .tar.gz: read it, find the definition and resources/, and pack
// resources/ again as the package nimbus wants. Pure but for the
// (De)CompressionStream globals, which node has too (ui/testdata/js).

const BLOCK = 512;
const enc = new TextEncoder();
const dec = new TextDecoder();

// MAX_UNPACKED bounds what gunzip inflates: beyond it the tab would be at
// risk, and nimbus would refuse the package anyway.
export const MAX_UNPACKED = 512 << 20;

async function pipe(bytes, stream, max, what) {
  const out = new Response(new Blob([bytes]).stream().pipeThrough(stream)).body.getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await out.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await out.cancel();
      throw new Error(`${what} is larger than ${max} bytes unpacked`);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  return all;
}

export async function gunzip(bytes, what = 'the archive', max = MAX_UNPACKED) {
  try {
    return await pipe(bytes, new DecompressionStream('gzip'), max, what);
  } catch (err) {
    if (/larger than/.test(err.message)) throw err;
    throw new Error(`${what} is not a gzip file: ${err.message}`);
  }
}

export async function gzip(bytes) {
  return pipe(bytes, new CompressionStream('gzip'), Infinity, 'the package');
}

function str(b, off, len) {
  const s = b.subarray(off, off + len);
  const nul = s.indexOf(0);
  return dec.decode(nul < 0 ? s : s.subarray(0, nul));
}

function octal(b, off, len) {
  if (b[off] & 0x80) { // GNU base-256
    let n = 0;
    for (let i = 1; i < len; i++) n = n * 256 + b[off + i];
    return n;
  }
  const s = str(b, off, len).trim();
  return s === '' ? 0 : parseInt(s, 8);
}

// readTar lists a tar archive's entries: {name, type ('0' file, '5'
// directory, '2' symlink, …), mode, data, linkname}. It reads ustar, pax
// and GNU long names, and throws naming the offset of a bad header.
export function readTar(b, what = 'the archive') {
  const out = [];
  let pax = {};
  let longName = null;
  let longLink = null;
  for (let off = 0; off + BLOCK <= b.length;) {
    const hdr = b.subarray(off, off + BLOCK);
    if (hdr.every((x) => x === 0)) break;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : hdr[i];
    if (sum !== octal(hdr, 148, 8)) throw new Error(`${what} is not a tar archive (bad header checksum at byte ${off})`);
    const type = String.fromCharCode(hdr[156] || 48);
    let size = octal(hdr, 124, 12);
    if (pax.size !== undefined) size = Number(pax.size);
    const dataOff = off + BLOCK;
    if (dataOff + size > b.length) throw new Error(`${what} is truncated (entry at byte ${off} needs ${size} bytes)`);
    const data = b.subarray(dataOff, dataOff + size);
    off = dataOff + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') { pax = parsePax(data); continue; }
    if (type === 'g') continue;
    if (type === 'L') { longName = str(data, 0, data.length); continue; }
    if (type === 'K') { longLink = str(data, 0, data.length); continue; }
    const prefix = str(hdr, 345, 155);
    let name = longName ?? pax.path ?? (prefix ? prefix + '/' : '') + str(hdr, 0, 100);
    const linkname = longLink ?? pax.linkpath ?? str(hdr, 157, 100);
    name = name.replace(/^(\.\/)+/, '');
    out.push({ name, type: type === '\0' ? '0' : type, mode: octal(hdr, 100, 8), data, linkname });
    pax = {};
    longName = longLink = null;
  }
  return out;
}

function parsePax(data) {
  // Records "<len> key=value\n"; len counts bytes, so walk the bytes.
  const out = {};
  for (let off = 0; off < data.length;) {
    const sp = data.indexOf(32, off);
    const len = sp < 0 ? NaN : parseInt(dec.decode(data.subarray(off, sp)), 10);
    if (!(len > 0) || off + len > data.length) break;
    const rec = dec.decode(data.subarray(sp + 1, off + len - 1));
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    off += len;
  }
  return out;
}

function header(name, { type = '0', mode = 0o644, size = 0, linkname = '' }) {
  const hdr = new Uint8Array(BLOCK);
  const put = (off, len, text) => hdr.set(enc.encode(text).subarray(0, len), off);
  const num = (off, len, n) => put(off, len, n.toString(8).padStart(len - 1, '0') + '\0');
  put(0, 100, name);
  num(100, 8, mode & 0o7777);
  num(108, 8, 0);
  num(116, 8, 0);
  num(124, 12, size);
  num(136, 12, 0);
  hdr[156] = type.charCodeAt(0);
  put(157, 100, linkname);
  put(257, 6, 'ustar\0');
  put(263, 2, '00');
  hdr.fill(32, 148, 156);
  const sum = hdr.reduce((a, x) => a + x, 0);
  put(148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return hdr;
}

// writeTar packs entries {name, type, mode, data, linkname} as a tar
// archive; long names get a pax header.
export function writeTar(entries) {
  const parts = [];
  for (const e of entries) {
    const type = e.type || '0';
    const data = type === '0' ? e.data : new Uint8Array(0);
    let name = e.name;
    if (enc.encode(name).length > 99 || enc.encode(e.linkname || '').length > 99) {
      let rec = '';
      const add = (k, v) => {
        // "<len> key=value\n", len counting its own digits.
        const body = ` ${k}=${v}\n`;
        const n = enc.encode(body).length;
        let len = n + String(n).length;
        if (String(len).length > String(n).length) len = n + String(len).length;
        rec += len + body;
      };
      add('path', name);
      if (e.linkname) add('linkpath', e.linkname);
      const paxData = enc.encode(rec);
      parts.push(header('PaxHeader', { type: 'x', size: paxData.length }), pad(paxData));
      name = name.slice(-99);
    }
    parts.push(header(name, { type, mode: e.mode ?? (type === '5' ? 0o755 : 0o644), size: data.length, linkname: (e.linkname || '').slice(0, 99) }));
    if (data.length) parts.push(pad(data));
  }
  parts.push(new Uint8Array(2 * BLOCK));
  const total = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function pad(data) {
  const n = Math.ceil(data.length / BLOCK) * BLOCK;
  if (n === data.length) return data;
  const out = new Uint8Array(n);
  out.set(data);
  return out;
}

// splitTopology finds, in a topology directory's entries, the definition
// (topology.yaml or .yml, or the only YAML file, at the top or in the
// one top directory) and the entries under resources/ beside it, renamed
// relative to resources/.
export function splitTopology(entries, what = 'the archive') {
  const files = entries.filter((e) => e.type === '0');
  const yamls = files.filter((e) => /\.ya?ml$/i.test(e.name) && e.name.split('/').filter(Boolean).length <= 2);
  const byDepth = (d) => yamls.filter((e) => e.name.split('/').filter(Boolean).length === d);
  let def = null;
  for (const d of [1, 2]) {
    const level = byDepth(d);
    def = level.find((e) => /(^|\/)topology\.ya?ml$/i.test(e.name)) || (level.length === 1 ? level[0] : null);
    if (def) break;
  }
  if (!def) {
    const found = yamls.map((e) => e.name).slice(0, 8).join(', ') || 'no YAML file';
    throw new Error(`${what} holds no topology.yaml at its top or in its top directory (found: ${found})`);
  }
  const dir = def.name.includes('/') ? def.name.slice(0, def.name.lastIndexOf('/') + 1) : '';
  const root = dir + 'resources/';
  const resources = entries
    .filter((e) => e.name.startsWith(root) && e.name.length > root.length)
    .map((e) => ({ ...e, name: e.name.slice(root.length) }));
  return { definitionName: def.name.slice(dir.length), definition: def.data, resources };
}
