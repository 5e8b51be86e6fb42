'use strict';

/**
 * squall's multilang adapter for Node.js.
 *
 * A spout or bolt written for Node runs as a child process of a squall (or
 * Apache Storm) worker and talks to it over stdin/stdout with Storm's
 * multilang protocol. This module is API-compatible with Apache Storm's
 * storm.js: scripts written for it run unchanged. A bolt looks like this:
 *
 *     const { BasicBolt } = require('storm');
 *
 *     class SplitSentence extends BasicBolt {
 *       process(tup, done) {
 *         for (const word of tup.values[0].split(' ')) this.emit({ tuple: [word] });
 *         done();
 *       }
 *     }
 *
 *     new SplitSentence().run();
 *
 * (Storm's style, `function SplitSentence() { BasicBolt.call(this); }` with
 * `SplitSentence.prototype = Object.create(BasicBolt.prototype)`, works too.)
 *
 * Differences from Storm's storm.js (all compatible with Storm's hosts):
 *
 * - emit(details, onTaskIds) asks the host for the ids of the receiving tasks
 *   only when given onTaskIds (Storm's requires it); otherwise it sends
 *   need_task_ids: false and saves a round trip per emit. With
 *   details.needTaskIds === true and no callback it returns a Promise of the
 *   task ids instead.
 * - process, nextTuple, ack, fail, activate, deactivate and initialize may be
 *   async (return a promise): its resolution is `done`. A method that takes
 *   no `done` parameter is done when it returns. The default spout methods
 *   call done, so an unimplemented ack never hangs the host.
 * - A bolt handles one input at a time, in order: the next tuple (or
 *   heartbeat) waits until process is done (done called, promise settled,
 *   or returned). Task-id replies are delivered at once, so a bolt can wait
 *   for them. Set `this.concurrency = n` to have up to n tuples in process.
 * - BasicBolt anchors every emit without anchorTupleId to the input tuple
 *   (also in callbacks and after awaits of its process), acks the tuple when
 *   done, and on an error (done(err), a throw, a rejected promise) fails it
 *   and reports the error, then goes on. Bolt is the plain bolt: it acks and
 *   fails itself. A Bolt or Spout that throws reports the error, writes it to
 *   stderr and exits with status 1, so that the host restarts it.
 * - Output is buffered and written once per batch of input.
 * - console.log (info, debug, dir, table) and process.stdout become log
 *   commands at info level, one per line; the protocol writes to descriptor
 *   1 directly. Subprocesses that inherit descriptor 1 still write to the
 *   protocol stream: spawn them with their stdout piped or ignored.
 * - When stdin closes or the host stops reading, the process exits with
 *   status 0.
 * - log(msg, level) and logTrace/logDebug/logInfo/logWarn/logError,
 *   reportError(msg), rpcMetrics(name, params).
 *
 * Wire formats: JSON (each message one JSON value followed by a line "end")
 * and MessagePack (topology.multilang.serializer: msgpack; pystorm's
 * framing, one MessagePack value per message), chosen by the first byte the
 * host sends. MessagePack is implemented here: strings travel as str,
 * Buffers and Uint8Arrays as bin (decoded as Buffers), numbers as integers
 * when they are safe integers, else float64; BigInts as 64-bit integers
 * (integers beyond 2^53 decode as BigInt).
 */

const fs = require('fs');
const { AsyncLocalStorage } = require('async_hooks');
const { StringDecoder } = require('string_decoder');
const { Writable } = require('stream');

const TRACE = 0;
const DEBUG = 1;
const INFO = 2;
const WARN = 3;
const ERROR = 4;

/** Output is written at the latest when this many bytes are buffered. */
const FLUSH_BYTES = 64 * 1024;

const SEPARATOR = '\nend\n';

// --- MessagePack --------------------------------------------------------------

/** Thrown by the decoder when the data ends inside a value. */
const INCOMPLETE = new Error('incomplete MessagePack value');

/** MessagePack encoder appending to a growable Buffer. */
class MsgpackEncoder {
  constructor(size = FLUSH_BYTES) {
    this.buf = Buffer.allocUnsafe(size);
    this.len = 0;
  }

  ensure(n) {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const buf = Buffer.allocUnsafe(size);
    this.buf.copy(buf, 0, 0, this.len);
    this.buf = buf;
  }

  /** Appends one value; on an error the buffer is left as it was. */
  add(value) {
    const start = this.len;
    try {
      this.value(value, 0);
    } catch (e) {
      this.len = start;
      throw e;
    }
  }

  /**
   * Returns the bytes written so far and starts over. The bytes are a view
   * of the encoder's buffer, valid until the next add.
   */
  take() {
    const out = this.buf.subarray(0, this.len);
    if (this.buf.length > 4 * FLUSH_BYTES) {
      this.buf = Buffer.allocUnsafe(FLUSH_BYTES); // do not keep a huge buffer after a huge message
    }
    this.len = 0;
    return out;
  }

  byte(b) {
    this.ensure(1);
    this.buf[this.len++] = b;
  }

  header(fix, fixMax, code8, code16, code32, n) {
    this.ensure(5);
    const buf = this.buf;
    if (n <= fixMax) {
      buf[this.len++] = fix | n;
    } else if (code8 !== 0 && n < 0x100) {
      buf[this.len++] = code8;
      buf[this.len++] = n;
    } else if (n < 0x10000) {
      buf[this.len++] = code16;
      buf.writeUInt16BE(n, this.len);
      this.len += 2;
    } else {
      buf[this.len++] = code32;
      buf.writeUInt32BE(n, this.len);
      this.len += 4;
    }
  }

  value(v, depth) {
    if (depth > 512) throw new RangeError('MessagePack value nested too deep');
    switch (typeof v) {
      case 'string':
        this.string(v);
        return;
      case 'number':
        this.number(v);
        return;
      case 'boolean':
        this.byte(v ? 0xc3 : 0xc2);
        return;
      case 'bigint':
        this.bigint(v);
        return;
      case 'undefined':
        this.byte(0xc0);
        return;
      case 'object':
        break;
      default:
        throw new TypeError(`cannot encode a ${typeof v} as MessagePack`);
    }
    if (v === null) {
      this.byte(0xc0);
    } else if (Array.isArray(v)) {
      this.header(0x90, 15, 0, 0xdc, 0xdd, v.length);
      for (let i = 0; i < v.length; i++) this.value(v[i] === undefined ? null : v[i], depth + 1);
    } else if (v instanceof Uint8Array) {
      this.header(0, -1, 0xc4, 0xc5, 0xc6, v.length);
      this.ensure(v.length);
      this.buf.set(v, this.len);
      this.len += v.length;
    } else if (typeof v.toJSON === 'function') {
      this.value(v.toJSON(), depth + 1);
    } else {
      const keys = Object.keys(v).filter((k) => v[k] !== undefined && typeof v[k] !== 'function');
      this.header(0x80, 15, 0, 0xde, 0xdf, keys.length);
      for (const k of keys) {
        this.string(k);
        this.value(v[k], depth + 1);
      }
    }
  }

