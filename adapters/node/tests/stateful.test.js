'use strict';

// Tests of storm.StatefulBolt and its state, through testing.js's fake host
// state.

const assert = require('node:assert/strict');
const { test, afterEach } = require('node:test');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const Module = require('node:module');

const ADAPTER_DIR = path.resolve(__dirname, '..');
process.env.NODE_PATH = [ADAPTER_DIR, process.env.NODE_PATH].filter(Boolean).join(path.delimiter);
Module._initPaths(); // eslint-disable-line no-underscore-dangle

const storm = require('storm');
const { BoltHarness, ComponentCrashed } = require(path.join(ADAPTER_DIR, 'testing.js'));
const StateCount = require(path.join(ADAPTER_DIR, 'components', 'statecount.js'));

let open = null;
function harness(h) {
  open = h;
  return h;
}
afterEach(async () => {
  if (open !== null) await open.close();
  open = null;
});

/** Runs the operation tuple[0] on this.state and emits what it returns. */
class Ops extends storm.StatefulBolt {
  async initialize() {
    this.resets = 0;
    this.boot = await this.state.get('boot', null);
  }

  onStateReset() {
    this.resets++;
  }

  async process(tup) {
    const [op, arg] = tup.values;
    const { state } = this;
    switch (op) {
      case 'get': this.emit({ tuple: [await state.get(arg, 'absent')] }); break;
      case 'has': this.emit({ tuple: [await state.has(arg)] }); break;
      case 'put': state.set(arg[0], arg[1]); break;
      case 'delete': state.delete(arg); break;
      case 'bigint': state.set(arg, 1n); break; // JSON cannot carry it
      case 'first':
        for await (const [k, v] of state.items()) { // left after the first item
          this.emit({ tuple: [k, v] });
          break;
        }
        this.emit({ tuple: [await state.get(arg)] });
        break;
      case 'ids':
        for await (const [k] of state) this.emit({ tuple: [k] }, () => {});
        break;
      case 'mutate': {
        const v = await state.get(arg);
        v.push('changed'); // not stored: values are copies
        this.emit({ tuple: [await state.get(arg)] });
        break;
      }
      case 'all': {
        const keys = [];
        for await (const k of state.keys()) keys.push(k);
        const values = [];
        for await (const v of state.values()) values.push(v);
        this.emit({ tuple: [keys.sort(), values.length] });
        break;
      }
      case 'resets': this.emit({ tuple: [this.resets, this.boot] }); break;
      default: throw new Error(`unknown op ${op}`);
    }
  }
}

test('statecount counts in the fake state', async () => {
  const h = harness(new BoltHarness(new StateCount(), { state: { snow: 2 } }));
  assert.deepEqual((await h.process(['count', 'snow'])).values(), [['snow', 3]]);
  assert.deepEqual((await h.process(['count', 'snow'])).values(), [['snow', 4]]);
  assert.deepEqual([...h.state], [['snow', 4]]);
  assert.equal(h.stateRoundTrips, 1); // the second count hit the cache
  h.commitState();
  const out = await h.process(['count', 'white']);
  assert.deepEqual(out.acked, [out.id]);
  await h.rollbackState();
  assert.deepEqual([...h.state], [['snow', 4]]);
  assert.deepEqual((await h.process(['count', 'white'])).values(), [['white', 1]]);
  assert.equal(h.stateRoundTrips, 3);
});

test('reads, writes and copies', async () => {
  const h = harness(new BoltHarness(new Ops(), { state: { boot: 'yes', l: [1] } }));
  assert.deepEqual((await h.process(['resets', null])).values(), [[0, 'yes']]); // read in initialize
  assert.deepEqual((await h.process(['get', 'nope'])).values(), [['absent']]);
  assert.deepEqual((await h.process(['has', 'l'])).values(), [[true]]);
  assert.deepEqual((await h.process(['mutate', 'l'])).values(), [[[1]]]);
  await h.process(['put', ['y', null]]);
  assert.deepEqual((await h.process(['has', 'y'])).values(), [[true]]); // null is a value
  const trips = h.stateRoundTrips;
  assert.deepEqual((await h.process(['get', 'y'])).values(), [[null]]);
  await h.process(['delete', 'l']);
  assert.deepEqual((await h.process(['has', 'l'])).values(), [[false]]);
  assert.equal(h.stateRoundTrips, trips); // all cached, a delete included
  assert.deepEqual([...h.state], [['boot', 'yes'], ['y', null]]);
});

test('keys as the host tells them apart', async () => {
  const h = harness(new BoltHarness(new Ops()));
  await h.process(['put', ['1', 'string']]);
  await h.process(['put', [1, 'number']]);
  await h.process(['put', [true, 'bool']]);
  const trips = h.stateRoundTrips;
  assert.deepEqual((await h.process(['get', '1'])).values(), [['string']]);
  assert.deepEqual((await h.process(['get', 1.0])).values(), [['number']]);
  assert.deepEqual((await h.process(['get', true])).values(), [['bool']]);
  assert.equal(h.stateRoundTrips, trips);
  for (const bad of [null, [1], '\u0000squall']) {
    const out = await h.process(['put', [bad, 1]]); // eslint-disable-line no-await-in-loop
    assert.deepEqual(out.failed, [out.id], String(bad));
  }
});

test('iteration left early, and task ids while the state streams', async () => {
  const state = {};
  for (let i = 0; i < 25; i++) state[`k${String(i).padStart(3, '0')}`] = i;
  const h = harness(new BoltHarness(new Ops(), { state, taskIds: [7] }));
  h.fakeState.itemsPerReply = 10; // three replies
  assert.deepEqual((await h.process(['first', 'k007'])).values(), [['k000', 0], [7]]);
  const out = await h.process(['ids', null]);
  assert.equal(out.emits.length, 25);
  assert.deepEqual(out.acked, [out.id]);
  assert.deepEqual((await h.process(['all', null])).values(), [[Object.keys(state).sort(), 25]]);
});

