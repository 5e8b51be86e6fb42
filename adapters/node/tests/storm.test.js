'use strict';

// Tests of storm.js: framing and MessagePack in-process, components driven
// in-process through the module's connection, and real child processes.

const assert = require('node:assert/strict');
const { test, describe, beforeEach } = require('node:test');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ADAPTER_DIR = path.resolve(__dirname, '..');
const COMPONENTS_DIR = path.join(ADAPTER_DIR, 'components');
const storm = require(path.join(ADAPTER_DIR, 'storm.js'));

// Generous: interpreters start slowly on a busy machine. Only waits for what
// must come use it.
const TIMEOUT = 60000;

function frame(msg) {
  return `${JSON.stringify(msg)}\nend\n`;
}

function parseJsonOutput(text) {
  if (text === '') return [];
  assert.ok(text.endsWith('\nend\n'), `output does not end with an end line: ${JSON.stringify(text.slice(-40))}`);
  return text.slice(0, -5).split('\nend\n').map((m) => JSON.parse(m));
}

function tup(id, ...values) {
  return { id, comp: 'source', stream: 'default', task: 4, tuple: values };
}

const HEARTBEAT = { id: 'hb', comp: null, stream: '__heartbeat', task: -1, tuple: [] };
const TICK = { id: 'tick', comp: '__system', stream: '__tick', task: -1, tuple: [10] };

describe('JsonReader', () => {
  test('frames messages whatever the read split', () => {
    const msgs = [{ a: 1 }, [3, 7], { s: 'end\nend', u: 'snö ☃ 𝄞' }, { n: null }, { long: 'l'.repeat(3000) }, 5];
    const data = Buffer.from(msgs.map(frame).join(''));
    for (let size = 1; size <= data.length; size++) {
      const r = new storm.JsonReader();
      const out = [];
      for (let i = 0; i < data.length; i += size) out.push(...r.push(data.subarray(i, i + size)));
      assert.deepEqual(out, msgs, `chunk size ${size}`);
    }
  });
});

describe('MessagePack', () => {
  const values = [
    0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER,
    -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, Number.MIN_SAFE_INTEGER,
    1.5, -0.25, 1e300, Infinity, -0, 2n ** 64n - 1n, -(2n ** 63n),
    '', 'a', 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(300), 'y'.repeat(70000), 'snö ☃ 𝄞',
    true, false, null, [], [1, [2, [3]]], new Array(20).fill('z'), {}, { a: { b: [1, 'c'] } },
    Buffer.from([0, 255, 1]),
  ];
  test('round-trips values', () => {
    for (const v of values) {
      const back = storm.unpackMsgpack(storm.packMsgpack(v));
      assert.deepEqual(back, v, `value ${String(v).slice(0, 40)}`);
    }
  });
  test('writes the smallest forms', () => {
    const cases = [
      [{ a: 1 }, '81a16101'],
      [[1, -1, 200, -200], '9401ffccc8d1ff38'],
      [1.5, 'cb3ff8000000000000'],
      ['snö', 'a4736ec3b6'],
      [Buffer.from('hi'), 'c4026869'],
      [null, 'c0'],
    ];
    for (const [v, hex] of cases) assert.equal(storm.packMsgpack(v).toString('hex'), hex);
  });
  test('reads what others write', () => {
    // float32, uint64 beyond 2^53, an extension, a map with an integer key.
    assert.equal(storm.unpackMsgpack(Buffer.from('ca3fc00000', 'hex')), 1.5);
    assert.equal(storm.unpackMsgpack(Buffer.from('cfffffffffffffffff', 'hex')), 2n ** 64n - 1n);
    assert.deepEqual(storm.unpackMsgpack(Buffer.from('d40501', 'hex')), { ext: 5, data: Buffer.from([1]) });
    assert.deepEqual(storm.unpackMsgpack(Buffer.from('8107a178', 'hex')), { 7: 'x' });
    assert.throws(() => storm.unpackMsgpack(Buffer.from('c1', 'hex')), /not MessagePack/);
    assert.throws(() => storm.unpackMsgpack(Buffer.from('92', 'hex')), /incomplete/);
  });
  test('MsgpackReader frames messages whatever the read split', () => {
    const msgs = [{ a: 1 }, [3, 7], { big: 'q'.repeat(5000) }, { nested: [[[{ k: [true] }]]] },
      { many: new Array(3000).fill(0).map((_, i) => i) }, 'last'];
    const data = Buffer.concat(msgs.map((m) => storm.packMsgpack(m)));
    for (const size of [1, 2, 3, 7, 64, 4096, data.length]) {
      const r = new storm.MsgpackReader();
      const out = [];
      for (let i = 0; i < data.length; i += size) out.push(...r.push(data.subarray(i, i + size)));
      assert.deepEqual(out, msgs, `chunk size ${size}`);
    }
  });
  test('a failed encode leaves the writer as it was', () => {
    const w = new storm.MsgpackWriter();
    w.add({ command: 'sync' });
    assert.throws(() => w.add({ tuple: [() => 1] }), TypeError);
    assert.deepEqual(storm.unpackMsgpack(Buffer.from(w.take())), { command: 'sync' });
  });
  test('sniff', () => {
    assert.equal(storm.sniff(Buffer.from('{"pidDir"')), 'json');
    assert.equal(storm.sniff(Buffer.from(' \n{')), 'json');
    assert.equal(storm.sniff(Buffer.from([0x83, 0xa6])), 'msgpack');
    assert.equal(storm.sniff(Buffer.from([0xde, 0x00, 0x03])), 'msgpack');
  });
});