  string(s) {
    const n = s.length;
    if (n < 32) {
      // Short strings: ASCII is written directly.
      this.ensure(1 + 3 * n);
      const buf = this.buf;
      const start = this.len;
      let p = start + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[p++] = c;
      }
      if (i === n) {
        buf[start] = 0xa0 | n;
        this.len = p;
        return;
      }
    }
    const bytes = Buffer.byteLength(s);
    this.header(0xa0, 31, 0xd9, 0xda, 0xdb, bytes);
    this.ensure(bytes);
    this.len += this.buf.write(s, this.len, bytes, 'utf8');
  }

  number(x) {
    if (Number.isSafeInteger(x) && !Object.is(x, -0)) {
      this.integer(x);
      return;
    }
    this.ensure(9);
    this.buf[this.len++] = 0xcb;
    this.buf.writeDoubleBE(x, this.len);
    this.len += 8;
  }

  integer(x) {
    this.ensure(9);
    const buf = this.buf;
    if (x >= 0) {
      if (x < 0x80) {
        buf[this.len++] = x;
      } else if (x < 0x100) {
        buf[this.len++] = 0xcc;
        buf[this.len++] = x;
      } else if (x < 0x10000) {
        buf[this.len++] = 0xcd;
        buf.writeUInt16BE(x, this.len);
        this.len += 2;
      } else if (x < 0x100000000) {
        buf[this.len++] = 0xce;
        buf.writeUInt32BE(x, this.len);
        this.len += 4;
      } else {
        buf[this.len++] = 0xcf;
        buf.writeBigUInt64BE(BigInt(x), this.len);
        this.len += 8;
      }
    } else if (x >= -32) {
      buf[this.len++] = x & 0xff;
    } else if (x >= -0x80) {
      buf[this.len++] = 0xd0;
      buf.writeInt8(x, this.len);
      this.len += 1;
    } else if (x >= -0x8000) {
      buf[this.len++] = 0xd1;
      buf.writeInt16BE(x, this.len);
      this.len += 2;
    } else if (x >= -0x80000000) {
      buf[this.len++] = 0xd2;
      buf.writeInt32BE(x, this.len);
      this.len += 4;
    } else {
      buf[this.len++] = 0xd3;
      buf.writeBigInt64BE(BigInt(x), this.len);
      this.len += 8;
    }
  }

  bigint(x) {
    this.ensure(9);
    if (x >= 0n && x < 0x10000000000000000n) {
      this.buf[this.len++] = 0xcf;
      this.buf.writeBigUInt64BE(x, this.len);
    } else if (x < 0n && x >= -0x8000000000000000n) {
      this.buf[this.len++] = 0xd3;
      this.buf.writeBigInt64BE(x, this.len);
    } else {
      throw new RangeError(`${x} does not fit in 64 bits`);
    }
    this.len += 8;
  }
}

/** MessagePack decoder over one Buffer. */
class MsgpackDecoder {
  constructor(buf, pos = 0) {
    this.buf = buf;
    this.pos = pos;
  }

  need(n) {
    if (this.pos + n > this.buf.length) throw INCOMPLETE;
  }

  value(depth) {
    const buf = this.buf;
    if (this.pos >= buf.length) throw INCOMPLETE;
    const c = buf[this.pos++];
    if (c < 0x80) return c;
    if (c >= 0xe0) return c - 0x100;
    if (c < 0x90) return this.map(c & 0x0f, depth);
    if (c < 0xa0) return this.array(c & 0x0f, depth);
    if (c < 0xc0) return this.str(c & 0x1f);
    let v;
    switch (c) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return this.bin(this.uint(1));
      case 0xc5: return this.bin(this.uint(2));
      case 0xc6: return this.bin(this.uint(4));
      case 0xca: this.need(4); v = buf.readFloatBE(this.pos); this.pos += 4; return v;
      case 0xcb: this.need(8); v = buf.readDoubleBE(this.pos); this.pos += 8; return v;
      case 0xcc: return this.uint(1);
      case 0xcd: return this.uint(2);
      case 0xce: return this.uint(4);
      case 0xcf: this.need(8); v = buf.readBigUInt64BE(this.pos); this.pos += 8; return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      case 0xd0: this.need(1); v = buf.readInt8(this.pos); this.pos += 1; return v;
      case 0xd1: this.need(2); v = buf.readInt16BE(this.pos); this.pos += 2; return v;
      case 0xd2: this.need(4); v = buf.readInt32BE(this.pos); this.pos += 4; return v;
      case 0xd3: this.need(8); v = buf.readBigInt64BE(this.pos); this.pos += 8;
        return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      case 0xd9: return this.str(this.uint(1));
      case 0xda: return this.str(this.uint(2));
      case 0xdb: return this.str(this.uint(4));
      case 0xdc: return this.array(this.uint(2), depth);
      case 0xdd: return this.array(this.uint(4), depth);
      case 0xde: return this.map(this.uint(2), depth);
      case 0xdf: return this.map(this.uint(4), depth);
      case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: return this.ext(1 << (c - 0xd4));
      case 0xc7: return this.ext(this.uint(1));
      case 0xc8: return this.ext(this.uint(2));
      case 0xc9: return this.ext(this.uint(4));
      default: throw new Error(`byte 0x${c.toString(16)} is not MessagePack`);
    }
  }

  uint(n) {
    this.need(n);
    const buf = this.buf;
    const p = this.pos;
    this.pos += n;
    if (n === 1) return buf[p];
    if (n === 2) return (buf[p] << 8) | buf[p + 1];
    return buf.readUInt32BE(p);
  }

  str(n) {
    this.need(n);
    const buf = this.buf;
    const start = this.pos;
    this.pos += n;
    if (n < 16) {
      // Short ASCII strings are built directly.
      let s = '';
      for (let i = start; i < start + n; i++) {
        const c = buf[i];
        if (c >= 0x80) return buf.toString('utf8', start, start + n);
        s += String.fromCharCode(c);
      }
      return s;
    }
    return buf.toString('utf8', start, start + n);
  }

  bin(n) {
    this.need(n);
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  ext(n) {
    this.need(1 + n);
    const type = this.buf.readInt8(this.pos);
    this.pos += 1;
    return { ext: type, data: this.bin(n) };
  }

  array(n, depth) {
    if (depth > 512) throw new RangeError('MessagePack value nested too deep');
    this.need(n); // every element takes a byte
    const a = new Array(n);
    for (let i = 0; i < n; i++) a[i] = this.value(depth + 1);
    return a;
  }

  map(n, depth) {
    if (depth > 512) throw new RangeError('MessagePack value nested too deep');
    this.need(2 * n);
    const o = {};
    for (let i = 0; i < n; i++) {
      const k = this.value(depth + 1);
      o[typeof k === 'string' ? k : String(k)] = this.value(depth + 1);
    }
    return o;
  }
}

/** Encodes one value as MessagePack into a new Buffer. */
function packMsgpack(value) {
  const e = new MsgpackEncoder(256);
  e.add(value);
  return Buffer.from(e.take()); // a copy: take returns a view
}

/** Decodes the first MessagePack value of buf; throws on incomplete data. */
function unpackMsgpack(buf) {
  const d = new MsgpackDecoder(buf, 0);
  try {
    return d.value(0);
  } catch (e) {
    if (e === INCOMPLETE) throw new Error('incomplete MessagePack value');
    throw e;
  }
}

// --- Framing ------------------------------------------------------------------

/** Splits JSON-framed input into messages. */
class JsonReader {
  constructor() {
    this.decoder = new StringDecoder('utf8');
    this.parts = []; // text of an unfinished message, in pieces
    this.tail = ''; // its last few characters, where a separator may start
  }

  /** Returns the messages completed by chunk (a Buffer or string), parsed. */
  push(chunk) {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const out = [];
    if (this.parts.length > 0) {
      // Look for the separator only where it can be: across the old tail and
      // in the new text, so that a long message costs linear time.
      const probe = this.tail + text.slice(0, SEPARATOR.length - 1);
      let i = probe.indexOf(SEPARATOR);
      let rest;
      if (i >= 0) {
        const cut = this.tail.length - i; // separator characters already in parts
        const joined = this.parts.join('');
        out.push(JSON.parse(joined.slice(0, joined.length - cut)));
        rest = text.slice(SEPARATOR.length - cut);
      } else {
        i = text.indexOf(SEPARATOR);
        if (i < 0) {
          this.parts.push(text);
          this.tail = (this.tail + text).slice(-(SEPARATOR.length - 1));
          return out;
        }
        this.parts.push(text.slice(0, i));
        out.push(JSON.parse(this.parts.join('')));
        rest = text.slice(i + SEPARATOR.length);
      }
      this.parts = [];
      this.tail = '';
      this.split(rest, out);
      return out;
    }
    this.split(text, out);
    return out;
  }

