# -*- coding: utf-8 -*-
"""Test multilang spouts and bolts without a topology.

A harness runs a component's own ``run()`` loop, in a thread of the test
process, against an in-memory host that speaks the multilang protocol: the
component is handed tuples (or next/ack/fail commands) one at a time, and
everything it sends back is collected. The component goes through exactly
the code it runs under squall or Storm: the handshake, ``initialize``,
BasicBolt's anchoring, acking and failing, JSON encoding of every value,
task-id requests. It works with ``unittest`` and ``pytest`` alike::

    import unittest
    from storm_testing import BoltHarness
    from split import SplitSentence

    class SplitTest(unittest.TestCase):
        def test_splits(self):
            with BoltHarness(SplitSentence()) as bolt:
                out = bolt.process(["snow white"])
                self.assertEqual(out.values(), [["snow"], ["white"]])
                self.assertEqual(out.acked, [out.id])

A StatefulBolt gets a fake state held by the harness, as the host holds
it::

    with BoltHarness(WordCount(), state={"snow": 2}) as bolt:
        self.assertEqual(bolt.process(["snow"]).values(), [["snow", 3]])
        self.assertEqual(bolt.state, {"snow": 3})
        bolt.rollback_state()          # back to the last commit_state()
        self.assertEqual(bolt.state, {})

A spout::

    with SpoutHarness(CounterSpout(), conf={"limit": 2}) as spout:
        out = spout.next()
        self.assertEqual(out.emits[0].id, 0)
        spout.fail(0)                  # the spout's fail(0) runs
        self.assertEqual(spout.next().values(), [[0]])

Each call returns an ``Outcome`` with what the component did in answer:
``emits`` (``Emit`` tuples: ``tuple``/``values``, ``stream``, ``anchors``,
``id``, ``task``), ``acked`` and ``failed`` (tuple ids), ``logs`` (``Log``:
``msg``, ``level``), ``errors`` (reportError texts) and ``metrics``
(``(name, params)``). The harness keeps the totals in the same attributes.

A component whose code raises where its adapter exits (a plain Bolt's
``process``, any Spout method) makes the call raise ``ComponentCrashed``
with the original exception as its cause; a call that gets no answer
within ``timeout`` seconds (default 30, or ``SQUALL_TEST_TIMEOUT``) raises
``ComponentTimeout``.

storm.py keeps one connection per process, so one harness runs at a time:
close it (``with``, ``close()`` or ``addCleanup(h.close)``) before the next.
``print`` in the component goes to the test's own stdout.
"""

import collections
import json
import os
import shutil
import sys
import tempfile
import threading
import time

import storm

__all__ = ["BoltHarness", "SpoutHarness", "Outcome", "Emit", "Log", "FakeState",
           "ComponentCrashed", "ComponentTimeout", "TICK_COMPONENT", "TICK_STREAM"]

DEFAULT_TIMEOUT = float(os.environ.get("SQUALL_TEST_TIMEOUT", "30"))

TICK_COMPONENT = "__system"
TICK_STREAM = "__tick"

Emit = collections.namedtuple("Emit", "tuple stream anchors id task")
Emit.values = property(lambda self: self.tuple, doc="the emitted values (same as tuple)")
Emit.__doc__ = """One emit: its values, stream, anchors (a bolt's, tuple ids), id (a
spout's message id, None if unreliable) and task (a direct emit's task)."""

Log = collections.namedtuple("Log", "msg level")
Log.__doc__ = "One log command: the text and the level (0 trace ... 4 error)."


class ComponentCrashed(AssertionError):
    """The component's run loop ended with a non-zero status, as it would
    have in a worker. The original exception is the __cause__."""

    def __init__(self, message, exit_code):
        AssertionError.__init__(self, message)
        self.exit_code = exit_code


class ComponentTimeout(AssertionError):
    """The component did not finish handling an input in time."""