describe('Tuple', () => {
  test('kinds', () => {
    assert.equal(new storm.Tuple('1', 'source', 'default', 4, []).isTickTuple(), false);
    assert.equal(new storm.Tuple('2', '__system', '__tick', -1, [10]).isTickTuple(), true);
    assert.equal(new storm.Tuple('3', null, '__heartbeat', -1, []).isHeartbeatTuple(), true);
    assert.equal(new storm.Tuple('4', 'source', '__tick', 4, []).isTickTuple(), false);
  });
});

/**
 * Drives a component in-process: the handshake, then messages; returns the
 * messages it wrote (without the pid reply) and the exit code it asked for.
 */
async function drive(component, messages, { serializer = 'json', conf = {} } = {}) {
  const c = storm.connection;
  const writes = [];
  let exitCode = null;
  c.writer = serializer === 'msgpack' ? new storm.MsgpackWriter() : new storm.JsonWriter();
  c.closed = false;
  c.write = (data) => writes.push(Buffer.from(data));
  c.exit = (code) => {
    if (exitCode === null) exitCode = code;
  };
  const pidDir = fs.mkdtempSync(path.join(os.tmpdir(), 'storm-test-'));
  try {
    component.handleNewMessage({ pidDir, conf, context: { taskid: 3 } });
    for (const m of messages) {
      if (typeof m === 'function') await m(component);
      else component.handleNewMessage(m);
    }
    await settle();
    storm.flush();
    assert.ok(fs.existsSync(path.join(pidDir, String(process.pid))), 'no pid file');
  } finally {
    fs.rmSync(pidDir, { recursive: true, force: true });
  }
  let out;
  const data = Buffer.concat(writes);
  if (serializer === 'msgpack') {
    const r = new storm.MsgpackReader();
    out = r.push(data);
  } else {
    out = parseJsonOutput(data.toString('utf8'));
  }
  assert.deepEqual(out[0], { pid: process.pid });
  return { out: out.slice(1), exitCode, writes };
}

/** Lets pending promises, immediates and timers of 0 ms run. */
function settle() {
  return new Promise((resolve) => setTimeout(resolve, 0)).then(() => new Promise((resolve) => setImmediate(resolve)));
}