  /** Parses the whole messages of text, keeping an unfinished one. */
  split(text, out) {
    let start = 0;
    for (;;) {
      const i = text.indexOf(SEPARATOR, start);
      if (i < 0) break;
      if (i > start) out.push(JSON.parse(text.slice(start, i)));
      start = i + SEPARATOR.length;
    }
    if (start < text.length) {
      const rest = text.slice(start);
      this.parts.push(rest);
      this.tail = rest.slice(-(SEPARATOR.length - 1));
    }
  }
}

/** Sizes of MessagePack headers by first byte: 0 for the byte never used. */
const HEADER_SIZE = new Uint8Array(256).map((_, c) => {
  if (c <= 0xbf || c >= 0xe0) return 1;
  switch (c) {
    case 0xc1: return 0;
    case 0xc0: case 0xc2: case 0xc3: return 1;
    case 0xc4: case 0xcc: case 0xd0: case 0xd9: return 2;
    case 0xc5: case 0xcd: case 0xd1: case 0xda: case 0xdc: case 0xde: case 0xc7: return 3;
    case 0xc8: return 4;
    case 0xc6: case 0xca: case 0xce: case 0xd2: case 0xdb: case 0xdd: case 0xdf: return 5;
    case 0xc9: return 6;
    case 0xcb: case 0xcf: case 0xd3: return 9;
    default: return 2; // fixext: format and type
  }
});

/**
 * Finds where a MessagePack value ends in data that arrives in pieces,
 * without decoding it: each call goes on from where the last one stopped.
 */
class MsgpackScanner {
  constructor() {
    this.pos = 0;
    this.open = [1]; // elements still to come in each open container
  }

  /** Returns the end of the value in buf (which only grows), or -1. */
  scan(buf) {
    const open = this.open;
    let p = this.pos;
    while (p < buf.length) {
      const c = buf[p];
      const size = HEADER_SIZE[c];
      if (size === 0) throw new Error(`byte 0x${c.toString(16)} is not MessagePack`);
      if (p + size > buf.length) break;
      let elements = 0;
      let payload = 0;
      if (c >= 0x80 && c <= 0x8f) elements = 2 * (c & 0x0f);
      else if (c >= 0x90 && c <= 0x9f) elements = c & 0x0f;
      else if (c >= 0xa0 && c <= 0xbf) payload = c & 0x1f;
      else if (c >= 0xd4 && c <= 0xd8) payload = 1 << (c - 0xd4);
      else {
        switch (c) {
          case 0xc4: case 0xd9: case 0xc7: payload = buf[p + 1]; break;
          case 0xc5: case 0xda: case 0xc8: payload = buf.readUInt16BE(p + 1); break;
          case 0xc6: case 0xdb: case 0xc9: payload = buf.readUInt32BE(p + 1); break;
          case 0xdc: elements = buf.readUInt16BE(p + 1); break;
          case 0xdd: elements = buf.readUInt32BE(p + 1); break;
          case 0xde: elements = 2 * buf.readUInt16BE(p + 1); break;
          case 0xdf: elements = 2 * buf.readUInt32BE(p + 1); break;
          default: break;
        }
      }
      if (p + size + payload > buf.length) break;
      p += size + payload;
      if (elements > 0) {
        if (open.length > 600) open[open.length - 1] += elements - 1;
        else open.push(elements);
        continue;
      }
      while (open.length > 0 && --open[open.length - 1] === 0) open.pop();
      if (open.length === 0) {
        this.pos = p;
        return p;
      }
    }
    this.pos = p;
    return -1;
  }
}

/** Splits MessagePack input into messages. */
class MsgpackReader {
  constructor() {
    this.acc = null; // bytes of an unfinished message, in acc[0:accLen]
    this.accLen = 0;
    this.scanner = null; // finds where that message ends
  }

  push(chunk) {
    const out = [];
    let buf = chunk;
    if (this.acc !== null) {
      this.append(chunk);
      buf = this.acc.subarray(0, this.accLen);
      const end = this.scanner.scan(buf);
      if (end < 0) return out;
      out.push(new MsgpackDecoder(buf, 0).value(0));
      buf = Buffer.from(buf.subarray(end)); // a copy: acc is reused
      this.acc = null;
      this.accLen = 0;
      this.scanner = null;
    }
    const d = new MsgpackDecoder(buf, 0);
    let pos = 0;
    while (pos < buf.length) {
      try {
        out.push(d.value(0));
      } catch (e) {
        if (e !== INCOMPLETE) throw e;
        this.keep(buf.subarray(pos));
        return out;
      }
      pos = d.pos;
    }
    return out;
  }

  /** Keeps the start of an unfinished message and scans it. */
  keep(part) {
    this.acc = Buffer.allocUnsafe(Math.max(FLUSH_BYTES, 2 * part.length));
    this.accLen = 0;
    this.append(part);
    this.scanner = new MsgpackScanner();
    this.scanner.scan(this.acc.subarray(0, this.accLen));
  }

  append(chunk) {
    if (this.accLen + chunk.length > this.acc.length) {
      const acc = Buffer.allocUnsafe(Math.max(2 * this.acc.length, this.accLen + chunk.length));
      this.acc.copy(acc, 0, 0, this.accLen);
      this.acc = acc;
    }
    chunk.copy(this.acc, this.accLen);
    this.accLen += chunk.length;
  }
}

class JsonWriter {
  constructor() {
    this.parts = [];
    this.size = 0;
    this.slots = []; // [index in parts, fill] of the places reserved
  }

  add(msg) {
    const text = JSON.stringify(msg);
    this.parts.push(text, SEPARATOR);
    this.size += text.length + SEPARATOR.length;
  }

  /** Holds the place of messages made later than this call but written
   * ahead of what follows it: take() puts fill() there (their encoding,
   * '' for none). size is what they hold so far (more is counted in
   * this.size by whoever adds it). See State. */
  reserve(fill, size) {
    this.slots.push([this.parts.length, fill]);
    this.parts.push('');
    this.size += size;
  }

  take() {
    for (const [i, fill] of this.slots) this.parts[i] = fill();
    this.slots = [];
    const data = this.parts.join('');
    this.parts = [];
    this.size = 0;
    return data;
  }
}

class MsgpackWriter {
  constructor() {
    this.encoder = new MsgpackEncoder();
  }

  get size() {
    return this.encoder.len;
  }

  add(msg) {
    this.encoder.add(msg);
  }

  take() {
    return this.encoder.take();
  }
}

/** Names the serializer of a handshake that starts with buf. */
function sniff(buf) {
  let i = 0;
  while (i < buf.length && (buf[i] === 0x20 || buf[i] === 0x09 || buf[i] === 0x0a || buf[i] === 0x0d)) i++;
  if (i < buf.length && ((buf[i] >= 0x80 && buf[i] <= 0x8f) || buf[i] === 0xde || buf[i] === 0xdf)) return 'msgpack';
  return 'json';
}

// --- The connection to the host -----------------------------------------------

/**
 * The process-wide connection: one component per process, like Storm's.
 * Tests replace its write function and feed it input.
 */
