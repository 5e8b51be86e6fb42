'use strict';

// Tests of storm.WindowedBolt, driven in-process as the host drives it.

const assert = require('node:assert/strict');
const { test, describe } = require('node:test');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const storm = require(path.resolve(__dirname, '..', 'storm.js'));

function tup(id, ...values) {
  return { id, comp: 'source', stream: 'default', task: 4, tuple: values };
}

/** A window message: added holds tuples (sent whole) or ids (streamed before). */
function windowMsg(id, added, expired = [], { start = 0, end = 999, reset = false, forget = null } = {}) {
  const news = added.map((t) => (typeof t === 'string' ? t : [t.id, t.comp, t.stream, t.task, t.tuple]));
  const w = { start, end, new: news, expired };
  if (reset) w.reset = true;
  if (forget) w.forget = forget;
  return { id, comp: '__system', stream: '__window', task: -1, tuple: [w] };
}

/** Tuples streamed ahead of their window, grouped by source as the host does. */
function addMsg(id, tuples) {
  const runs = new Map();
  for (const t of tuples) {
    const key = JSON.stringify([t.comp, t.stream, t.task]);
    if (!runs.has(key)) runs.set(key, [t.comp, t.stream, t.task, [], []]);
    runs.get(key)[3].push(t.id);
    runs.get(key)[4].push(t.tuple);
  }
  return { id, comp: '__system', stream: '__window', task: -1, tuple: [{ add: [...runs.values()] }] };
}

const HEARTBEAT = { id: 'hb', comp: null, stream: '__heartbeat', task: -1, tuple: [] };

/** Runs component on messages after a handshake; returns what it wrote
 * (without the pid reply) and the exit code it asked for. */
