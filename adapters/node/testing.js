'use strict';

/**
 * Test multilang spouts and bolts without a topology.
 *
 * A harness drives a component through storm.js's own code, in the test's
 * process, against an in-memory host that speaks the multilang protocol:
 * the handshake, initialize, BasicBolt's anchoring, acking and failing,
 * JSON encoding of every value and task-id requests all run as they do
 * under squall or Storm. It works with node:test (or any runner):
 *
 *     const { test } = require('node:test');
 *     const assert = require('node:assert/strict');
 *     const { BoltHarness } = require('storm/testing');
 *     const SplitSentence = require('../resources/split.js');
 *
 *     test('splits', async () => {
 *       const bolt = new BoltHarness(new SplitSentence());
 *       try {
 *         const out = await bolt.process(['snow white']);
 *         assert.deepEqual(out.values(), [['snow'], ['white']]);
 *         assert.deepEqual(out.acked, [out.id]);
 *       } finally {
 *         await bolt.close();
 *       }
 *     });
 *
 * A StatefulBolt gets a fake state held by the harness, as the host holds
 * it (options state, an object or Map, and cacheMaxKeys): `bolt.state` is
 * the Map, `bolt.stateRoundTrips` counts the bolt's reads,
 * `bolt.commitState()` and `await bolt.rollbackState()` play a checkpoint
 * and a rollback.
 *
 * A spout: `await spout.next()`, `await spout.ack(id)`, `await spout.fail(id)`,
 * `await spout.activate()`, `await spout.deactivate()`.
 *
 * Each call resolves to an Outcome with what the component did in answer:
 * emits ({tuple, values, stream, anchors, id, task}), acked and failed
 * (tuple ids), logs ({msg, level}), errors (reportError texts) and metrics
 * ({name, params}). The harness keeps the totals in the same properties.
 *
 * A component whose code throws where storm.js exits (a plain Bolt's
 * process, any Spout method) makes the call reject with a ComponentCrashed
 * error; a call not answered within the timeout (default 30 s, or
 * SQUALL_TEST_TIMEOUT seconds) rejects with ComponentTimeout.
 *
 * storm.js keeps one connection per process, so one harness runs at a
 * time: close it before starting the next. console.log in the component
 * goes to the test's own output.
 */

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const storm = require('./storm.js');

const DEFAULT_TIMEOUT_MS = 1000 * Number(process.env.SQUALL_TEST_TIMEOUT || 30);

class ComponentCrashed extends Error {
  constructor(message, exitCode) {
    super(message);
    this.name = 'ComponentCrashed';
    this.exitCode = exitCode;
  }
}

class ComponentTimeout extends Error {
  constructor(message) {
    super(message);
    this.name = 'ComponentTimeout';
  }
}

/** What a component did: in answer to one input, or in total. */
class Outcome {
  constructor(id) {
    this.id = id; // the id of the input tuple, for a bolt's process()
    this.emits = [];
    this.acked = [];
    this.failed = [];
    this.logs = [];
    this.errors = [];
    this.metrics = [];
    this.messages = []; // every message, as decoded
  }

  /** The values of the emits, of one stream if given. */
  values(stream) {
    return this.emits.filter((e) => stream === undefined || e.stream === stream).map((e) => e.tuple);
  }

  add(msg) {
    this.messages.push(msg);
    switch (msg.command) {
      case 'emit': {
        let anchors = msg.anchors === undefined ? [] : msg.anchors;
        if (!Array.isArray(anchors)) anchors = [anchors];
        this.emits.push({
          tuple: msg.tuple,
          get values() { return this.tuple; },
          stream: msg.stream || 'default',
          anchors,
          id: msg.id === undefined ? null : msg.id,
          task: msg.task === undefined ? null : msg.task,
        });
        break;
      }
      case 'ack': this.acked.push(msg.id); break;
      case 'fail': this.failed.push(msg.id); break;
      case 'log': this.logs.push({ msg: msg.msg, level: msg.level === undefined ? storm.INFO : msg.level }); break;
      case 'error': this.errors.push(msg.msg); break;
      case 'metrics': this.metrics.push({ name: msg.name, params: msg.params }); break;
      default:
    }
  }
}

let active = null;

function short(msg) {
  const text = JSON.stringify(msg);
  return text.length <= 120 ? text : `${text.slice(0, 117)}...`;
}

const tick = () => new Promise((resolve) => { setImmediate(resolve); });
const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