const connection = {
  writer: null,
  flushScheduled: false,
  /**
   * write(data) writes a string or Buffer to the host, all of it, before it
   * returns: a Buffer is only valid during the call.
   */
  write: writeFd1,
  /** exit(code) ends the process. */
  exit: (code) => process.exit(code),
  closed: false,
};

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function writeFd1(data) {
  let buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  while (buf.length > 0) {
    let n;
    try {
      n = fs.writeSync(1, buf, 0, buf.length);
    } catch (e) {
      if (e.code === 'EAGAIN') {
        Atomics.wait(sleeper, 0, 0, 1); // fd 1 was made non-blocking: wait a little
        continue;
      }
      if (e.code === 'EPIPE' || e.code === 'EBADF') {
        hostClosed();
        return;
      }
      throw e;
    }
    buf = buf.subarray(n);
  }
}

function hostClosed() {
  connection.closed = true;
  connection.exit(0);
}

/** Writes the buffered output now. */
function flush() {
  connection.flushScheduled = false;
  const w = connection.writer;
  if (w === null || connection.closed) return;
  if (logStream !== null) logStream.flushPartial();
  if (w.size === 0) return;
  const data = w.take();
  if (data.length !== 0) connection.write(data);
}

function scheduleFlush() {
  if (!connection.flushScheduled) {
    connection.flushScheduled = true;
    setImmediate(flush);
  }
}

function send(msg) {
  const w = connection.writer;
  w.add(msg);
  added(w);
}

/** Flushes w if it holds enough, else soon. */
function added(w) {
  if (w.size >= FLUSH_BYTES) flush();
  else scheduleFlush();
}

/** The stream console.log and process.stdout write to: lines become logs. */
class StdoutToLog extends Writable {
  constructor() {
    super({ decodeStrings: false });
    this.partial = '';
    this.isTTY = false;
    this.fd = 1;
  }

  _write(chunk, encoding, callback) {
    this.lines(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
    callback();
  }

  lines(s) {
    let text = this.partial + s;
    let i;
    while ((i = text.indexOf('\n')) >= 0) {
      logLine(text.slice(0, i));
      text = text.slice(i + 1);
    }
    this.partial = text;
    // A partial line is logged with the next output, at the latest soon.
    if (text.length > 0 && connection.writer !== null) scheduleFlush();
  }

  /** Logs a partial line; called before output is written to the host. */
  flushPartial() {
    if (this.partial.length > 0) {
      const line = this.partial;
      this.partial = '';
      connection.writer.add({ command: 'log', msg: line, level: INFO });
    }
  }
}

function logLine(line) {
  if (connection.writer !== null) send({ command: 'log', msg: line, level: INFO });
}

let logStream = null;

/** Points console.log and process.stdout at the log. */
function redirectStdout() {
  if (logStream !== null) return;
  logStream = new StdoutToLog();
  const logConsole = new console.Console({ stdout: logStream, stderr: process.stderr });
  for (const m of ['log', 'info', 'debug', 'dir', 'dirxml', 'table']) {
    console[m] = logConsole[m].bind(logConsole);
  }
  Object.defineProperty(process, 'stdout', { configurable: true, enumerable: true, get: () => logStream });
}

// --- Components -----------------------------------------------------------------

/** An input tuple of a bolt. */
function Tuple(id, component, stream, task, values) {
  this.id = id;
  this.component = component;
  this.stream = stream;
  this.task = task;
  this.values = values;
}

Tuple.prototype.isTickTuple = function isTickTuple() {
  return this.task === -1 && this.stream === '__tick';
};

Tuple.prototype.isHeartbeatTuple = function isHeartbeatTuple() {
  return this.task === -1 && this.stream === '__heartbeat';
};

/** The tuple a bolt of a DRPC chain with finishBatch: true gets when a request is complete. */
Tuple.prototype.isFinishBatchTuple = function isFinishBatchTuple() {
  return this.task === -1 && this.stream === '__finish_batch';
};

/** Calls fn(...args, done); done is called once, when fn calls it, when the
 * promise fn returns settles, or when fn returns if it takes no done. */
function callWithDone(self, fn, args, done) {
  let finished = false;
  const once = (err) => {
    if (finished) return;
    finished = true;
    done(err);
  };
  let result;
  try {
    result = fn.apply(self, args.concat([once]));
  } catch (e) {
    once(e || new Error('thrown without a value'));
    return;
  }
  if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
    result.then(() => once(), (e) => once(e || new Error('promise rejected without a reason')));
  } else if (fn.length <= args.length) {
    once();
  }
}

function errorText(err) {
  if (err instanceof Error) return err.stack || String(err);
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err);
  } catch (e) {
    return String(err);
  }
}

function anchorIds(anchors) {
  const list = Array.isArray(anchors) ? anchors : [anchors];
  return list.map((a) => (a !== null && typeof a === 'object' && 'id' in a ? a.id : a));
}

/** The base of every component: the connection and the protocol. */
function Storm() {
  this.messagePart = '';
  this.taskIdsCallbacks = [];
  this.isFirstMessage = true;
  this.separator = SEPARATOR;
  this.started = false;
  this.queue = [];
  this.queueHead = 0;
  this.pumping = false;
}

Storm.prototype.sendMsgToParent = function sendMsgToParent(msg) {
  send(msg);
};

Storm.prototype.sync = function sync() {
  send({ command: 'sync' });
};

Storm.prototype.sendPid = function sendPid(heartbeatdir) {
  const pid = process.pid;
  let problem = null;
  try {
    fs.closeSync(fs.openSync(`${heartbeatdir}/${pid}`, 'w'));
  } catch (e) {
    problem = `cannot create pid file in ${JSON.stringify(heartbeatdir)}: ${e.message}`;
  }
  send({ pid });
  if (problem !== null) this.log(problem, WARN);
};

/** Writes msg to the worker's log at level (0 trace ... 4 error; default info). */
Storm.prototype.log = function log(msg, level) {
  send({ command: 'log', msg: typeof msg === 'string' ? msg : String(msg), level: level === undefined ? INFO : level });
};
Storm.prototype.logTrace = function logTrace(msg) { this.log(msg, TRACE); };
Storm.prototype.logDebug = function logDebug(msg) { this.log(msg, DEBUG); };
Storm.prototype.logInfo = function logInfo(msg) { this.log(msg, INFO); };
Storm.prototype.logWarn = function logWarn(msg) { this.log(msg, WARN); };
Storm.prototype.logError = function logError(msg) { this.log(msg, ERROR); };

/** Reports an error for the component; it does not stop it. */
Storm.prototype.reportError = function reportError(msg) {
  send({ command: 'error', msg: typeof msg === 'string' ? msg : errorText(msg) });
};

/** Sets the task's metric name to params. */
Storm.prototype.rpcMetrics = function rpcMetrics(name, params) {
  send({ command: 'metrics', name, params });
};

Storm.prototype.initSetupInfo = function initSetupInfo(setupInfo) {
  const self = this;
  callWithDone(this, this.initialize, [setupInfo.conf, setupInfo.context], (err) => {
    if (err) {
      self.die(err);
      return;
    }
    self.sendPid(setupInfo.pidDir);
    self.started = true;
    self.pump();
  });
};

/**
 * Storm's chunk splitter, kept for compatibility: returns the complete
 * JSON messages (text) in chunk, keeping the rest for the next call.
 */
Storm.prototype.handleNewChunk = function handleNewChunk(chunk) {
  const messages = [];
  if (chunk && chunk.length !== 0) {
    this.messagePart += chunk;
    const parts = this.messagePart.split(this.separator);
    this.messagePart = parts.pop();
    for (const p of parts) if (p.length > 0) messages.push(p);
  }
  return messages;
};

Storm.prototype.isTaskIds = function isTaskIds(msg) {
  return msg instanceof Array;
};

/** Handles one message from the host (parsed, or JSON text). */
Storm.prototype.handleNewMessage = function handleNewMessage(msg) {
  const parsed = typeof msg === 'string' ? JSON.parse(msg) : msg;
  if (this.isFirstMessage) {
    this.isFirstMessage = false;
    this.initSetupInfo(parsed);
  } else if (this.isTaskIds(parsed)) {
    this.handleNewTaskId(parsed);
  } else {
    this.queue.push(parsed);
    this.pump();
  }
};