describe('Bolt', () => {
  beforeEach(() => {
    storm.connection.writer = null;
  });

  test('emit forms, ack and fail', async () => {
    class B extends storm.Bolt {
      process(t) {
        this.emit({ tuple: ['plain'] });
        this.emit({ tuple: ['s'], stream: 'words', anchorTupleId: t.id });
        this.emit({ tuple: ['two'], anchorTupleId: ['x', t] });
        this.emitDirect({ tuple: ['d'], task: 9, anchorTupleId: t.id });
        assert.throws(() => this.emit({ tuple: ['d'], task: 9 }), /emit direct/);
        assert.throws(() => this.emitDirect({ tuple: ['d'] }), /task id/);
        if (t.values[0] === 'ok') this.ack(t);
        else this.fail(t);
      }
    }
    const { out } = await drive(new B(), [tup('1', 'ok'), tup('2', 'no'), HEARTBEAT]);
    assert.deepEqual(out.slice(0, 5), [
      { command: 'emit', tuple: ['plain'], anchors: [], need_task_ids: false },
      { command: 'emit', tuple: ['s'], anchors: ['1'], stream: 'words', need_task_ids: false },
      { command: 'emit', tuple: ['two'], anchors: ['x', '1'], need_task_ids: false },
      { command: 'emit', tuple: ['d'], anchors: ['1'], task: 9 },
      { command: 'ack', id: '1' },
    ]);
    assert.deepEqual(out[9], { command: 'fail', id: '2' });
    assert.deepEqual(out[10], { command: 'sync' });
  });

  test('other commands', async () => {
    class B extends storm.Bolt {
      process(t) {
        this.log('plain');
        this.log('warned', storm.WARN);
        this.logTrace('t');
        this.logDebug('d');
        this.logInfo('i');
        this.logWarn('w');
        this.logError('e');
        this.reportError('bad');
        this.rpcMetrics('m', { count: 2 });
        this.sync();
        this.ack(t.id);
      }
    }
    const { out } = await drive(new B(), [tup('7', 'a')]);
    assert.deepEqual(out, [
      { command: 'log', msg: 'plain', level: 2 },
      { command: 'log', msg: 'warned', level: 3 },
      { command: 'log', msg: 't', level: 0 },
      { command: 'log', msg: 'd', level: 1 },
      { command: 'log', msg: 'i', level: 2 },
      { command: 'log', msg: 'w', level: 3 },
      { command: 'log', msg: 'e', level: 4 },
      { command: 'error', msg: 'bad' },
      { command: 'metrics', name: 'm', params: { count: 2 } },
      { command: 'sync' },
      { command: 'ack', id: '7' },
    ]);
  });

  test('task ids by callback and by promise, in emit order', async () => {
    const got = [];
    class B extends storm.Bolt {
      async process(t) {
        this.emit({ tuple: ['a'], anchorTupleId: t.id }, (ids) => got.push(['callback', ids]));
        got.push(['promise', await this.emit({ tuple: ['b'], anchorTupleId: t.id, needTaskIds: true })]);
        this.ack(t);
      }
    }
    const b = new B();
    // The host answers an emit once it got it: after the adapter ran.
    const { out } = await drive(b, [tup('1', 'x'), tup('2', 'y'), settle, [3], [4, 5], HEARTBEAT, settle, [6], []]);
    assert.deepEqual(got, [['callback', [3]], ['promise', [4, 5]], ['callback', [6]], ['promise', []]]);
    // Input is handled in order: the second tuple waits for the first
    // one's promise, the heartbeat for the second one's.
    assert.deepEqual(out.map((m) => m.command + (m.id || m.tuple || '')), [
      'emita', 'emitb', 'ack1', 'emita', 'emitb', 'ack2', 'sync',
    ]);
    assert.equal(out[0].need_task_ids, undefined);
  });

  test('an exception is reported and ends the process', async () => {
    class B extends storm.Bolt {
      process() {
        throw new Error('bolt broke');
      }
    }
    const { out, exitCode } = await drive(new B(), [tup('1', 'x')]);
    assert.equal(exitCode, 1);
    assert.equal(out[0].command, 'error');
    assert.match(out[0].msg, /bolt broke/);
  });

  test('concurrency lets tuples overlap', async () => {
    const order = [];
    const waiting = [];
    class B extends storm.Bolt {
      constructor() {
        super();
        this.concurrency = 2;
      }

      process(t, done) {
        order.push(`start ${t.id}`);
        waiting.push(() => {
          order.push(`end ${t.id}`);
          this.ack(t);
          done();
        });
      }
    }
    await drive(new B(), [tup('1'), tup('2'), tup('3'), async () => {
      await settle();
      waiting.shift()();
      await settle();
      waiting.shift()();
      waiting.shift()();
    }]);
    assert.deepEqual(order, ['start 1', 'start 2', 'end 1', 'start 3', 'end 2', 'end 3']);
  });
});