class Harness {
  constructor(kind, component, opts = {}) {
    if (!(component instanceof storm.Storm)) {
      throw new TypeError(`the ${kind} is not built on this storm.js (${require.resolve('./storm.js')}): `
        + 'require the component\'s storm and storm/testing from the same package');
    }
    if (active !== null) {
      throw new Error('another harness is still open: storm.js talks to one host per process, so close it first');
    }
    active = this;
    this.kind = kind;
    this.component = component;
    this.timeoutMs = opts.timeout === undefined ? DEFAULT_TIMEOUT_MS : opts.timeout * 1000;
    this.taskIds = opts.taskIds === undefined ? [1] : opts.taskIds;
    this.fakeState = opts.fakeState || null;
    this.total = new Outcome();
    this.output = [];
    this.exitCode = null;
    this.closed = false;
    this.pidDir = fs.mkdtempSync(path.join(os.tmpdir(), 'storm-testing-'));
    const componentId = opts.componentId || kind;
    const taskId = opts.taskId === undefined ? 1 : opts.taskId;
    this.conf = { 'topology.name': 'test', 'storm.id': 'test-1-1', ...(opts.conf || {}) };
    this.context = {
      taskid: taskId,
      componentid: componentId,
      'task->component': { [String(taskId)]: componentId },
      ...(opts.context || {}),
    };
    const c = storm.connection;
    this.saved = { writer: c.writer, write: c.write, exit: c.exit, closed: c.closed };
    c.writer = new storm.JsonWriter();
    c.write = (data) => { this.output.push(typeof data === 'string' ? data : data.toString('utf8')); };
    c.exit = (code) => { if (this.exitCode === null) this.exitCode = code; };
    c.closed = false;
    this.ready = this.send({ pidDir: this.pidDir, conf: this.conf, context: this.context }).then((out) => {
      if (!out.messages.some((m) => m.pid !== undefined)) {
        throw new Error(`the ${kind} did not answer the handshake with its pid`);
      }
    });
    this.ready.catch(() => {}); // reported by the first call
  }

  idle() {
    const s = this.component;
    if (!s.started || s.queueHead < s.queue.length) return false;
    return this.kind === 'bolt' ? s.inProcess === 0 : !s.busy;
  }

  /** Sends msg, waits until the component is idle again (answering its
   * task-id requests) and resolves to what it sent. */
  async send(msg, id) {
    if (this.closed) throw new Error('the harness is closed');
    const out = new Outcome(id);
    const deadline = Date.now() + this.timeoutMs;
    this.component.handleNewMessage(msg);
    for (let spins = 0; ; spins++) {
      storm.flush();
      const text = this.output.join('');
      this.output = [];
      let owed = 0;
      if (text !== '') {
        for (const part of text.split('\nend\n')) {
          if (part.trim() === '') continue;
          const m = JSON.parse(part);
          out.add(m);
          this.total.add(m);
          if (m.command === 'emit' && m.task === undefined && m.need_task_ids !== false) {
            const emit = out.emits[out.emits.length - 1];
            this.component.handleNewTaskId(typeof this.taskIds === 'function' ? this.taskIds(emit) : [...this.taskIds]);
            owed++;
          } else if (this.fakeState !== null && String(m.command).startsWith('state_')) {
            for (const reply of this.fakeState.answer(m)) {
              this.component.handleNewMessage(reply);
              owed++;
            }
          }
        }
      }
      if (this.exitCode !== null) this.crashed(msg, out);
      if (owed === 0 && this.idle() && text === '' && spins > 0) return out;
      if (Date.now() > deadline) {
        throw new ComponentTimeout(`the ${this.kind} did not finish handling ${short(msg)} within ${this.timeoutMs / 1000}s`);
      }
      // Yield to the component's callbacks; after a while, let timers run.
      await (spins < 100 ? tick() : sleep(1));
    }
  }

  crashed(msg, out) {
    const text = out.errors.length > 0 ? out.errors[out.errors.length - 1].trim().split('\n')[0] : 'no error reported';
    const err = new ComponentCrashed(`the ${this.kind} crashed (exit status ${this.exitCode}) while handling ${short(msg)}: ${text}`, this.exitCode);
    this.closed = true;
    throw err;
  }

  /** Ends the harness and gives storm.js its connection back. */
  async close() {
    if (active !== this) return;
    this.closed = true;
    await this.ready.catch(() => {});
    Object.assign(storm.connection, this.saved);
    fs.rmSync(this.pidDir, { recursive: true, force: true });
    active = null;
  }

  get emits() { return this.total.emits; }

  get acked() { return this.total.acked; }

  get failed() { return this.total.failed; }

  get logs() { return this.total.logs; }

  get errors() { return this.total.errors; }

  get metrics() { return this.total.metrics; }

  /** The values of every emit so far, of one stream if given. */
  values(stream) { return this.total.values(stream); }
}

/**
 * Runs a Bolt or BasicBolt: process() hands it one input tuple. Options:
 * conf (merged over topology.name and storm.id), context, componentId,
 * taskId, taskIds (what the host answers an emit that asks for task ids: a
 * list, or a function of the emit) and timeout (seconds).
 */