Storm.prototype.handleNewTaskId = function handleNewTaskId(taskIds) {
  // Task-id replies come in the order of the emits that asked for them.
  const callback = this.taskIdsCallbacks.shift();
  if (!callback) throw new Error('a task-id reply arrived for no emit that asked for one');
  callback(taskIds);
};

/** Runs queued commands, one at a time, each when the previous is done. */
Storm.prototype.pump = function pump() {
  if (this.pumping || !this.started) return;
  this.pumping = true;
  try {
    while (this.queueHead < this.queue.length && this.canTake()) {
      const msg = this.queue[this.queueHead];
      this.queue[this.queueHead++] = undefined;
      if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.queueHead);
        this.queueHead = 0;
      }
      this.handleNewCommand(msg);
    }
  } finally {
    this.pumping = false;
  }
};

Storm.prototype.canTake = function canTake() {
  return true;
};

/**
 * Emits a tuple. details: tuple (the values), stream, anchorTupleId (a
 * tuple id, a Tuple, or a list of them; bolts), id (spouts: makes the emit
 * reliable). With onTaskIds, the host is asked for the ids of the receiving
 * tasks and onTaskIds gets them; with details.needTaskIds and no callback,
 * a Promise of them is returned.
 */
Storm.prototype.emit = function emit(details, onTaskIds) {
  if (details.task !== undefined && details.task !== null) {
    throw new Error('Illegal input - task. To emit to specific task use emit direct!');
  }
  if (typeof onTaskIds === 'function') {
    this.taskIdsCallbacks.push(onTaskIds);
    this.__emit(details, true);
    return undefined;
  }
  if (details.needTaskIds === true) {
    const self = this;
    return new Promise((resolve) => {
      self.taskIdsCallbacks.push(resolve);
      self.__emit(details, true);
    });
  }
  this.__emit(details, false);
  return undefined;
};

/** Emits a tuple to the task details.task; the host sends no task ids. */
Storm.prototype.emitDirect = function emitDirect(details) {
  if (details.task === undefined || details.task === null) {
    throw new Error('Emit direct must receive task id!');
  }
  this.__emit(details, false);
};

/** Initializes the component; done (or the returned promise) ends it. */
Storm.prototype.initialize = function initialize(conf, context, done) {
  done();
};

/** Connects to the host over stdin/stdout and starts the component. */
Storm.prototype.run = function run() {
  const self = this;
  redirectStdout();
  process.on('uncaughtException', (e) => self.die(e));
  process.on('unhandledRejection', (e) => self.die(e));
  this.startReadingInput();
};

/** Reads the host's messages from stdin, in the format of its first byte. */
Storm.prototype.startReadingInput = function startReadingInput() {
  const self = this;
  let reader = null;
  process.stdin.on('data', (chunk) => {
    if (reader === null) {
      const kind = sniff(chunk);
      reader = kind === 'msgpack' ? new MsgpackReader() : new JsonReader();
      connection.writer = kind === 'msgpack' ? new MsgpackWriter() : new JsonWriter();
    }
    self.feed(reader, chunk);
  });
  process.stdin.on('end', () => {
    flush();
    connection.exit(0);
  });
  process.stdin.on('error', () => connection.exit(0));
};

/** Handles the messages that chunk completes. */
Storm.prototype.feed = function feed(reader, chunk) {
  for (const msg of reader.push(chunk)) this.handleNewMessage(msg);
};

/** Reports err and exits with status 1. */
Storm.prototype.die = function die(err) {
  const text = errorText(err);
  try {
    if (connection.writer !== null) {
      this.reportError(text);
      flush();
    }
  } catch (e) {
    // the host is gone
  }
  try {
    fs.writeSync(2, `${text}\n`);
  } catch (e) {
    // nowhere to say it
  }
  connection.exit(1);
};

// --- Bolts ------------------------------------------------------------------------

/**
 * The plain bolt: implement process(tuple) (optionally async, or taking
 * done) and ack or fail every tuple with this.ack(tuple) / this.fail(tuple).
 */
function Bolt() {
  Storm.call(this);
  this.concurrency = 1;
  this.inProcess = 0;
}

Bolt.prototype = Object.create(Storm.prototype);
Bolt.prototype.constructor = Bolt;

Bolt.prototype.canTake = function canTake() {
  return this.inProcess < this.concurrency;
};

Bolt.prototype.process = function process(tuple, done) {
  done();
};

Bolt.prototype.ack = function ack(tup) {
  send({ command: 'ack', id: tup !== null && typeof tup === 'object' ? tup.id : tup });
};

Bolt.prototype.fail = function fail(tup) {
  send({ command: 'fail', id: tup !== null && typeof tup === 'object' ? tup.id : tup });
};

Bolt.prototype.handleNewCommand = function handleNewCommand(command) {
  const tup = new Tuple(command.id, command.comp, command.stream, command.task, command.tuple);
  if (tup.isHeartbeatTuple()) {
    this.sync();
    return;
  }
  this.inProcess++;
  const self = this;
  if (tup.isFinishBatchTuple()) {
    this.processFinishBatch(tup, () => {
      self.inProcess--;
      self.pump();
    });
    return;
  }
  this.processTuple(tup, () => {
    self.inProcess--;
    self.pump();
  });
};

/** Runs process for tup; finished is called once it is done. */
Bolt.prototype.processTuple = function processTuple(tup, finished) {
  const self = this;
  callWithDone(this, this.process, [tup], (err) => {
    if (err) {
      self.die(err);
      return;
    }
    finished();
  });
};

/**
 * Called, in a DRPC chain declared with finishBatch: true, once every
 * tuple of the request has been processed (Storm's finishBatch): emit the
 * request's answer here; emits are anchored for you. May take done or be
 * async.
 */
Bolt.prototype.finishBatch = function finishBatch(requestId, done) {
  done();
};

const finishStorage = new AsyncLocalStorage();

/** Runs finishBatch for a __finish_batch tuple, then acks it (fails it on error). */
Bolt.prototype.processFinishBatch = function processFinishBatch(tup, finished) {
  const self = this;
  finishStorage.run(tup, () => {
    callWithDone(self, self.finishBatch, [tup.values[0]], (err) => {
      if (err) {
        send({ command: 'fail', id: tup.id });
        self.reportError(errorText(err));
      } else {
        send({ command: 'ack', id: tup.id });
      }
      finished();
    });
  });
};

Bolt.prototype.__emit = function __emit(details, needTaskIds) {
  let anchors = [];
  if (details.anchorTupleId !== undefined && details.anchorTupleId !== null) {
    anchors = anchorIds(details.anchorTupleId);
  } else {
    const current = finishStorage.getStore() || this.currentTuple();
    if (current !== undefined) anchors = [current.id];
  }
  const msg = { command: 'emit', tuple: details.tuple, anchors };
  if (details.stream !== undefined && details.stream !== null) msg.stream = details.stream;
  if (details.task !== undefined && details.task !== null) msg.task = details.task;
  else if (!needTaskIds) msg.need_task_ids = false;
  send(msg);
};

/** The tuple emits are anchored to by default: none for a plain bolt. */
Bolt.prototype.currentTuple = function currentTuple() {
  return undefined;
};

const anchorStorage = new AsyncLocalStorage();

/**
 * A bolt whose emits are anchored to the input tuple, which is acked when
 * process is done, or failed (and the error reported) if it ends in an
 * error. Implement process(tuple, done) or async process(tuple).
 */
function BasicBolt() {
  Bolt.call(this);
  this.anchorTuple = null;
}