describe('BasicBolt', () => {
  test('anchors, acks, fails and goes on', async () => {
    class Split extends storm.BasicBolt {
      process(t, done) {
        if (t.isTickTuple()) {
          done();
          return;
        }
        if (t.values[0] === '') throw new Error('empty sentence');
        if (t.values[0] === 'callback error') {
          done(new Error('by callback'));
          return;
        }
        for (const w of t.values[0].split(' ')) this.emit({ tuple: [w] });
        done();
      }
    }
    const { out } = await drive(new Split(), [tup('1', 'a b'), tup('2', ''), HEARTBEAT, TICK, tup('3', 'callback error'), tup('4', 'c')]);
    assert.deepEqual(out.slice(0, 4), [
      { command: 'emit', tuple: ['a'], anchors: ['1'], need_task_ids: false },
      { command: 'emit', tuple: ['b'], anchors: ['1'], need_task_ids: false },
      { command: 'ack', id: '1' },
      { command: 'fail', id: '2' },
    ]);
    assert.equal(out[4].command, 'error');
    assert.match(out[4].msg, /Error: empty sentence/);
    assert.deepEqual(out.slice(5, 8), [{ command: 'sync' }, { command: 'ack', id: 'tick' }, { command: 'fail', id: '3' }]);
    assert.match(out[8].msg, /by callback/);
    assert.deepEqual(out.slice(9), [
      { command: 'emit', tuple: ['c'], anchors: ['4'], need_task_ids: false },
      { command: 'ack', id: '4' },
    ]);
  });

  test('async process: anchors after awaits, resolution acks, rejection fails', async () => {
    const timers = []; // one promise per emit from a timer, settled once it ran
    class B extends storm.BasicBolt {
      async process(t) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        this.emit({ tuple: ['later'] });
        await null;
        timers.push(new Promise((resolve) => {
          setTimeout(() => {
            this.emit({ tuple: ['from a timer'] });
            resolve();
          }, 0);
        }));
        this.emit({ tuple: ['explicit'], anchorTupleId: 'other' });
        if (t.values[0] === 'reject') throw new Error('rejected');
      }
    }
    let finished;
    const b = new B();
    const ackedOrFailed = new Promise((resolve) => {
      finished = resolve;
    });
    const fail = b.fail.bind(b);
    b.fail = (tup) => {
      fail(tup);
      finished();
    };
    const { out } = await drive(b, [tup('1', 'ok'), tup('2', 'reject'), async () => {
      await ackedOrFailed; // the second tuple is done...
      await Promise.all(timers); // ...and so are the emits from timers
    }]);
    const anchored = out.filter((m) => m.command === 'emit').map((m) => `${m.tuple[0]}:${m.anchors}`);
    assert.deepEqual(anchored.sort(), ['explicit:other', 'explicit:other', 'from a timer:1', 'from a timer:2', 'later:1', 'later:2'].sort());
    assert.deepEqual(out.filter((m) => m.command === 'ack' || m.command === 'fail'), [
      { command: 'ack', id: '1' }, { command: 'fail', id: '2' },
    ]);
    assert.match(out.find((m) => m.command === 'error').msg, /rejected/);
  });
});

describe('Spout', () => {
  test('cycle, with default callbacks that do not hang', async () => {
    const events = [];
    class S extends storm.Spout {
      initialize(conf, context, done) {
        this.n = 0;
        events.push(['init', conf.limit]);
        done();
      }

      nextTuple(done) {
        if (this.n < 2) {
          this.emit({ tuple: [this.n], id: this.n });
          this.n++;
        }
        done();
      }

      // ack, fail, activate and deactivate are the defaults.
    }
    const cmds = ['activate', 'next', 'next', 'next'].map((c) => ({ command: c, id: '' }));
    cmds.push({ command: 'ack', id: 0 }, { command: 'fail', id: { k: [1] } }, { command: 'deactivate', id: '' }, { command: 'bogus' });
    const { out } = await drive(new S(), cmds, { conf: { limit: 2 } });
    assert.deepEqual(events, [['init', 2]]);
    assert.deepEqual(out, [
      { command: 'sync' },
      { command: 'emit', tuple: [0], id: 0, need_task_ids: false },
      { command: 'sync' },
      { command: 'emit', tuple: [1], id: 1, need_task_ids: false },
      { command: 'sync' },
      { command: 'sync' },
      { command: 'sync' },
      { command: 'sync' },
      { command: 'sync' },
      { command: 'sync' },
    ]);
  });

  test('async methods and methods without done', async () => {
    const events = [];
    class S extends storm.Spout {
      async nextTuple() {
        await null;
        this.emit({ tuple: ['x'], stream: 's' });
        this.emitDirect({ tuple: ['d'], task: 4, id: 'm' });
        events.push(await this.emit({ tuple: ['ids'], needTaskIds: true }));
      }

      ack(id) {
        events.push(['ack', id]);
      }
    }
    const { out } = await drive(new S(), [{ command: 'next', id: '' }, async () => settle(), [2, 3], { command: 'ack', id: 'm' }]);
    assert.deepEqual(events, [[2, 3], ['ack', 'm']]);
    assert.deepEqual(out, [
      { command: 'emit', tuple: ['x'], stream: 's', need_task_ids: false },
      { command: 'emit', tuple: ['d'], id: 'm', task: 4 },
      { command: 'emit', tuple: ['ids'] },
      { command: 'sync' },
      { command: 'sync' },
    ]);
  });

  test('works over MessagePack', async () => {
    class S extends storm.Spout {
      nextTuple(done) {
        this.emit({ tuple: [Buffer.from([1, 2]), 1.5, 2n ** 60n], id: 7 });
        done();
      }
    }
    const { out } = await drive(new S(), [{ command: 'next', id: '' }], { serializer: 'msgpack' });
    assert.deepEqual(out, [
      { command: 'emit', tuple: [Buffer.from([1, 2]), 1.5, 2n ** 60n], id: 7, need_task_ids: false },
      { command: 'sync' },
    ]);
  });
});