class Outcome(object):
    """What a component did: in answer to one input, or in total."""

    def __init__(self, id=None):
        self.id = id  # the id of the input tuple, for a bolt's process()
        self.emits = []
        self.acked = []
        self.failed = []
        self.logs = []
        self.errors = []
        self.metrics = []
        self.messages = []  # every message, as decoded

    def values(self, stream=None):
        """The values of the emits, of one stream if given."""
        return [e.tuple for e in self.emits if stream is None or e.stream == stream]

    def _add(self, msg):
        self.messages.append(msg)
        command = msg.get("command")
        if command == "emit":
            anchors = msg.get("anchors", [])
            if isinstance(anchors, str):
                anchors = [anchors]
            self.emits.append(Emit(msg.get("tuple"), msg.get("stream") or "default",
                                   anchors, msg.get("id"), msg.get("task")))
        elif command == "ack":
            self.acked.append(msg.get("id"))
        elif command == "fail":
            self.failed.append(msg.get("id"))
        elif command == "log":
            self.logs.append(Log(msg.get("msg"), msg.get("level", storm.INFO)))
        elif command == "error":
            self.errors.append(msg.get("msg"))
        elif command == "metrics":
            self.metrics.append((msg.get("name"), msg.get("params")))

    def __repr__(self):
        parts = ["%s=%r" % (k, getattr(self, k)) for k in
                 ("emits", "acked", "failed", "logs", "errors", "metrics") if getattr(self, k)]
        return "<Outcome %s>" % " ".join(parts or ["nothing"])


_active_lock = threading.Lock()
_active = [None]


def _frame(msg):
    return json.dumps(msg).encode("utf-8") + b"\nend\n"


class _Harness(object):
    """The in-memory host and the thread running the component."""

    _kind = None  # "bolt" or "spout"
    _fake_state = None  # a FakeState: the host's side of a StatefulBolt's state

    def __init__(self, component, conf=None, context=None, component_id=None,
                 task_id=1, task_ids=(1,), timeout=None):
        with _active_lock:
            if _active[0] is not None:
                raise RuntimeError("another harness is still open (%r): storm.py talks to one host per "
                                   "process, so close it first" % _active[0])
            _active[0] = self
        self.component = component
        self.timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        self._task_ids = task_ids
        self._cv = threading.Condition()
        self._chunks = collections.deque()
        self._idle = False    # the component is waiting for input
        self._done = False    # its run() returned or raised
        self._exit = None     # the SystemExit or exception that ended it
        self._out = bytearray()
        self._closed = False
        self._total = Outcome()
        self.pid_dir = tempfile.mkdtemp(prefix="storm-testing-")
        component_id = component_id or self._kind
        full_conf = {"topology.name": "test", "storm.id": "test-1-1"}
        full_conf.update(conf or {})
        full_context = {
            "taskid": task_id,
            "componentid": component_id,
            "task->component": {str(task_id): component_id},
        }
        full_context.update(context or {})
        self.conf, self.context = full_conf, full_context
        try:
            self._start()
            out = self._send({"pidDir": self.pid_dir, "conf": full_conf, "context": full_context})
            pid = [m for m in out.messages if "pid" in m]
            if not pid:
                raise AssertionError("the component did not answer the handshake with its pid: %r" % out)
        except BaseException:
            self.close()
            raise

    # --- what the component sees ---------------------------------------

    def _read1(self, n):
        with self._cv:
            while not self._chunks and not self._closed:
                self._idle = True
                self._cv.notify_all()
                self._cv.wait()
            if not self._chunks:
                return b""
            data = self._chunks.popleft()
            if len(data) > n:
                self._chunks.appendleft(data[n:])
                data = data[:n]
            return data

    def _write(self, data):
        with self._cv:
            self._out += data

    def _run(self):
        try:
            self.component.run()
        except BaseException as e:  # SystemExit is how run() ends
            self._exit = e
        finally:
            with self._cv:
                self._done = True
                self._cv.notify_all()

    def _start(self):
        self._saved = (storm._reader, storm._writer, storm._stdout_log, storm.MODE, storm.ANCHOR_TUPLE)
        storm.connect(storm.JsonReader(self._read1, storm._before_block), storm.JsonWriter(self._write))
        storm.MODE = None
        storm.ANCHOR_TUPLE = None
        self._thread = threading.Thread(target=self._run, name="storm-testing %s" % self._kind, daemon=True)
        self._thread.start()

    # --- what the test sees ------------------------------------------------

    def _send(self, msg, id=None):
        """Sends msg, waits until the component waits for input again
        (answering its task-id requests) and returns what it sent."""
        if self._closed:
            raise RuntimeError("the harness is closed")
        out = Outcome(id)
        pending = [_frame(msg)]
        deadline = time.monotonic() + self.timeout
        while pending:
            with self._cv:
                self._chunks.extend(pending)
                pending = []
                self._idle = False
                self._cv.notify_all()
                while not (self._idle and not self._chunks) and not self._done:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise ComponentTimeout("the %s did not finish handling %s within %gs"
                                               % (self._kind, _short(msg), self.timeout))
                    self._cv.wait(left)
                data = bytes(self._out)
                self._out.clear()
            for m in _parse(data):
                out._add(m)
                self._total._add(m)
                if m.get("command") == "emit" and "task" not in m and m.get("need_task_ids", True) is not False:
                    pending.append(_frame(self._answer(out.emits[-1])))
                elif self._fake_state is not None and str(m.get("command")).startswith("state_"):
                    pending.extend(_frame(r) for r in self._fake_state.answer(m))
            if self._done:
                self._crashed(msg, out)
        return out

    def _answer(self, emit):
        ids = self._task_ids(emit) if callable(self._task_ids) else self._task_ids
        return list(ids)

    def _crashed(self, msg, out):
        e = self._exit
        code = e.code if isinstance(e, SystemExit) else 1
        if code in (0, None):
            raise ComponentCrashed("the %s's run() returned while handling %s" % (self._kind, _short(msg)), 0)
        cause = e.__context__ if isinstance(e, SystemExit) and e.__context__ is not None else e
        text = out.errors[-1].strip().splitlines()[-1] if out.errors else repr(cause)
        raise ComponentCrashed("the %s crashed (exit status %s) while handling %s: %s"
                               % (self._kind, code, _short(msg), text), code) from cause

    def close(self):
        """Closes the component's input, so its run() ends, and waits for it."""
        with self._cv:
            already = self._closed
            self._closed = True
            self._cv.notify_all()
        if not already and getattr(self, "_thread", None) is not None:
            self._thread.join(self.timeout)
        shutil.rmtree(self.pid_dir, True)
        saved = self.__dict__.pop("_saved", None)
        if saved is not None and not self._thread.is_alive():
            (storm._reader, storm._writer, storm._stdout_log, storm.MODE, storm.ANCHOR_TUPLE) = saved
            storm.pending_commands.clear()
            storm.pending_taskids.clear()
        with _active_lock:
            if _active[0] is self:
                _active[0] = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # The totals since the harness started.
    emits = property(lambda self: self._total.emits)
    acked = property(lambda self: self._total.acked)
    failed = property(lambda self: self._total.failed)
    logs = property(lambda self: self._total.logs)
    errors = property(lambda self: self._total.errors)
    metrics = property(lambda self: self._total.metrics)

    def values(self, stream=None):
        """The values of every emit so far, of one stream if given."""
        return self._total.values(stream)


