'use strict';

// Tests of testing.js, the harness users test their components with, on the
// adapter's reference components.

const assert = require('node:assert/strict');
const { test, describe, afterEach } = require('node:test');
const path = require('node:path');
const Module = require('node:module');

const ADAPTER_DIR = path.resolve(__dirname, '..');
// The reference components require('storm'), as users' do: resolve it to
// this adapter, as squall's NODE_PATH does for a child.
process.env.NODE_PATH = [ADAPTER_DIR, process.env.NODE_PATH].filter(Boolean).join(path.delimiter);
Module._initPaths(); // eslint-disable-line no-underscore-dangle

const storm = require('storm');
const { BoltHarness, SpoutHarness, ComponentCrashed, ComponentTimeout } = require(path.join(ADAPTER_DIR, 'testing.js'));
const SplitSentence = require(path.join(ADAPTER_DIR, 'components', 'splitsentence.js'));
const Reference = require(path.join(ADAPTER_DIR, 'components', 'reference.js'));
const CounterSpout = require(path.join(ADAPTER_DIR, 'components', 'counterspout.js'));

let open = null;
function harness(h) {
  open = h;
  return h;
}
afterEach(async () => {
  if (open !== null) await open.close();
  open = null;
});

// Silences what storm.js writes to stderr when a component dies, as it
// does in a worker.
async function quietly(fn) {
  const write = process.stderr.write;
  const fs = require('node:fs');
  const writeSync = fs.writeSync;
  fs.writeSync = (fd, ...rest) => (fd === 2 ? 0 : writeSync(fd, ...rest));
  process.stderr.write = () => true;
  try {
    return await fn();
  } finally {
    fs.writeSync = writeSync;
    process.stderr.write = write;
  }
}

describe('BoltHarness', () => {
  test('a BasicBolt emits anchored and acks', async () => {
    const bolt = harness(new BoltHarness(new SplitSentence()));
    const out = await bolt.process(['snow white and the seven dwarfs']);
    assert.deepEqual(out.values(), [['snow'], ['white'], ['and'], ['the'], ['seven'], ['dwarfs']]);
    for (const e of out.emits) assert.deepEqual(e.anchors, [out.id]);
    assert.deepEqual(out.acked, [out.id]);
    assert.deepEqual(out.failed, []);
  });

  test('a throw fails the tuple and reports, and the bolt goes on', async () => {
    const bolt = harness(new BoltHarness(new SplitSentence()));
    const out = await bolt.process(['']);
    assert.deepEqual(out.failed, [out.id]);
    assert.match(out.errors[0], /empty sentence/);
    assert.deepEqual((await bolt.process(['a b'])).values(), [['a'], ['b']]);
    assert.deepEqual(bolt.values(), [['a'], ['b']]);
  });

  test('ticks and heartbeats', async () => {
    const bolt = harness(new BoltHarness(new SplitSentence()));
    const out = await bolt.tick(5);
    assert.deepEqual(out.emits, []);
    assert.deepEqual(out.acked, [out.id]);
    assert.deepEqual((await bolt.heartbeat()).messages, [{ command: 'sync' }]);
  });

  test('every command, with task ids', async () => {
    const bolt = harness(new BoltHarness(new Reference(), { taskIds: [3, 7] }));
    assert.deepEqual((await bolt.process(['ids', 'w'])).values(), [['w'], [[3, 7]]]);
    const direct = (await bolt.process(['direct', 5, 'v'])).emits[0];
    assert.deepEqual([direct.task, direct.stream, direct.values], [5, 'direct', ['v']]);
    assert.deepEqual((await bolt.process(['log', 3, 'careful'])).logs, [{ msg: 'careful', level: storm.WARN }]);
    assert.deepEqual((await bolt.process(['error', 'oops'])).errors, ['oops']);
    assert.deepEqual((await bolt.process(['metric', 'm', 2])).metrics, [{ name: 'm', params: 2 }]);
    const failed = await bolt.process(['fail']);
    assert.deepEqual([failed.acked, failed.failed], [[], [failed.id]]);
  });

  test('task ids from a function', async () => {
    const bolt = harness(new BoltHarness(new Reference(), { taskIds: (emit) => [emit.values[0].length] }));
    assert.deepEqual((await bolt.process(['ids', 'four'])).values(), [['four'], [[4]]]);
  });

  test('conf and context reach initialize', async () => {
    let seen = null;
    class Probe extends storm.Bolt {
      initialize(conf, context, done) {
        seen = { conf, context };
        done();
      }
    }
    const bolt = harness(new BoltHarness(new Probe(), { conf: { 'my.setting': 3 }, componentId: 'probe', taskId: 9 }));
    await bolt.ready;
    assert.equal(seen.conf['my.setting'], 3);
    assert.deepEqual([seen.context.componentid, seen.context.taskid], ['probe', 9]);
  });

  test('an async bolt that waits on a timer', async () => {
    class Later extends storm.BasicBolt {
      async process(tup) {
        await new Promise((resolve) => { setTimeout(resolve, 20); });
        this.emit({ tuple: [tup.values[0] * 2] });
      }
    }
    const bolt = harness(new BoltHarness(new Later()));
    const out = await bolt.process([21]);
    assert.deepEqual(out.values(), [[42]]);
    assert.deepEqual(out.acked, [out.id]);
  });

  test('a crash rejects', async () => {
    class Broken extends storm.Bolt {
      process() {
        throw new Error('bolt broke');
      }
    }
    const bolt = harness(new BoltHarness(new Broken()));
    await quietly(() => assert.rejects(bolt.process(['x']), (e) => e instanceof ComponentCrashed && e.exitCode === 1 && /bolt broke/.test(e.message)));
  });

  test('a timeout rejects', async () => {
    class Never extends storm.Bolt {
      process(tup, done) {} // eslint-disable-line no-unused-vars, class-methods-use-this
    }
    const bolt = harness(new BoltHarness(new Never(), { timeout: 0.2 }));
    await assert.rejects(bolt.process(['x']), ComponentTimeout);
  });

  test('one harness at a time', async () => {
    const first = harness(new BoltHarness(new SplitSentence()));
    assert.throws(() => new BoltHarness(new SplitSentence()), /another harness is still open/);
    await first.close();
    const again = harness(new BoltHarness(new SplitSentence()));
    assert.deepEqual((await again.process(['x'])).values(), [['x']]);
  });
});

describe('SpoutHarness', () => {
  test('a reliable spout replays what failed', async () => {
    const spout = harness(new SpoutHarness(new CounterSpout(), { conf: { 'squall.test.limit': 2 } }));
    const first = (await spout.next()).emits[0];
    assert.deepEqual([first.values, first.id], [[0], 0]);
    assert.equal((await spout.next()).emits[0].id, 1);
    assert.deepEqual((await spout.next()).emits, []);
    await spout.fail(0);
    assert.deepEqual((await spout.next()).values(), [[0]]);
    await spout.ack(0);
    assert.deepEqual(spout.values(), [[0], [1], [0]]);
  });

  test('activate and deactivate', async () => {
    const spout = harness(new SpoutHarness(new CounterSpout()));
    assert.deepEqual((await spout.activate()).logs.map((l) => l.msg), ['activated']);
    assert.deepEqual((await spout.deactivate()).logs.map((l) => l.msg), ['deactivated']);
  });

  test('a crash rejects', async () => {
    class Broken extends storm.Spout {
      nextTuple() {
        throw new Error('no more');
      }
    }
    const spout = harness(new SpoutHarness(new Broken()));
    await quietly(() => assert.rejects(spout.next(), ComponentCrashed));
  });
});