describe('Storm-style components', () => {
  test('prototype inheritance as in Storm\'s examples', async () => {
    function SplitSentenceBolt() {
      storm.BasicBolt.call(this);
    }
    SplitSentenceBolt.prototype = Object.create(storm.BasicBolt.prototype);
    SplitSentenceBolt.prototype.constructor = SplitSentenceBolt;
    SplitSentenceBolt.prototype.process = function process(t, done) {
      const self = this;
      t.values[0].split(' ').forEach((word) => {
        self.emit({ tuple: [word], anchorTupleId: t.id }, (taskIds) => {
          self.log(`${word} sent to task ids - ${taskIds}`);
        });
      });
      done();
    };
    const { out } = await drive(new SplitSentenceBolt(), [tup('1', 'a b'), [2], [3]]);
    assert.deepEqual(out, [
      { command: 'emit', tuple: ['a'], anchors: ['1'] },
      { command: 'emit', tuple: ['b'], anchors: ['1'] },
      { command: 'ack', id: '1' },
      { command: 'log', msg: 'a sent to task ids - 2', level: 2 },
      { command: 'log', msg: 'b sent to task ids - 3', level: 2 },
    ]);
    const s = new SplitSentenceBolt();
    assert.deepEqual(s.handleNewChunk('{"a":1}\nend\n{"b"'), ['{"a":1}']);
    assert.deepEqual(s.handleNewChunk(':2}\nend\n'), ['{"b":2}']);
  });
});

// --- Child processes ------------------------------------------------------------