BasicBolt.prototype = Object.create(Bolt.prototype);
BasicBolt.prototype.constructor = BasicBolt;

BasicBolt.prototype.processTuple = function processTuple(tup, finished) {
  const self = this;
  anchorStorage.run(tup, () => {
    self.anchorTuple = tup;
    callWithDone(self, self.process, [tup], (err) => {
      if (err) {
        self.fail(tup, err);
        self.reportError(errorText(err));
      } else {
        self.ack(tup);
      }
      finished();
    });
    self.anchorTuple = null;
  });
};

BasicBolt.prototype.currentTuple = function currentTuple() {
  return anchorStorage.getStore();
};

BasicBolt.prototype.fail = function fail(tup) {
  send({ command: 'fail', id: tup !== null && typeof tup === 'object' ? tup.id : tup });
};

// --- Windowed bolts ----------------------------------------------------------------

const WINDOW_STREAM = '__window';

/** One window of a WindowedBolt: tuples (oldest first), new (not in the
 * previous window), expired (in the previous window, not in this one),
 * start and end in milliseconds (start is null for count windows). */
function Window(id, held, added, expired, start, end) {
  this.id = id;
  let tuples = null; // made on first use: running results need only new and expired
  Object.defineProperty(this, 'tuples', {
    enumerable: true,
    get: () => {
      if (tuples === null) tuples = Array.from(held.values());
      return tuples;
    },
  });
  this.new = added;
  this.expired = expired;
  this.start = start;
  this.end = end;
}

/**
 * A bolt of a component declared `window:` in its topology: the host does
 * the windowing and calls processWindow(window, done) (or an async
 * processWindow(window)) every time a window fires, one window at a time.
 * Emits inside it are anchored to the whole window; the window is acked when
 * processWindow is done, or failed (its tuples replayed, the error
 * reported) if it ends in an error. Window tuples are acked by the host as
 * they leave every window: never ack them.
 */
function WindowedBolt() {
  Bolt.call(this);
  this.held = new Map(); // the window's tuples by id, in insertion order
  this.pending = new Map(); // tuples streamed ahead of their window, by id
  this.windowStarted = false;
}

WindowedBolt.prototype = Object.create(Bolt.prototype);
WindowedBolt.prototype.constructor = WindowedBolt;

WindowedBolt.prototype.processWindow = function processWindow(window, done) {
  done();
};

WindowedBolt.prototype.processTuple = function processTuple(tup, finished) {
  if (tup.stream !== WINDOW_STREAM) {
    this.die(new Error(`${this.constructor.name} is a WindowedBolt, but its component declares no window: ` +
      'add `window: {length: ..., sliding: ...}` to it in the topology'));
    return;
  }
  const w = tup.values[0];
  const wid = tup.id;
  if (w.forget) {
    for (const i of w.forget) this.pending.delete(i);
  }
  if (w.add) {
    // Tuples ahead of their window, [comp, stream, task, ids, values] per
    // source: held until a window names them by id.
    for (const [comp, stream, task, ids, values] of w.add) {
      for (let k = 0; k < ids.length; k++) this.pending.set(ids[k], new Tuple(ids[k], comp, stream, task, values[k]));
    }
    this.ack(wid);
    finished();
    return;
  }
  if (w.reset) {
    this.held.clear();
  } else if (!this.windowStarted || w.expired.some((i) => !this.held.has(i))) {
    // This child does not hold the window the host changes (it restarted):
    // failing it makes the host send the next one whole.
    this.fail(wid);
    finished();
    return;
  }
  const expired = w.expired.map((i) => {
    const t = this.held.get(i);
    this.held.delete(i);
    return t;
  });
  const added = [];
  for (const t of w.new) { // an id streamed before, or [id, comp, stream, task, values]
    let nt;
    if (typeof t === 'string') {
      nt = this.pending.get(t);
      this.pending.delete(t);
    } else {
      nt = new Tuple(t[0], t[1], t[2], t[3], t[4]);
      // A copy the host streamed before it knew this child lost it.
      if (this.pending.size > 0) this.pending.delete(nt.id);
    }
    if (nt === undefined) {
      // Streamed to a child that died since: fail, as above.
      this.windowStarted = false;
      this.fail(wid);
      finished();
      return;
    }
    this.held.set(nt.id, nt);
    added.push(nt);
  }
  this.windowStarted = true;
  let fresh = added;
  if (w.old) {
    // Put back after a recovery: in the window, not new.
    const old = new Set(w.old);
    fresh = added.filter((t) => !old.has(t.id));
  }
  const window = new Window(wid, this.held, fresh, expired, w.start, w.end);
  const self = this;
  const anchor = new Tuple(wid, '__system', WINDOW_STREAM, -1, []);
  anchorStorage.run(anchor, () => {
    callWithDone(self, self.processWindow, [window], (err) => {
      if (err) {
        self.fail(wid);
        self.reportError(errorText(err));
        self.windowStarted = false; // the host resends the window whole
      } else {
        self.ack(wid);
      }
      finished();
    });
  });
};

WindowedBolt.prototype.currentTuple = function currentTuple() {
  return anchorStorage.getStore();
};

// --- Spouts ------------------------------------------------------------------------

/**
 * A spout: implement nextTuple(done) (emit zero or more tuples, then call
 * done), and optionally ack(id, done), fail(id, done), activate(done),
 * deactivate(done); any of them may be async instead of taking done.
 */
function Spout() {
  Storm.call(this);
  this.busy = false;
}

Spout.prototype = Object.create(Storm.prototype);
Spout.prototype.constructor = Spout;

Spout.prototype.ack = function ack(id, done) { done(); };
Spout.prototype.fail = function fail(id, done) { done(); };
Spout.prototype.nextTuple = function nextTuple(done) { done(); };
Spout.prototype.activate = function activate(done) { done(); };
Spout.prototype.deactivate = function deactivate(done) { done(); };

Spout.prototype.canTake = function canTake() {
  return !this.busy;
};

Spout.prototype.handleNewCommand = function handleNewCommand(command) {
  let fn;
  let args;
  switch (command.command) {
    case 'next': fn = this.nextTuple; args = []; break;
    case 'ack': fn = this.ack; args = [command.id]; break;
    case 'fail': fn = this.fail; args = [command.id]; break;
    case 'activate': fn = this.activate; args = []; break;
    case 'deactivate': fn = this.deactivate; args = []; break;
    default:
      this.sync();
      return;
  }
  this.busy = true;
  const self = this;
  callWithDone(this, fn, args, (err) => {
    if (err) {
      self.die(err);
      return;
    }
    self.busy = false;
    self.sync();
    self.pump();
  });
};

Spout.prototype.__emit = function __emit(details, needTaskIds) {
  const msg = { command: 'emit', tuple: details.tuple };
  if (details.id !== undefined && details.id !== null) msg.id = details.id;
  if (details.stream !== undefined && details.stream !== null) msg.stream = details.stream;
  if (details.task !== undefined && details.task !== null) msg.task = details.task;
  else if (!needTaskIds) msg.need_task_ids = false;
  send(msg);
};

// --- Stateful bolts ----------------------------------------------------------------
//
// squall's state extension (docs/multilang.md, "Stateful bolts"): the task's
// key-value state lives in the host, which checkpoints it; the child reads
// it with state_get and state_items, writes it with state_put and
// state_delete, and empties its cache on state_reset.

const STATE_REPLIES = new Set(['state_values', 'state_items']);
const ABSENT = Symbol('absent'); // cached: the key is not in the state

/** Checks a state key and returns it: the cache is a Map, which tells
 * '1', 1 and true apart and takes 1.0 for 1, as the host does. */