class BoltHarness extends Harness {
  constructor(bolt, opts = {}) {
    let o = opts;
    if (opts.state !== undefined || bolt instanceof storm.StatefulBolt) {
      const squall = { protocol: 1, state: { cache_max_keys: opts.cacheMaxKeys || 100000 } };
      o = { ...opts, context: { squall, ...(opts.context || {}) }, fakeState: new FakeState(opts.state) };
    }
    super('bolt', bolt, o);
    this.nextId = 0;
  }

  /** The bolt's state as the host holds it: a Map (the bolt's cache does
   * not see changes made here until rollbackState). */
  get state() { return this.fakeState.data; }

  /** How many state reads (state_get, state_items) the bolt sent. */
  get stateRoundTrips() { return this.fakeState.roundTrips; }

  /** Keeps the state as it is now, as a checkpoint's commit does. */
  commitState() { this.fakeState.committed = new Map(this.fakeState.data); }

  /** Rolls the state back to the last commitState (empty if none), as the
   * host does after a failed checkpoint, and tells the bolt (state_reset:
   * its cache is emptied, onStateReset runs). */
  async rollbackState(txid = 1) {
    await this.ready;
    this.fakeState.data = new Map(this.fakeState.committed);
    return this.send({ command: 'state_reset', txid });
  }

  /** Hands the bolt a tuple; resolves to what it did in answer. */
  async process(values, { stream = 'default', component = 'source', task = 2, id } = {}) {
    await this.ready;
    const tupleId = id === undefined ? String(++this.nextId) : id;
    return this.send({ id: tupleId, comp: component, stream, task, tuple: values }, tupleId);
  }

  /** Hands the bolt a tick tuple. */
  async tick(freqSecs = 1) {
    await this.ready;
    const id = String(++this.nextId);
    return this.send({ id, comp: '__system', stream: '__tick', task: -1, tuple: [freqSecs] }, id);
  }

  /** Sends a heartbeat; the adapter answers it with sync. */
  async heartbeat() {
    await this.ready;
    return this.send({ id: '-1', comp: null, stream: '__heartbeat', task: -1, tuple: [] });
  }
}

/**
 * The host's side of a StatefulBolt's state in a BoltHarness: answers the
 * bolt's state commands from a Map, data (so '1', 1 and true are three
 * keys, as for the host), and counts the reads that cost the bolt a round
 * trip. state_items streams itemsPerReply at a time.
 */
class FakeState {
  constructor(data, itemsPerReply = 1000) {
    this.data = data instanceof Map ? new Map(data) : new Map(Object.entries(data || {}));
    this.committed = new Map();
    this.roundTrips = 0;
    this.itemsPerReply = itemsPerReply;
  }

  /** Applies one state command; returns the host's replies to it. */
  answer(msg) {
    const data = this.data;
    switch (msg.command) {
      case 'state_get':
        this.roundTrips++;
        return [{ command: 'state_values', items: msg.keys.filter((k) => data.has(k)).map((k) => [k, data.get(k)]) }];
      case 'state_put':
        for (const [k, v] of msg.items) data.set(k, v);
        return [];
      case 'state_delete':
        for (const k of msg.keys) data.delete(k);
        return [];
      case 'state_items': {
        this.roundTrips++;
        const items = Array.from(data.entries());
        const parts = [];
        for (let i = 0; i < items.length; i += this.itemsPerReply) {
          parts.push({ command: 'state_items', items: items.slice(i, i + this.itemsPerReply), more: true });
        }
        if (parts.length === 0) parts.push({ command: 'state_items', items: [] });
        delete parts[parts.length - 1].more;
        return parts;
      }
      default:
        return [];
    }
  }
}

/** Runs a Spout: each method sends one command and resolves to what the
 * spout did before its sync. Options as for BoltHarness. */
class SpoutHarness extends Harness {
  constructor(spout, opts) {
    super('spout', spout, opts);
  }

  async command(command, id = '') {
    await this.ready;
    const out = await this.send({ command, id });
    const last = out.messages[out.messages.length - 1];
    if (!last || last.command !== 'sync') {
      throw new Error(`the spout did not end its answer to ${command} with sync: ${JSON.stringify(out.messages)}`);
    }
    return out;
  }

  next() { return this.command('next'); }

  ack(id) { return this.command('ack', id); }

  fail(id) { return this.command('fail', id); }

  activate() { return this.command('activate'); }

  deactivate() { return this.command('deactivate'); }
}

module.exports = {
  BoltHarness,
  FakeState,
  SpoutHarness,
  Outcome,
  ComponentCrashed,
  ComponentTimeout,
};