/** A component script run with node against this adapter. */
class Child {
  constructor(t, script, { serializer = 'json', env = {} } = {}) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storm-test-'));
    this.pidDir = path.join(this.dir, 'pids');
    fs.mkdirSync(this.pidDir);
    let file = script;
    if (!fs.existsSync(script)) {
      file = path.join(this.dir, 'component.js');
      fs.writeFileSync(file, script);
    }
    this.serializer = serializer;
    this.proc = spawn(process.execPath, [file], {
      cwd: this.dir,
      env: { ...process.env, NODE_PATH: ADAPTER_DIR, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.out = Buffer.alloc(0);
    this.stderr = '';
    this.reader = serializer === 'msgpack' ? new storm.MsgpackReader() : new storm.JsonReader();
    this.messages = [];
    this.waiters = [];
    this.proc.stdout.on('data', (chunk) => {
      this.messages.push(...this.reader.push(chunk));
      this.wake();
    });
    this.proc.stderr.on('data', (chunk) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => resolve({ code, signal })));
    this.proc.stdout.on('end', () => {
      this.ended = true;
      this.wake();
    });
    t.after(() => {
      if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
      fs.rmSync(this.dir, { recursive: true, force: true });
    });
  }

  wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Sends msgs in one write: the child reads them as one batch. */
  send(...msgs) {
    const encode = (m) => (this.serializer === 'msgpack' ? storm.packMsgpack(m) : Buffer.from(frame(m)));
    this.proc.stdin.write(Buffer.concat(msgs.map(encode)));
  }

  async recv(n = 1) {
    const deadline = Date.now() + TIMEOUT;
    while (this.messages.length < n) {
      if (this.ended) assert.fail(`the child's output ended; stderr ${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`no message from the child within ${TIMEOUT} ms; stderr ${this.stderr}`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.messages.splice(0, n);
  }

  async handshake(conf = {}) {
    this.send({ pidDir: this.pidDir, conf, context: { taskid: 1 } });
    const [reply] = await this.recv();
    assert.deepEqual(reply, { pid: this.proc.pid });
    assert.ok(fs.existsSync(path.join(this.pidDir, String(this.proc.pid))), 'no pid file');
  }

  async finish() {
    this.proc.stdin.end();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), TIMEOUT);
    const status = await this.exited;
    clearTimeout(timer);
    return { ...status, stderr: this.stderr, rest: this.messages };
  }
}

const PRINTER = `
const { Bolt } = require('storm');
const { execSync } = require('child_process');
class Printer extends Bolt {
  process(t) {
    const op = t.values[0];
    if (op === 'print') console.log(...t.values.slice(1));
    else if (op === 'write') process.stdout.write('no newline');
    else if (op === 'info') console.info('an info');
    else if (op === 'stderr') console.error('to stderr');
    else if (op === 'throw') throw new Error('bolt broke');
    else if (op === 'timer') { setTimeout(() => { throw new Error('timer broke'); }, 0); return; }
    this.ack(t);
  }
}
new Printer().run();
`;

describe('child process', () => {
  test('console.log and process.stdout become info logs', async (t) => {
    const c = new Child(t, PRINTER);
    await c.handshake();
    c.send(tup('1', 'print', 'hello', 42));
    assert.deepEqual(await c.recv(2), [{ command: 'log', msg: 'hello 42', level: 2 }, { command: 'ack', id: '1' }]);
    c.send(tup('2', 'print', 'two\nlines'), tup('3', 'info'));
    assert.deepEqual(await c.recv(5), [
      { command: 'log', msg: 'two', level: 2 },
      { command: 'log', msg: 'lines', level: 2 },
      { command: 'ack', id: '2' },
      { command: 'log', msg: 'an info', level: 2 },
      { command: 'ack', id: '3' },
    ]);
    c.send(tup('4', 'write'), tup('5', 'stderr'));
    assert.deepEqual(await c.recv(3), [
      { command: 'ack', id: '4' },
      { command: 'ack', id: '5' },
      { command: 'log', msg: 'no newline', level: 2 },
    ]);
    const { code, stderr, rest } = await c.finish();
    assert.deepEqual([code, rest], [0, []]);
    assert.equal(stderr, 'to stderr\n');
  });

  test('an exception in a bolt exits 1 after reporting it', async (t) => {
    for (const op of ['throw', 'timer']) {
      const c = new Child(t, PRINTER);
      await c.handshake();
      c.send(tup('1', op));
      const [err] = await c.recv();
      assert.equal(err.command, 'error');
      assert.match(err.msg, /broke/);
      const { code, stderr } = await c.finish();
      assert.equal(code, 1);
      assert.match(stderr, /broke/);
    }
  });

  test('end of input exits cleanly', async (t) => {
    const c = new Child(t, path.join(COMPONENTS_DIR, 'splitsentence.js'));
    const { code, stderr } = await c.finish();
    assert.deepEqual([code, stderr], [0, '']);
    const d = new Child(t, path.join(COMPONENTS_DIR, 'reference.js'));
    await d.handshake();
    d.send(tup('1', 'ids', 'v'));
    assert.deepEqual(await d.recv(), [{ command: 'emit', tuple: ['v'], anchors: ['1'] }]);
    const end = await d.finish();
    assert.deepEqual([end.code, end.stderr], [0, '']);
  });

  test('a host that stops reading', async (t) => {
    const c = new Child(t, path.join(COMPONENTS_DIR, 'passthrough.js'));
    await c.handshake();
    c.proc.stdout.destroy();
    c.send(tup('1', 'x'));
    const { code, stderr } = await c.finish();
    assert.deepEqual([code, stderr], [0, '']);
  });

  test('a MessagePack host', async (t) => {
    const c = new Child(t, path.join(COMPONENTS_DIR, 'reference.js'), { serializer: 'msgpack' });
    await c.handshake();
    c.send(tup('1', 'emit', Buffer.from([0, 255])), tup('2', 'ids', 1.5));
    assert.deepEqual(await c.recv(3), [
      { command: 'emit', tuple: [Buffer.from([0, 255])], anchors: ['1'], need_task_ids: false },
      { command: 'ack', id: '1' },
      { command: 'emit', tuple: [1.5], anchors: ['2'] },
    ]);
    c.send([3, 7]);
    assert.deepEqual(await c.recv(2), [
      { command: 'emit', tuple: [[3, 7]], anchors: ['2'], need_task_ids: false },
      { command: 'ack', id: '2' },
    ]);
    const { code, stderr } = await c.finish();
    assert.deepEqual([code, stderr], [0, '']);
  });
});