class BoltHarness(_Harness):
    """Runs a Bolt or BasicBolt: process() hands it one input tuple.

    conf is merged over {"topology.name": "test", "storm.id": "test-1-1"};
    context over a minimal task context. task_ids is what the host answers
    an emit that asks for task ids (a list, or a function of the Emit).

    A StatefulBolt (or any bolt given state=) gets a fake host state
    (FakeState) holding state (a dict) and the handshake of a component
    declared `state:`, caching at most cache_max_keys values: ``h.state``
    is the dict, ``h.state_round_trips`` counts the bolt's reads,
    ``h.commit_state()`` and ``h.rollback_state()`` play a checkpoint and
    a rollback.
    """

    _kind = "bolt"

    def __init__(self, bolt, conf=None, context=None, component_id="bolt", task_id=1,
                 task_ids=(1,), timeout=None, state=None, cache_max_keys=100000):
        self._next_id = 0
        if state is not None or isinstance(bolt, getattr(storm, "StatefulBolt", ())):
            self._fake_state = FakeState(state)
            squall = {"protocol": 1, "state": {"cache_max_keys": cache_max_keys}}
            context = dict({"squall": squall}, **(context or {}))
        _Harness.__init__(self, bolt, conf, context, component_id, task_id, task_ids, timeout)

    # --- a StatefulBolt's state (see FakeState) ----------------------------

    @property
    def state(self):
        """The bolt's state as the host holds it: a dict to read, or to set
        up between tuples (the bolt's cache does not see such changes until
        reset_state)."""
        return self._fake_state.data

    @property
    def state_round_trips(self):
        """How many state reads (state_get, state_items) the bolt sent."""
        return self._fake_state.round_trips

    def commit_state(self):
        """Keeps the state as it is now, as a checkpoint's commit does."""
        self._fake_state.committed = dict(self._fake_state.data)

    def rollback_state(self, txid=1):
        """Rolls the state back to the last commit_state (empty if none), as
        the host does after a failed checkpoint, and tells the bolt
        (state_reset: its cache is emptied, on_state_reset runs)."""
        self._fake_state.data = dict(self._fake_state.committed)
        return self._send({"command": "state_reset", "txid": txid})

    def process(self, values, stream="default", component="source", task=2, id=None):
        """Hands the bolt a tuple of values; returns what it did in answer."""
        if id is None:
            self._next_id += 1
            id = str(self._next_id)
        msg = {"id": id, "comp": component, "stream": stream, "task": task, "tuple": list(values)}
        return self._send(msg, id)

    def tick(self, freq_secs=1):
        """Hands the bolt a tick tuple (topology.tick.tuple.freq.secs)."""
        self._next_id += 1
        id = str(self._next_id)
        return self._send({"id": id, "comp": TICK_COMPONENT, "stream": TICK_STREAM, "task": -1,
                           "tuple": [freq_secs]}, id)

    def heartbeat(self):
        """Sends a heartbeat; the adapter answers it with sync."""
        return self._send({"id": "-1", "comp": None, "stream": "__heartbeat", "task": -1, "tuple": []})