function stateKey(key) {
  switch (typeof key) {
    case 'string':
      if (key.charCodeAt(0) === 0) {
        throw new Error(`state key ${JSON.stringify(key.slice(0, 60))}: keys starting with a 0 byte are reserved for squall`);
      }
      return key;
    case 'number':
      if (!Number.isFinite(key)) throw new Error(`state key ${key}: not a JSON number`);
      return key === 0 ? 0 : key; // -0 is 0 in JSON
    case 'boolean':
      return key;
    default:
      throw new TypeError('state keys are strings, numbers or booleans (JSON strings, numbers or booleans), ' +
        `not ${key === null ? 'null' : typeof key}: ${String(key)}`);
  }
}

/** A copy of value sharing no array, object or Buffer with it: what the bolt
 * gets from the cache or gave it cannot change behind the host's back. */
function stateCopy(value) {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(stateCopy);
  if (value instanceof Uint8Array) return Buffer.from(value);
  const out = {};
  for (const k of Object.keys(value)) out[k] = stateCopy(value[k]);
  return out;
}

/** A state_get or state_items sent to the host and the replies it got. */
class StateRequest {
  constructor(reply) {
    this.reply = reply;
    this.parts = [];
    this.done = false;
    this.abandoned = false;
    this.wake = null;
  }

  /** Resolves once a reply is there to consume, or the last one came. */
  next() {
    if (this.parts.length > 0 || this.done) return Promise.resolve();
    return new Promise((resolve) => { this.wake = resolve; });
  }
}

/**
 * A stateful bolt's key-value state, held by the host (this.state of a
 * StatefulBolt). Reads are asynchronous: `await state.get(key, dflt)`,
 * `await state.has(key)`, `for await (const [k, v] of state.items())`,
 * `await state.prefetch(keys)` (many keys in one round trip); writes are
 * not: `state.set(key, value)`, `state.delete(key)`.
 *
 * Keys are strings, numbers or booleans; values anything JSON (or
 * MessagePack) carries. Reads are cached, up to maxKeys values (least
 * recently used beyond): a hit costs no round trip (its promise is already
 * resolved). Writes go to the host with the next flush of the bolt's
 * output, before the ack of the tuple that made them; with JSON, the
 * writes between two flushes go as one message holding each key's last
 * value. Values are copied in and out: change an object you read and
 * set it again to store it. delete never reads. items(), keys() and
 * values() stream the whole state from the host (not cached); iterate them
 * while handling one tuple.
 */
class State {
  constructor(maxKeys = 100000) {
    this.cache = new Map(); // key -> value or ABSENT, least recently used first
    this.maxKeys = Math.max(1, Math.floor(Number(maxKeys)) || 1);
    this.requests = []; // waiting for their reply, oldest first
    this.roundTrips = 0; // requests that waited for the host's reply
    this.puts = null; // the writes not written yet (see coalesce)
    this.dels = new Map();
  }

  remember(key, value) {
    const cache = this.cache;
    cache.delete(key);
    cache.set(key, value);
    if (cache.size > this.maxKeys) cache.delete(cache.keys().next().value);
  }

  request(msg, reply) {
    const req = new StateRequest(reply);
    send(msg);
    this.requests.push(req);
    this.roundTrips++;
    return req;
  }

  /** Hands a state reply to the oldest request: the host answers in order. */
  route(msg) {
    const req = this.requests[0];
    if (req === undefined) throw new Error(`the host sent ${msg.command}, but no state command waits for a reply`);
    if (msg.command !== req.reply) {
      throw new Error(`the host sent ${msg.command} in reply to ${req.reply === 'state_values' ? 'state_get' : 'state_items'}`);
    }
    if (!req.abandoned) req.parts.push(msg);
    if (!msg.more) { // a long reply comes in parts, the last without "more"
      req.done = true;
      this.requests.shift();
    }
    if (req.wake !== null) {
      const wake = req.wake;
      req.wake = null;
      wake();
    }
  }

  /** Reads keys in one round trip, caches them, and returns what was found. */
  async fetch(keys) {
    const req = this.request({ command: 'state_get', keys }, 'state_values');
    const found = new Map();
    for (;;) { // the reply's parts, the last without "more"
      await req.next();
      const part = req.parts.shift();
      if (part === undefined) break;
      for (const [k, v] of part.items || []) found.set(stateKey(k), v);
      if (!part.more) break;
    }
    for (const k of keys) this.remember(stateKey(k), found.has(k) ? found.get(k) : ABSENT);
    return found;
  }

  /** The cached value of the checked key k (cached: see has), now the most
   * recently used. */
  touch(k) {
    const cache = this.cache;
    const v = cache.get(k);
    cache.delete(k);
    cache.set(k, v);
    return v;
  }

  /** The value of key, or dflt (undefined if not given) if it is absent. */
  get(key, dflt) {
    const k = stateKey(key);
    if (this.cache.has(k)) {
      const v = this.touch(k);
      return Promise.resolve(v === ABSENT ? dflt : stateCopy(v));
    }
    return this.fetch([key]).then((found) => (found.has(k) ? stateCopy(found.get(k)) : dflt));
  }

  /** Whether key is in the state. */
  has(key) {
    const k = stateKey(key);
    if (this.cache.has(k)) return Promise.resolve(this.touch(k) !== ABSENT);
    return this.fetch([key]).then((found) => found.has(k));
  }

  set(key, value) {
    const k = stateKey(key);
    const w = connection.writer;
    if (w instanceof JsonWriter) {
      // Encoded now, so that a value JSON cannot carry throws here.
      this.coalesce(w, k, JSON.stringify([k, value]), null);
    } else {
      send({ command: 'state_put', items: [[k, value]] });
    }
    this.remember(k, stateCopy(value));
    return this;
  }

  delete(key) {
    const k = stateKey(key);
    const w = connection.writer;
    if (w instanceof JsonWriter) this.coalesce(w, k, null, JSON.stringify(k));
    else send({ command: 'state_delete', keys: [k] });
    this.remember(k, ABSENT);
  }

  // With JSON, the writes made between two flushes go out as one
  // state_put (and one state_delete) with each key's last value, at the
  // place of the first of them among the messages: ahead of the ack of
  // every tuple that made one, and of any read sent later. A message per
  // write cost the host one each. puts maps each key put since to the
  // JSON of its [key, value] item, dels each key deleted to its JSON;
  // puts is null when nothing waits.
  coalesce(w, k, item, deleted) {
    if (this.puts === null) {
      this.puts = new Map();
      w.reserve(() => this.writes(), 40);
    }
    if (item !== null) {
      this.dels.delete(k);
      this.puts.set(k, item);
    } else {
      this.puts.delete(k);
      this.dels.set(k, deleted);
    }
    w.size += (item || deleted).length + 1;
    added(w);
  }

  /** The encoding of the writes waiting (JsonWriter.reserve's fill). */
  writes() {
    const { puts, dels } = this;
    this.puts = null;
    this.dels = new Map();
    let text = '';
    if (puts.size > 0) text += `{"command":"state_put","items":[${[...puts.values()].join(',')}]}${SEPARATOR}`;
    if (dels.size > 0) text += `{"command":"state_delete","keys":[${[...dels.values()].join(',')}]}${SEPARATOR}`;
    return text;
  }

  /** Reads the keys not cached yet in one round trip, so that the reads that
   * follow are hits (as long as the cache holds them). */
  async prefetch(keys) {
    const want = new Set();
    for (const key of keys) {
      const k = stateKey(key);
      if (!this.cache.has(k)) want.add(k);
    }
    if (want.size > 0) await this.fetch(Array.from(want));
  }

  /** Yields every [key, value] of the state, streamed from the host in its order. */
  async* items() {
    const req = this.request({ command: 'state_items' }, 'state_items');
    try {
      for (;;) {
        await req.next();
        if (req.parts.length === 0) return;
        for (const item of req.parts.shift().items || []) yield item;
      }
    } finally {
      req.abandoned = true;
      req.parts.length = 0;
    }
  }

