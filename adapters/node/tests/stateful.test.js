'use strict';

// Tests of storm.StatefulBolt and its state, through testing.js's fake host
// state.

const assert = require('node:assert/strict');
const { test, afterEach } = require('node:test');
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