async function drive(component, messages, context = { taskid: 3 }) {
  const c = storm.connection;
  const writes = [];
  let exitCode = null;
  c.writer = new storm.JsonWriter();
  c.closed = false;
  c.write = (data) => writes.push(Buffer.from(data));
  c.exit = (code) => {
    if (exitCode === null) exitCode = code;
  };
  const pidDir = fs.mkdtempSync(path.join(os.tmpdir(), 'storm-test-'));
  try {
    component.handleNewMessage({ pidDir, conf: {}, context });
    for (const m of messages) {
      // A state reply comes after its request, as from a host: the
      // window waiting for it runs first.
      if (m.command !== undefined) await new Promise((resolve) => setTimeout(resolve, 5));
      component.handleNewMessage(m);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
    storm.flush();
  } finally {
    fs.rmSync(pidDir, { recursive: true, force: true });
  }
  const text = Buffer.concat(writes).toString('utf8');
  const out = text === '' ? [] : text.slice(0, -5).split('\nend\n').map((m) => JSON.parse(m));
  assert.deepEqual(out[0], { pid: process.pid });
  return { out: out.slice(1), exitCode };
}

class Recorder extends storm.WindowedBolt {
  constructor() {
    super();
    this.seen = [];
  }

  async processWindow(w) {
    const words = (ts) => ts.map((t) => t.values[0]);
    this.last = w;
    this.seen.push([words(w.tuples), words(w.new), words(w.expired), w.start, w.end]);
    await null; // emits after an await are still anchored to the window
    if (words(w.new)[0] === 'boom') throw new Error('boom');
    this.emit({ tuple: [w.tuples.length] });
  }
}

describe('WindowedBolt', () => {
  test('keeps the window from its changes, anchors emits to it and acks it', async () => {
    const b = new Recorder();
    const { out } = await drive(b, [
      windowMsg('w1', [tup('1', 'a'), tup('2', 'b')], [], { reset: true }),
      HEARTBEAT,
      windowMsg('w2', [tup('3', 'c')], ['1'], { start: 1000, end: 1999 }),
      windowMsg('w3', [], ['2'], { start: 2000, end: 2999 }),
    ]);
    assert.deepEqual(b.seen, [
      [['a', 'b'], ['a', 'b'], [], 0, 999],
      [['b', 'c'], ['c'], ['a'], 1000, 1999],
      [['c'], [], ['b'], 2000, 2999],
    ]);
    assert.deepEqual(out.filter((m) => m.command !== 'sync'), [
      { command: 'emit', tuple: [2], anchors: ['w1'], need_task_ids: false },
      { command: 'ack', id: 'w1' },
      { command: 'emit', tuple: [2], anchors: ['w2'], need_task_ids: false },
      { command: 'ack', id: 'w2' },
      { command: 'emit', tuple: [1], anchors: ['w3'], need_task_ids: false },
      { command: 'ack', id: 'w3' },
    ]);
  });

  test('a failed window is failed and the next must be whole', async () => {
    const b = new Recorder();
    const { out } = await drive(b, [
      windowMsg('w1', [tup('1', 'boom')], [], { reset: true }),
      windowMsg('w2', [tup('2', 'x')]),
      windowMsg('w3', [tup('1', 'boom'), tup('2', 'x')], [], { reset: true }),
      windowMsg('w4', [tup('9', 'y')], ['1']),
    ]);
    assert.deepEqual(b.seen.map((s) => s[0]), [['boom'], ['boom', 'x']]);
    const cmds = out.filter((m) => m.command !== 'error').map((m) => [m.command, m.id]);
    assert.deepEqual(cmds, [['fail', 'w1'], ['fail', 'w2'], ['fail', 'w3'], ['fail', 'w4']]);
    assert.ok(out.some((m) => m.command === 'error' && /boom/.test(m.msg)));
  });

  test('tuples put back by a recovery are in the window but not new', async () => {
    // After a restart with a message id field, the host puts back tuples
    // evaluated before: a whole window lists them in "old".
    const b = new Recorder();
    const w1 = windowMsg('w1', [tup('1', 'a'), tup('2', 'b'), tup('3', 'c')], [], { reset: true });
    w1.tuple[0].old = ['1', '2'];
    await drive(b, [w1, windowMsg('w2', [tup('4', 'd')], ['1'])]);
    assert.deepEqual(b.seen, [
      [['a', 'b', 'c'], ['c'], [], 0, 999],
      [['b', 'c', 'd'], ['d'], ['a'], 0, 999],
    ]);
  });

  test('a restarted child fails a window it does not hold', async () => {
    const b = new Recorder();
    const { out } = await drive(b, [windowMsg('w9', [tup('5', 'a')], ['4'])]);
    assert.deepEqual(b.seen, []);
    assert.deepEqual(out, [{ command: 'fail', id: 'w9' }]);
  });

  test('streamed tuples are named by windows', async () => {
    const b = new Recorder();
    const other = { ...tup('4', 'd'), comp: 'other', stream: 's2', task: 7 };
    const { out } = await drive(b, [
      addMsg('a1', [tup('1', 'a'), tup('2', 'b')]),
      addMsg('a2', [tup('3', 'c'), other, tup('9', 'dropped')]),
      windowMsg('w1', ['1', '2'], [], { reset: true }),
      windowMsg('w2', ['3', tup('5', 'e'), '4'], ['1'], { forget: ['9'] }),
    ]);
    assert.deepEqual(b.seen, [
      [['a', 'b'], ['a', 'b'], [], 0, 999],
      [['b', 'c', 'e', 'd'], ['c', 'e', 'd'], ['a'], 0, 999],
    ]);
    const d = b.last.new[2];
    assert.deepEqual([d.component, d.stream, d.task, d.id], ['other', 's2', 7, '4']);
    assert.equal(b.pending.size, 0);
    const cmds = out.filter((m) => m.command !== 'emit').map((m) => [m.command, m.id]);
    assert.deepEqual(cmds, [['ack', 'a1'], ['ack', 'a2'], ['ack', 'w1'], ['ack', 'w2']]);
  });

  test('a reset keeps streamed tuples and a whole one replaces its copy', async () => {
    const b = new Recorder();
    await drive(b, [
      addMsg('a1', [tup('1', 'a'), tup('2', 'b')]),
      windowMsg('w1', ['1'], [], { reset: true }),
      windowMsg('w2', [tup('1', 'a'), tup('2', 'b')], [], { reset: true }),
      windowMsg('w3', [], ['1', '2']),
    ]);
    assert.deepEqual(b.seen.map((s) => s[0]), [['a'], ['a', 'b'], []]);
    assert.equal(b.pending.size, 0);
  });

  test('a window naming a tuple never streamed is failed', async () => {
    const b = new Recorder();
    const { out } = await drive(b, [
      windowMsg('w1', [tup('1', 'a')], [], { reset: true }),
      windowMsg('w2', ['2'], ['1']),
      windowMsg('w3', ['3']),
      windowMsg('w4', [tup('1', 'a'), tup('2', 'b')], [], { reset: true }),
    ]);
    assert.deepEqual(b.seen.map((s) => s[0]), [['a'], ['a', 'b']]);
    const cmds = out.filter((m) => m.command !== 'emit').map((m) => [m.command, m.id]);
    assert.deepEqual(cmds, [['ack', 'w1'], ['fail', 'w2'], ['fail', 'w3'], ['ack', 'w4']]);
  });

  test('a tuple outside a window is refused', async () => {
    const { out, exitCode } = await drive(new Recorder(), [tup('1', 'a')]);
    assert.equal(exitCode, 1);
    assert.ok(out.some((m) => m.command === 'error' && /declares no window/.test(m.msg)));
  });
});

/** Counts each window's new words in its state. */
class WindowCount extends storm.StatefulWindowedBolt {
  constructor() {
    super();
    this.resets = 0;
  }

  onStateReset() {
    this.resets++;
  }

  async processWindow(w) {
    for (const t of w.new) {
      const n = await this.state.get(t.values[0]);
      this.state.set(t.values[0], (n || 0) + 1);
    }
  }
}

const STATEFUL = { taskid: 3, squall: { protocol: 1, state: { cache_max_keys: 10 } } };

describe('StatefulWindowedBolt', () => {
  test('windows read and write the state, and a reset clears its cache', async () => {
    const b = new WindowCount();
    const { out } = await drive(b, [
      addMsg('a1', [tup('1', 'a'), tup('2', 'a')]),
      windowMsg('w1', ['1', '2'], [], { reset: true }),
      { command: 'state_values', items: [] },
      { command: 'state_reset', txid: 3 },
      windowMsg('w2', [tup('3', 'a')], ['1', '2']),
      { command: 'state_values', items: [['a', 9]] },
    ], STATEFUL);
    const cmds = out.map((m) => [m.command, m.keys || m.items || m.id]);
    assert.deepEqual(cmds, [
      ['ack', 'a1'],
      ['state_get', ['a']], ['state_put', [['a', 2]]], ['ack', 'w1'], // a's writes as one
      ['state_get', ['a']], ['state_put', [['a', 10]]], ['ack', 'w2'],
    ]);
    assert.equal(b.resets, 1);
  });

  test('is refused without state', async () => {
    const { out, exitCode } = await drive(new WindowCount(), []);
    assert.equal(exitCode, 1);
    assert.ok(out.some((m) => m.command === 'error' && /declares no state/.test(m.msg)));
  });
});