  async* keys() {
    for await (const [k] of this.items()) yield k;
  }

  async* values() {
    for await (const [, v] of this.items()) yield v;
  }

  [Symbol.asyncIterator]() {
    return this.items();
  }

  /** Empties the cache (the host rolled the state back). */
  reset() {
    this.cache.clear();
  }
}

/**
 * A BasicBolt of a component declared `state:` in its topology, with
 * this.state, its task's key-value state (a State, see there), which the
 * host keeps and checkpoints: after a crash the bolt finds what the last
 * checkpoint committed, and the tuples since are replayed. The bolt never
 * sees a checkpoint. this.state is ready in initialize.
 *
 *     class WordCount extends StatefulBolt {
 *       async process(tup) {
 *         const word = tup.values[0];
 *         const n = (await this.state.get(word, 0)) + 1;
 *         this.state.set(word, n);
 *         this.emit({ tuple: [word, n] });
 *       }
 *     }
 *
 * onStateReset() is called when the host rolled the state back (the cache
 * is already empty): drop anything derived from the state there.
 */
function StatefulBolt() {
  BasicBolt.call(this);
  this.state = null;
}

StatefulBolt.prototype = Object.create(BasicBolt.prototype);
StatefulBolt.prototype.constructor = StatefulBolt;

StatefulBolt.prototype.onStateReset = function onStateReset() {};

StatefulBolt.prototype.initSetupInfo = function initSetupInfo(setupInfo) {
  // The pid first: initialize may read the state, which the host answers
  // only after the handshake.
  this.sendPid(setupInfo.pidDir);
  const context = setupInfo.context || {};
  const spec = context.squall !== null && typeof context.squall === 'object' ? context.squall.state : undefined;
  if (spec === null || typeof spec !== 'object') {
    this.die(new Error(`${this.constructor.name} is a StatefulBolt, but its component declares no state ` +
      '(the handshake has no squall.state): add `state: {}` to it in the topology'));
    return;
  }
  this.state = new State(spec.cache_max_keys || 100000);
  const self = this;
  callWithDone(this, this.initialize, [setupInfo.conf, setupInfo.context], (err) => {
    if (err) {
      self.die(err);
      return;
    }
    self.started = true;
    self.pump();
  });
};

// routeStateReply hands a reply to a state command (state_values, ...) to
// bolt's state and reports whether msg was one; a failure stops the child.
function routeStateReply(bolt, parsed) {
  if (bolt.isFirstMessage || parsed === null || Array.isArray(parsed) || !STATE_REPLIES.has(parsed.command)) {
    return false;
  }
  try {
    bolt.state.route(parsed);
  } catch (e) {
    bolt.die(e);
  }
  return true;
}

StatefulBolt.prototype.handleNewMessage = function handleNewMessage(msg) {
  const parsed = typeof msg === 'string' ? JSON.parse(msg) : msg;
  if (routeStateReply(this, parsed)) {
    return;
  }
  BasicBolt.prototype.handleNewMessage.call(this, parsed);
};

StatefulBolt.prototype.handleNewCommand = function handleNewCommand(command) {
  if (command.command === undefined) {
    BasicBolt.prototype.handleNewCommand.call(this, command);
    return;
  }
  if (command.command === 'state_reset') {
    this.state.reset();
    try {
      this.onStateReset();
    } catch (e) {
      this.die(e);
    }
  }
};

/**
 * Storm's IStatefulWindowedBolt: a WindowedBolt of a component declared both
 * `window:` and `state:`, with this.state as in StatefulBolt (ready in
 * initialize). What processWindow writes is checkpointed with the window's
 * tuples: they are acked once they left every window and a checkpoint then
 * committed; after a crash or a rollback the state is the last commit's and
 * the windows are rebuilt from the spouts' replays (at least once: a window
 * may be processed again). onStateReset() is called after a rollback.
 */
function StatefulWindowedBolt() {
  WindowedBolt.call(this);
  this.state = null;
}

StatefulWindowedBolt.prototype = Object.create(WindowedBolt.prototype);
StatefulWindowedBolt.prototype.constructor = StatefulWindowedBolt;

StatefulWindowedBolt.prototype.onStateReset = function onStateReset() {};

StatefulWindowedBolt.prototype.initSetupInfo = function initSetupInfo(setupInfo) {
  const context = setupInfo.context || {};
  const spec = context.squall !== null && typeof context.squall === 'object' ? context.squall.state : undefined;
  if (spec === null || typeof spec !== 'object') {
    this.sendPid(setupInfo.pidDir);
    this.die(new Error(`${this.constructor.name} is a StatefulWindowedBolt, but its component declares no state ` +
      '(the handshake has no squall.state): add `state: {}` to it in the topology'));
    return;
  }
  StatefulBolt.prototype.initSetupInfo.call(this, setupInfo);
};

StatefulWindowedBolt.prototype.handleNewMessage = function handleNewMessage(msg) {
  const parsed = typeof msg === 'string' ? JSON.parse(msg) : msg;
  if (routeStateReply(this, parsed)) {
    return;
  }
  WindowedBolt.prototype.handleNewMessage.call(this, parsed);
};

StatefulWindowedBolt.prototype.handleNewCommand = function handleNewCommand(command) {
  if (command.command === undefined) {
    WindowedBolt.prototype.handleNewCommand.call(this, command);
    return;
  }
  StatefulBolt.prototype.handleNewCommand.call(this, command);
};

module.exports = {
  Storm,
  Bolt,
  BasicBolt,
  WindowedBolt,
  Window,
  StatefulBolt,
  StatefulWindowedBolt,
  State,
  Spout,
  Tuple,
  TRACE,
  DEBUG,
  INFO,
  WARN,
  ERROR,
  // For tests and other hosts of this module.
  connection,
  flush,
  sniff,
  packMsgpack,
  unpackMsgpack,
  JsonReader,
  JsonWriter,
  MsgpackReader,
  MsgpackWriter,
};

// User metrics: helpers on top of the multilang metrics command, with the
// params shapes squall reads (docs/multilang.md, Metrics). A bad value
// throws here, where the mistake is, instead of being refused and counted
// by the host.
function metricName(name) {
  if (typeof name !== 'string' || name === '') throw new TypeError(`metric name ${JSON.stringify(name)}: want a non-empty string`);
  return name;
}

function finite(kind, name, v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${kind} ${name}: value ${String(v)} is not a finite number`);
  return v;
}

/**
 * metrics.counter(name, n = 1) adds a whole number >= 0; metrics.gauge(name,
 * x) sets a number; metrics.histogram(name, x or [x, ...]) counts values >= 0
 * (up to 1000 at once).
 */
const metrics = {
  counter(name, n = 1) {
    metricName(name);
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`counter ${name}: increment ${String(n)} is not a whole number >= 0`);
    send({ command: 'metrics', name, params: { type: 'counter', value: n } });
  },
  gauge(name, x) {
    metricName(name);
    send({ command: 'metrics', name, params: { type: 'gauge', value: finite('gauge', name, x) } });
  },
  histogram(name, x) {
    metricName(name);
    if (Array.isArray(x)) {
      if (x.length === 0 || x.length > 1000) throw new RangeError(`histogram ${name}: ${x.length} values, want 1 to 1000`);
      for (const v of x) {
        if (finite('histogram', name, v) < 0) throw new RangeError(`histogram ${name}: value ${v} is negative`);
      }
      send({ command: 'metrics', name, params: { type: 'histogram', values: x } });
      return;
    }
    if (finite('histogram', name, x) < 0) throw new RangeError(`histogram ${name}: value ${x} is negative`);
    send({ command: 'metrics', name, params: { type: 'histogram', value: x } });
  },
};

module.exports.metrics = metrics;