class FakeState(object):
    """The host's side of a StatefulBolt's state in a BoltHarness: answers
    the bolt's state commands from a dict, data (keys as JSON decodes them,
    so mind that Python takes True for 1), and counts the reads that cost
    the bolt a round trip. state_items streams items_per_reply at a time."""

    def __init__(self, data=None, items_per_reply=1000):
        self.data = dict(data or {})
        self.committed = {}
        self.round_trips = 0
        self.items_per_reply = items_per_reply

    def answer(self, msg):
        """Applies one state command; returns the host's replies to it."""
        command = msg["command"]
        data = self.data
        if command == "state_get":
            self.round_trips += 1
            return [{"command": "state_values", "items": [[k, data[k]] for k in msg["keys"] if k in data]}]
        if command == "state_put":
            for k, v in msg["items"]:
                data[k] = v
        elif command == "state_delete":
            for k in msg["keys"]:
                data.pop(k, None)
        elif command == "state_items":
            self.round_trips += 1
            items = [[k, v] for k, v in data.items()]
            n = self.items_per_reply
            replies = [{"command": "state_items", "items": items[i:i + n], "more": True}
                       for i in range(0, len(items), n)] or [{"command": "state_items", "items": []}]
            del replies[-1]["more"]
            return replies
        return []


class SpoutHarness(_Harness):
    """Runs a Spout: next(), ack(id), fail(id), activate(), deactivate()
    each send one command and return what the spout did before its sync."""

    _kind = "spout"

    def __init__(self, spout, conf=None, context=None, component_id="spout", task_id=1,
                 task_ids=(1,), timeout=None):
        _Harness.__init__(self, spout, conf, context, component_id, task_id, task_ids, timeout)

    def _command(self, command, id=""):
        out = self._send({"command": command, "id": id})
        if not out.messages or out.messages[-1] != {"command": "sync"}:
            raise AssertionError("the spout did not end its answer to %s with sync: %r" % (command, out.messages))
        return out

    def next(self):
        """Asks for tuples (nextTuple)."""
        return self._command("next")

    def ack(self, id):
        """Tells the spout the tuple it emitted with message id id was acked."""
        return self._command("ack", id)

    def fail(self, id):
        """Tells the spout the tuple it emitted with message id id failed."""
        return self._command("fail", id)

    def activate(self):
        return self._command("activate")

    def deactivate(self):
        return self._command("deactivate")


def _parse(data):
    text = data.decode("utf-8")
    if not text:
        return []
    return [json.loads(part) for part in text.split("\nend\n") if part.strip()]


def _short(msg):
    text = json.dumps(msg)
    return text if len(text) <= 120 else text[:117] + "..."


if __name__ == "__main__":  # pragma: no cover
    sys.stderr.write(__doc__)