test('a rollback calls onStateReset and empties the cache', async () => {
  const h = harness(new BoltHarness(new Ops()));
  await h.process(['put', ['a', 1]]);
  await h.rollbackState(4);
  assert.deepEqual((await h.process(['resets', null])).values(), [[1, null]]);
  assert.deepEqual((await h.process(['get', 'a'])).values(), [['absent']]);
});

test('a StatefulBolt refuses a component without state', async () => {
  const h = harness(new BoltHarness(new Ops(), { context: { squall: { protocol: 1 } } }));
  await assert.rejects(h.ready, (err) => err instanceof ComponentCrashed && /declares no state/.test(err.message));
});

/**
 * Runs bolt on the wire, as a busy host would: the handshake, then each
 * element of steps, a message handed over at once or a state reply handed
 * once the bolt waits for one. Returns what the bolt wrote, the pid reply
 * left out.
 */
async function onTheWire(bolt, steps) {
  const c = storm.connection;
  const saved = { writer: c.writer, write: c.write, exit: c.exit, closed: c.closed };
  const writes = [];
  c.writer = new storm.JsonWriter();
  c.write = (data) => writes.push(String(data));
  c.exit = (code) => { throw new Error(`the bolt exited with status ${code}`); };
  c.closed = false;
  const pidDir = fs.mkdtempSync(path.join(os.tmpdir(), 'storm-test-'));
  try {
    bolt.handleNewMessage({ pidDir, conf: {}, context: { taskid: 3, squall: { protocol: 1, state: { cache_max_keys: 10 } } } });
    for (const m of steps) {
      if (m.command !== undefined) {
        const deadline = Date.now() + 30000;
        while (bolt.state.requests.length === 0) { // eslint-disable-line no-await-in-loop
          if (Date.now() > deadline) throw new Error(`no state request came for ${JSON.stringify(m)}`);
          await new Promise((resolve) => setImmediate(resolve)); // eslint-disable-line no-await-in-loop
        }
      }
      bolt.handleNewMessage(m);
    }
    while (bolt.queueHead < bolt.queue.length || bolt.inProcess > 0) { // eslint-disable-line no-await-in-loop
      await new Promise((resolve) => setImmediate(resolve)); // eslint-disable-line no-await-in-loop
    }
    storm.flush();
  } finally {
    Object.assign(c, saved);
    fs.rmSync(pidDir, { recursive: true, force: true });
  }
  const text = writes.join('');
  return text.slice(0, -5).split('\nend\n').map((m) => JSON.parse(m)).filter((m) => m.pid === undefined);
}

const tup = (id, ...values) => ({ id, comp: 'source', stream: 'default', task: 4, tuple: values });

// Tuples handed over at once: their writes go as one state_put (and one
// state_delete), each key's last value, ahead of the first ack that
// follows a write and of the iteration's state_items sent later.
test('writes between flushes go as one, before their acks', async () => {
  const out = await onTheWire(new Ops(), [
    { command: 'state_values', items: [] }, // initialize's read
    tup('1', 'get', 'x'),
    { command: 'state_values', items: [] },
    tup('2', 'put', ['a', 1]),
    tup('3', 'put', ['b', [1, 2]]),
    tup('4', 'put', ['a', 2]),
    tup('5', 'put', ['c', 3]),
    tup('5b', 'put', ['b', null]),
    tup('6', 'put', ['d', 4]),
    tup('6d', 'delete', 'd'),
    tup('6b', 'delete', 'b'),
    tup('6p', 'put', ['b', 5]),
    tup('7', 'first', 'b'),
    { command: 'state_items', items: [['a', 2]] },
  ]);
  const cmds = out.filter((m) => m.command !== 'emit').map((m) => [m.command, m.keys || m.items || m.id]);
  assert.deepEqual(cmds, [
    ['state_get', ['boot']], ['state_get', ['x']], ['ack', '1'],
    ['state_put', [['a', 2], ['c', 3], ['b', 5]]], ['state_delete', ['d']],
    ['ack', '2'], ['ack', '3'], ['ack', '4'], ['ack', '5'], ['ack', '5b'], ['ack', '6'], ['ack', '6d'], ['ack', '6b'], ['ack', '6p'],
    ['state_items', undefined], ['ack', '7'],
  ]);
  assert.deepEqual(out.filter((m) => m.command === 'emit').slice(-2).map((m) => m.tuple), [['a', 2], [5]]); // b from the cache
});

// Encoded when set, not when written: the tuple that set a value JSON
// cannot carry fails, the other writes go on.
test('a value JSON cannot carry fails its tuple', async () => {
  const out = await onTheWire(new Ops(), [
    { command: 'state_values', items: [] },
    tup('1', 'put', ['a', 1]), tup('2', 'bigint', 'b'), tup('3', 'put', ['c', 3]),
  ]);
  const puts = out.filter((m) => m.command === 'state_put').flatMap((m) => m.items);
  assert.deepEqual(puts, [['a', 1], ['c', 3]]);
  assert.deepEqual(out.filter((m) => m.command === 'ack' || m.command === 'fail').map((m) => [m.command, m.id]),
    [['ack', '1'], ['fail', '2'], ['ack', '3']]);
  assert.ok(out.some((m) => m.command === 'error' && /BigInt/.test(m.msg)));
});
