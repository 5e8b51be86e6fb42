"""Tests of storm.py driven in-process, through storm.connect with in-memory I/O."""

import contextlib
import io
import os
import shutil
import sys
import tempfile
import unittest

from childproc import ADAPTER_DIR, frame, msgpack, needs_msgpack, parse_output

sys.path.insert(0, ADAPTER_DIR)
import storm  # noqa: E402


class FakeHost(object):
    """In-memory stdin and stdout for the adapter.

    The input is handed out one chunk per read1 call: chunks are whole
    framed messages unless chunk_size is set. Every write is recorded.
    """

    def __init__(self, messages, chunk_size=None):
        if chunk_size is None:
            self.chunks = [frame(m) for m in messages]
        else:
            data = b"".join(frame(m) for m in messages)
            self.chunks = [data[i:i + chunk_size] for i in range(0, len(data), chunk_size)]
        self.writes = []
        self.reads = 0

    def read1(self, n):
        self.reads += 1
        if not self.chunks:
            return b""
        chunk = self.chunks.pop(0)
        assert len(chunk) <= n
        return chunk

    def write(self, data):
        self.writes.append(bytes(data))

    def messages(self):
        return parse_output(b"".join(self.writes))

    def messages_per_write(self):
        return [parse_output(w) for w in self.writes]


class AdapterTestCase(unittest.TestCase):
    """Resets the adapter's global state around each test."""

    def setUp(self):
        self.pid_dir = tempfile.mkdtemp(prefix="storm-test-")
        self.addCleanup(shutil.rmtree, self.pid_dir, True)
        saved = (storm.MODE, storm.ANCHOR_TUPLE, storm.NEED_TASK_IDS, storm.FLUSH_INTERVAL,
                 storm._reader, storm._writer, storm._stdout_log)

        def restore():
            (storm.MODE, storm.ANCHOR_TUPLE, storm.NEED_TASK_IDS, storm.FLUSH_INTERVAL,
             storm._reader, storm._writer, storm._stdout_log) = saved
            storm.pending_commands.clear()
            storm.pending_taskids.clear()
        self.addCleanup(restore)
        storm.MODE = None
        storm.ANCHOR_TUPLE = None
        storm.NEED_TASK_IDS = False
        storm.FLUSH_INTERVAL = 60.0  # no time-based flush: tests are deterministic

    def handshake(self, conf=None):
        return {"pidDir": self.pid_dir, "conf": conf or {"topology.name": "t"},
                "context": {"taskid": 3, "componentid": "c"}}

    def connect(self, host):
        storm.connect(storm.JsonReader(host.read1, storm._before_block), storm.JsonWriter(host.write))

    def run_component(self, component, messages, chunk_size=None, want_status=0):
        """Runs component against messages (after a handshake) and returns the
        host, with the pid reply already checked and removed."""
        host = FakeHost([self.handshake()] + list(messages), chunk_size)
        self.connect(host)
        stderr = io.StringIO()
        with self.assertRaises(SystemExit) as cm, contextlib.redirect_stderr(stderr):
            component.run()
        self.assertEqual(cm.exception.code, want_status, "stderr: %s" % stderr.getvalue())
        self.stderr = stderr.getvalue()
        out = host.messages()
        self.assertEqual(out[0], {"pid": os.getpid()})
        self.assertTrue(os.path.isfile(os.path.join(self.pid_dir, str(os.getpid()))))
        host.out = out[1:]
        return host


def tup(id, *values, stream="default", comp="source", task=4):
    return {"id": id, "comp": comp, "stream": stream, "task": task, "tuple": list(values)}


HEARTBEAT = {"id": "hb", "comp": None, "stream": "__heartbeat", "task": -1, "tuple": []}
TICK = {"id": "tick", "comp": "__system", "stream": "__tick", "task": -1, "tuple": [10]}


class JsonReaderTest(unittest.TestCase):
    def read_all(self, data, chunk_size):
        chunks = [data[i:i + chunk_size] for i in range(0, len(data), chunk_size)]
        blocks = []
        r = storm.JsonReader(lambda n: chunks.pop(0) if chunks else b"", lambda: blocks.append(1))
        out = []
        with self.assertRaises(storm.HostClosed) as cm:
            while True:
                out.append(r.read())
        self.assertEqual(cm.exception.code, 0)
        return out

    def test_framing_whatever_the_read_split(self):
        data = (b'{"a": 1}\nend\n'
                b'[3, 7]\nend\n'
                b'{\n  "pretty": [1,\n 2],\n  "s": "end"\n}\nend\n'  # multi-line JSON
                b'\n{"blank": "line before"}\nend\n'
                b'{"crlf": true}\r\nend\r\n'
                b'{"u": "sn\xc3\xb6 \xe2\x98\x83"}\nend\n'
                b'"end\\nend"\nend\n')
        want = [{"a": 1}, [3, 7], {"pretty": [1, 2], "s": "end"}, {"blank": "line before"},
                {"crlf": True}, {"u": "sn\u00f6 \u2603"}, "end\nend"]
        for size in (1, 2, 3, 5, 7, 13, len(data)):
            with self.subTest(chunk_size=size):
                self.assertEqual(self.read_all(data, size), want)

    def test_partial_message_at_eof_is_a_clean_close(self):
        self.assertEqual(self.read_all(b'{"a": 1}\nend\n{"b": 2}\nen', 4), [{"a": 1}])

    def test_invalid_json_is_an_error_and_reading_goes_on(self):
        data = [b'{"a": \nend\n{"b": 2}\nend\n']
        r = storm.JsonReader(lambda n: data.pop(0) if data else b"", lambda: None)
        with self.assertRaises(ValueError):
            r.read()
        self.assertEqual(r.read(), {"b": 2})

    def test_before_block_runs_only_when_input_is_needed(self):
        data = [b'{"a": 1}\nend\n{"b": 2}\nend\n', b'{"c": 3}\nend\n']
        blocks = []
        r = storm.JsonReader(lambda n: data.pop(0) if data else b"", lambda: blocks.append(len(data)))
        self.assertEqual([r.read(), r.read()], [{"a": 1}, {"b": 2}])
        self.assertEqual(blocks, [2])
        self.assertEqual(r.read(), {"c": 3})
        self.assertEqual(blocks, [2, 1])


class JsonWriterTest(unittest.TestCase):
    def test_buffers_until_flush(self):
        writes = []
        w = storm.JsonWriter(writes.append)
        w.add({"command": "sync"})
        w.add({"command": "log", "msg": "sn\u00f6 \u2603 \U0001d11e", "level": 2})
        self.assertEqual(writes, [])
        self.assertTrue(w.pending())
        w.flush()
        self.assertEqual(writes, [b'{"command":"sync"}\nend\n'
                                  b'{"command":"log","msg":"sn\\u00f6 \\u2603 \\ud834\\udd1e","level":2}\nend\n'])
        self.assertFalse(w.pending())
        w.flush()
        self.assertEqual(len(writes), 1)

    def test_unencodable_message_leaves_buffer_intact(self):
        writes = []
        w = storm.JsonWriter(writes.append)
        w.add({"command": "sync"})
        for bad in ({"tuple": [object()]}, {"tuple": [float("nan")]}, {"tuple": [float("inf")]}):
            with self.subTest(bad=bad), self.assertRaises((TypeError, ValueError)):
                w.add(bad)
        w.flush()
        self.assertEqual(writes, [b'{"command":"sync"}\nend\n'])

    def test_flushes_when_buffer_is_large(self):
        writes = []
        w = storm.JsonWriter(writes.append)
        big = "x" * (storm.FLUSH_BYTES // 4)
        for _ in range(4):
            w.add({"command": "log", "msg": big})
        self.assertEqual(len(writes), 1)
        self.assertEqual(len(parse_output(writes[0])), 4)

    def test_sniff(self):
        for data, want in ((b'{"pidDir"', "json"), (b' \n{', "json"), (b"", "json"),
                           (b"\x83\xa6pidDir", "msgpack"), (b"\xde\x00\x03", "msgpack")):
            with self.subTest(data=data):
                self.assertEqual(storm._sniff(data), want)


@needs_msgpack
class MsgpackTest(unittest.TestCase):
    def test_framing_whatever_the_read_split(self):
        msgs = [{"a": 1}, [3, 7], {"s": "sn\u00f6 \u2603", "b": b"\x00\xff", "f": 2.5, "n": None},
                {"big": "x" * 70000}, {"nested": [[[{"k": [True, False]}]]]}]
        data = b"".join(msgpack.packb(m, use_bin_type=True) for m in msgs)
        for size in (1, 2, 3, 7, 100, 65536, len(data)):
            with self.subTest(chunk_size=size):
                chunks = [data[i:i + size] for i in range(0, len(data), size)]
                blocks = []
                r = storm.MsgpackReader(lambda n: chunks.pop(0) if chunks else b"", lambda: blocks.append(1))
                out = []
                with self.assertRaises(storm.HostClosed):
                    while True:
                        out.append(r.read())
                self.assertEqual(out, msgs)
                self.assertEqual(len(blocks), (len(data) + size - 1) // size + 1)

    def test_writer_buffers_until_flush(self):
        writes = []
        w = storm.MsgpackWriter(writes.append)
        w.add({"command": "sync"})
        w.add({"command": "emit", "tuple": [b"\x01", "sn\u00f6", 1.5, float("nan")]})
        self.assertEqual(writes, [])
        with self.assertRaises(TypeError):
            w.add({"tuple": ["partly packed", object()]})
        w.add({"command": "ack", "id": "1"})  # nothing of the failed one before it
        w.flush()
        self.assertEqual(len(writes), 1)
        u = msgpack.Unpacker(raw=False)
        u.feed(writes[0])
        out = list(u)
        self.assertEqual(out[0], {"command": "sync"})
        self.assertEqual(out[1]["tuple"][:3], [b"\x01", "sn\u00f6", 1.5])
        self.assertEqual(out[2:], [{"command": "ack", "id": "1"}])


class TupleTest(unittest.TestCase):
    def test_kinds(self):
        cases = [
            (storm.Tuple("1", "source", "default", 4, ["a"]), False, False),
            (storm.Tuple("2", "__system", "__tick", -1, [10]), True, False),
            (storm.Tuple("3", None, "__heartbeat", -1, []), False, True),
            (storm.Tuple("4", "source", "__tick", 4, []), False, False),
        ]
        for t, tick, heartbeat in cases:
            with self.subTest(tuple=t):
                self.assertEqual(t.is_tick_tuple(), tick)
                self.assertEqual(t.is_heartbeat_tuple(), heartbeat)

    def test_repr(self):
        t = storm.Tuple("7", "source", "default", 4, ["a"])
        self.assertEqual(repr(t), "<Tuple component='source' id='7' stream='default' task=4 values=['a']>")


class StdoutToLogTest(AdapterTestCase):
    def test_lines_become_info_logs(self):
        host = FakeHost([])
        self.connect(host)
        out = storm._StdoutToLog(1)
        out.write("one\ntw")
        out.write("o\n")
        out.write("\nthree")
        storm._writer.flush()
        self.assertEqual(host.messages(), [
            {"command": "log", "msg": "one", "level": 2},
            {"command": "log", "msg": "two", "level": 2},
            {"command": "log", "msg": "", "level": 2},
        ])
        out.flush()
        storm._writer.flush()
        self.assertEqual(host.messages()[-1], {"command": "log", "msg": "three", "level": 2})
        self.assertEqual(out.fileno(), 1)
        self.assertTrue(out.writable())
        with self.assertRaises(TypeError):
            out.write(b"bytes")


class Recorder(storm.Bolt):
    """A bolt that runs a function per tuple and records the tuples."""

    def __init__(self, fn=None):
        self.fn = fn
        self.seen = []

    def initialize(self, conf, context):
        self.conf, self.context = conf, context

    def process(self, t):
        self.seen.append(t)
        if self.fn is not None:
            self.fn(t)


class BoltTest(AdapterTestCase):
    def test_emit_ack_and_heartbeat(self):
        def fn(t):
            storm.emit(t.values, anchors=[t])
            storm.ack(t)
        bolt = Recorder(fn)
        host = self.run_component(bolt, [tup("7", "a", 1), HEARTBEAT, TICK])
        self.assertEqual(bolt.conf, {"topology.name": "t"})
        self.assertEqual(bolt.context, {"taskid": 3, "componentid": "c"})
        self.assertEqual(host.out, [
            {"command": "emit", "anchors": ["7"], "tuple": ["a", 1], "need_task_ids": False},
            {"command": "ack", "id": "7"},
            {"command": "sync"},
            {"command": "emit", "anchors": ["tick"], "tuple": [10], "need_task_ids": False},
            {"command": "ack", "id": "tick"},
        ])
        self.assertEqual([t.id for t in bolt.seen], ["7", "tick"])
        self.assertTrue(bolt.seen[1].is_tick_tuple())
        self.assertEqual((bolt.seen[0].component, bolt.seen[0].stream, bolt.seen[0].task),
                         ("source", "default", 4))

    def test_emit_forms(self):
        returned = []

        def fn(t):
            returned.append(storm.emit(["plain"]))
            storm.emit(["s"], "words", [t])
            storm.emit(["ids"], anchors=["x", "y"])
            storm.emit(["one"], anchors=t)
            storm.emit(["str"], anchors="z")
            returned.append(storm.emit(["direct"], directTask=9, anchors=[t]))
            returned.append(storm.emitDirect(5, ["d"], stream="s", anchors=[t]))
            storm.fail(t)
        host = self.run_component(Recorder(fn), [tup("7", "a")])
        self.assertEqual(returned, [None, None, None])
        self.assertEqual(host.out, [
            {"command": "emit", "anchors": [], "tuple": ["plain"], "need_task_ids": False},
            {"command": "emit", "anchors": ["7"], "tuple": ["s"], "stream": "words", "need_task_ids": False},
            {"command": "emit", "anchors": ["x", "y"], "tuple": ["ids"], "need_task_ids": False},
            {"command": "emit", "anchors": ["7"], "tuple": ["one"], "need_task_ids": False},
            {"command": "emit", "anchors": ["z"], "tuple": ["str"], "need_task_ids": False},
            {"command": "emit", "anchors": ["7"], "tuple": ["direct"], "task": 9},
            {"command": "emit", "anchors": ["7"], "tuple": ["d"], "stream": "s", "task": 5},
            {"command": "fail", "id": "7"},
        ])

    def test_other_commands(self):
        def fn(t):
            storm.log("plain")
            storm.log("warned", 3)
            for f in (storm.logTrace, storm.logDebug, storm.logInfo, storm.logWarn, storm.logError):
                f(f.__name__)
            storm.reportError("bad")
            storm.rpcMetrics("m", {"count": 2})
            storm.sync()
            storm.ack(t.id)
        host = self.run_component(Recorder(fn), [tup("7", "a")])
        self.assertEqual(host.out, [
            {"command": "log", "msg": "plain", "level": 2},
            {"command": "log", "msg": "warned", "level": 3},
            {"command": "log", "msg": "logTrace", "level": 0},
            {"command": "log", "msg": "logDebug", "level": 1},
            {"command": "log", "msg": "logInfo", "level": 2},
            {"command": "log", "msg": "logWarn", "level": 3},
            {"command": "log", "msg": "logError", "level": 4},
            {"command": "error", "msg": "bad"},
            {"command": "metrics", "name": "m", "params": {"count": 2}},
            {"command": "sync"},
            {"command": "ack", "id": "7"},
        ])

    def test_task_ids_keep_queued_messages_in_order(self):
        got = []

        def fn(t):
            if t.values[0] == "ids":
                got.append(storm.emit(["v"], anchors=[t], need_task_ids=True))
            storm.ack(t)
        bolt = Recorder(fn)
        host = self.run_component(bolt, [tup("1", "ids"), tup("2", "x"), HEARTBEAT, [3, 7],
                                         tup("3", "ids"), [], tup("4", "x")])
        self.assertEqual(got, [[3, 7], []])
        self.assertEqual([t.id for t in bolt.seen], ["1", "2", "3", "4"])
        self.assertEqual(host.out, [
            {"command": "emit", "anchors": ["1"], "tuple": ["v"]},
            {"command": "ack", "id": "1"},
            {"command": "ack", "id": "2"},
            {"command": "sync"},
            {"command": "emit", "anchors": ["3"], "tuple": ["v"]},
            {"command": "ack", "id": "3"},
            {"command": "ack", "id": "4"},
        ])

    def test_emit_waits_for_ids_and_flushes_first(self):
        # The emit must reach the host before the adapter waits for the reply.
        def fn(t):
            self.assertEqual(storm.emit(["v"], need_task_ids=True), [5])
            storm.ack(t)
        host = FakeHost([self.handshake(), tup("1", "a"), [5]])
        self.connect(host)
        with self.assertRaises(SystemExit):
            Recorder(fn).run()
        self.assertEqual(host.messages_per_write(), [
            [{"pid": os.getpid()}],
            [{"command": "emit", "anchors": [], "tuple": ["v"]}],
            [{"command": "ack", "id": "1"}],
        ])

    def test_storm_compatible_task_ids(self):
        storm.NEED_TASK_IDS = True
        got = []

        def fn(t):
            got.append(storm.emit(["v"]))
            got.append(storm.emit(["w"], need_task_ids=False))
            got.append(storm.emitDirect(2, ["d"]))
            storm.ack(t)
        host = self.run_component(Recorder(fn), [tup("1", "a"), [4]])
        self.assertEqual(got, [[4], None, None])
        self.assertEqual(host.out, [
            {"command": "emit", "anchors": [], "tuple": ["v"]},
            {"command": "emit", "anchors": [], "tuple": ["w"], "need_task_ids": False},
            {"command": "emit", "anchors": [], "tuple": ["d"], "task": 2},
            {"command": "ack", "id": "1"},
        ])

    def test_one_write_per_input_message_when_input_trickles(self):
        def fn(t):
            for v in t.values:
                storm.emit([v], anchors=[t])
            storm.ack(t)
        host = FakeHost([self.handshake(), tup("1", "a", "b", "c"), HEARTBEAT, tup("2", "d")])
        self.connect(host)
        with self.assertRaises(SystemExit):
            Recorder(fn).run()
        self.assertEqual([[m.get("command", "pid") for m in w] for w in host.messages_per_write()], [
            ["pid"],
            ["emit", "emit", "emit", "ack"],
            ["sync"],
            ["emit", "ack"],
        ])

    def test_input_already_arrived_is_answered_in_one_write(self):
        n = 100
        host = FakeHost([self.handshake()] + [tup(str(i), i) for i in range(n)], chunk_size=1 << 20)
        self.connect(host)

        def fn(t):
            storm.emit(t.values, anchors=[t])
            storm.ack(t)
        with self.assertRaises(SystemExit):
            Recorder(fn).run()
        self.assertEqual(len(host.writes), 1)
        self.assertEqual(len(host.messages()), 1 + 2 * n)

    def test_flush_interval_bounds_buffering(self):
        storm.FLUSH_INTERVAL = 0.0
        n = 5
        host = FakeHost([self.handshake()] + [tup(str(i), i) for i in range(n)], chunk_size=1 << 20)
        self.connect(host)
        with self.assertRaises(SystemExit):
            Recorder(lambda t: storm.ack(t)).run()
        # The pid reply goes out with the first answer: input was already there.
        self.assertEqual([len(w) for w in host.messages_per_write()], [2] + [1] * (n - 1))

    def test_exception_reports_and_exits_1(self):
        def fn(t):
            storm.emit(["before"])
            raise RuntimeError("boom in process")
        host = self.run_component(Recorder(fn), [tup("1", "a"), tup("2", "b")], want_status=1)
        self.assertEqual(len(host.out), 2)
        self.assertEqual(host.out[0]["command"], "emit")
        self.assertEqual(host.out[1]["command"], "error")
        self.assertIn("RuntimeError: boom in process", host.out[1]["msg"])
        self.assertIn("Traceback", host.out[1]["msg"])
        self.assertIn("RuntimeError: boom in process", self.stderr)

    def test_storm_style_custom_loop(self):
        host = FakeHost([self.handshake(), tup("1", "a"), [8], tup("2", "b")])
        self.connect(host)
        storm.MODE = storm.Bolt
        conf, context = storm.initComponent()
        self.assertEqual(conf, {"topology.name": "t"})
        t = storm.readTuple()
        self.assertEqual((t.id, t.values), ("1", ["a"]))
        self.assertTrue(storm.emitBolt(["x"], anchors=[t], need_task_ids=True))
        self.assertEqual(storm.readTaskIds(), [8])
        self.assertEqual(storm.readTuple().id, "2")
        with self.assertRaises(SystemExit) as cm:
            storm.readMsg()
        self.assertEqual(cm.exception.code, 0)

    def test_pid_dir_problem_is_a_warning(self):
        host = FakeHost([{"pidDir": os.path.join(self.pid_dir, "missing"), "conf": {}, "context": {}}])
        self.connect(host)
        with self.assertRaises(SystemExit):
            Recorder().run()
        out = host.messages()
        self.assertEqual(out[0], {"pid": os.getpid()})
        self.assertEqual(out[1]["command"], "log")
        self.assertEqual(out[1]["level"], 3)
        self.assertIn("pid file", out[1]["msg"])


@needs_msgpack
class MsgpackBoltTest(AdapterTestCase):
    def test_bolt_over_msgpack(self):
        inputs = [self.handshake(), tup("1", "ids"), [4, 2], tup("2", b"\xfe"), HEARTBEAT]
        chunks = [msgpack.packb(m, use_bin_type=True) for m in inputs]
        writes = []
        storm.connect(storm.MsgpackReader(lambda n: chunks.pop(0) if chunks else b"", storm._before_block),
                      storm.MsgpackWriter(writes.append))
        got = []

        def fn(t):
            if t.values[0] == "ids":
                got.append(storm.emit(["v"], anchors=[t], need_task_ids=True))
            else:
                storm.emit(t.values, anchors=[t])
            storm.ack(t)
        with self.assertRaises(SystemExit) as cm:
            Recorder(fn).run()
        self.assertEqual(cm.exception.code, 0)
        u = msgpack.Unpacker(raw=False)
        u.feed(b"".join(writes))
        self.assertEqual(list(u), [
            {"pid": os.getpid()},
            {"command": "emit", "anchors": ["1"], "tuple": ["v"]},
            {"command": "ack", "id": "1"},
            {"command": "emit", "anchors": ["2"], "tuple": [b"\xfe"], "need_task_ids": False},
            {"command": "ack", "id": "2"},
            {"command": "sync"},
        ])
        self.assertEqual(got, [[4, 2]])
        # One write each time the adapter waits for input: after the pid,
        # the emit waiting for ids, each tuple and the heartbeat.
        self.assertEqual(len(writes), 5)


class Split(storm.BasicBolt):
    def process(self, t):
        if t.is_tick_tuple():
            return
        if t.values[0] == "":
            raise ValueError("empty sentence")
        for w in t.values[0].split():
            storm.emit([w])


class BasicBoltTest(AdapterTestCase):
    def test_anchors_acks_fails_and_goes_on(self):
        host = self.run_component(Split(), [tup("1", "a b"), tup("2", ""), HEARTBEAT, TICK, tup("3", "c")])
        msgs = host.out
        self.assertEqual(msgs[:4], [
            {"command": "emit", "anchors": ["1"], "tuple": ["a"], "need_task_ids": False},
            {"command": "emit", "anchors": ["1"], "tuple": ["b"], "need_task_ids": False},
            {"command": "ack", "id": "1"},
            {"command": "fail", "id": "2"},
        ])
        self.assertEqual(msgs[4]["command"], "error")
        self.assertIn("ValueError: empty sentence", msgs[4]["msg"])
        self.assertIn("Traceback", msgs[4]["msg"])
        self.assertEqual(msgs[5:], [
            {"command": "sync"},
            {"command": "ack", "id": "tick"},
            {"command": "emit", "anchors": ["3"], "tuple": ["c"], "need_task_ids": False},
            {"command": "ack", "id": "3"},
        ])

    def test_explicit_anchors_are_replaced_by_the_input(self):
        class B(storm.BasicBolt):
            def process(self, t):
                storm.emit(["x"], anchors=["other"])
        host = self.run_component(B(), [tup("1", "a")])
        self.assertEqual(host.out[0]["anchors"], ["1"])


class Counter(storm.Spout):
    def initialize(self, conf, context):
        self.n = 0
        self.events = []

    def nextTuple(self):
        if self.n < 2:
            storm.emit([self.n], id=self.n)
            self.n += 1

    def ack(self, id):
        self.events.append(("ack", id))

    def fail(self, id):
        self.events.append(("fail", id))

    def activate(self):
        self.events.append(("activate",))

    def deactivate(self):
        self.events.append(("deactivate",))


class SpoutTest(AdapterTestCase):
    def test_cycle(self):
        spout = Counter()
        cmds = [{"command": c, "id": ""} for c in ("activate", "next", "next", "next")]
        cmds += [{"command": "ack", "id": 0}, {"command": "fail", "id": {"k": [1]}},
                 {"command": "deactivate", "id": ""}, {"command": "bogus"}]
        host = self.run_component(spout, cmds)
        self.assertEqual(host.out, [
            {"command": "sync"},
            {"command": "emit", "tuple": [0], "id": 0, "need_task_ids": False},
            {"command": "sync"},
            {"command": "emit", "tuple": [1], "id": 1, "need_task_ids": False},
            {"command": "sync"},
            {"command": "sync"},
            {"command": "sync"},
            {"command": "sync"},
            {"command": "sync"},
            {"command": "sync"},
        ])
        self.assertEqual(spout.events, [("activate",), ("ack", 0), ("fail", {"k": [1]}), ("deactivate",)])

    def test_emit_forms(self):
        got = []

        class S(storm.Spout):
            def nextTuple(self):
                got.append(storm.emit(["a"]))
                got.append(storm.emit(["b"], "s", "id-b"))
                got.append(storm.emit(["c"], id=3, directTask=4))
                got.append(storm.emitDirect(5, ["d"], id=4))
                got.append(storm.emit(["e"], need_task_ids=True))
        host = self.run_component(S(), [{"command": "next", "id": ""}, [1, 2]])
        self.assertEqual(got, [None, None, None, None, [1, 2]])
        self.assertEqual(host.out, [
            {"command": "emit", "tuple": ["a"], "need_task_ids": False},
            {"command": "emit", "tuple": ["b"], "id": "id-b", "stream": "s", "need_task_ids": False},
            {"command": "emit", "tuple": ["c"], "id": 3, "task": 4},
            {"command": "emit", "tuple": ["d"], "id": 4, "task": 5},
            {"command": "emit", "tuple": ["e"]},
            {"command": "sync"},
        ])

    def test_exception_reports_and_exits_1(self):
        class S(storm.Spout):
            def nextTuple(self):
                raise KeyError("no more")
        host = self.run_component(S(), [{"command": "next", "id": ""}], want_status=1)
        self.assertEqual(len(host.out), 1)
        self.assertEqual(host.out[0]["command"], "error")
        self.assertIn("KeyError", host.out[0]["msg"])


def finish(id, request):
    return {"id": id, "comp": "__coordinator", "stream": "__finish_batch", "task": -1, "tuple": [request]}


class FinishBatchTest(AdapterTestCase):
    def test_bolt_finish_batch_is_anchored_and_acked(self):
        class Count(storm.Bolt):
            def initialize(self, conf, context):
                self.n = {}

            def process(self, t):
                self.n[t.values[0]] = self.n.get(t.values[0], 0) + 1
                storm.ack(t)

            def finish_batch(self, request):
                storm.emit([request, self.n.pop(request, 0)])
        host = self.run_component(Count(), [tup("1", "r", "a"), tup("2", "r", "b"), finish("f", "r"), finish("g", "q")])
        self.assertEqual(host.out, [
            {"command": "ack", "id": "1"},
            {"command": "ack", "id": "2"},
            {"command": "emit", "anchors": ["f"], "tuple": ["r", 2], "need_task_ids": False},
            {"command": "ack", "id": "f"},
            {"command": "emit", "anchors": ["g"], "tuple": ["q", 0], "need_task_ids": False},
            {"command": "ack", "id": "g"},
        ])

    def test_failing_finish_batch_fails_the_request(self):
        class Broken(storm.BasicBolt):
            def finish_batch(self, request):
                raise ValueError("no answer")
        host = self.run_component(Broken(), [finish("f", "r"), tup("1", "r", "a")])
        self.assertEqual(host.out[0], {"command": "fail", "id": "f"})
        self.assertEqual(host.out[1]["command"], "error")
        self.assertIn("no answer", host.out[1]["msg"])
        # The bolt goes on, and its emits are anchored to the tuple again.
        self.assertEqual(host.out[2:], [{"command": "ack", "id": "1"}])

    def test_batch_bolt_keeps_state_per_request(self):
        class Distinct(storm.BatchBolt):
            def process(self, t):
                self.batch(t.values[0]).setdefault("seen", set()).add(t.values[1])

            def finish_batch(self, request):
                storm.emit([request, len(self.batch(request).get("seen", ()))])
        bolt = Distinct()
        host = self.run_component(bolt, [tup("1", "r", "a"), tup("2", "q", "a"), tup("3", "r", "a"),
                                         tup("4", "r", "b"), finish("f", "r"), finish("g", "q")])
        emits = [m for m in host.out if m["command"] == "emit"]
        self.assertEqual(emits, [
            {"command": "emit", "anchors": ["f"], "tuple": ["r", 2], "need_task_ids": False},
            {"command": "emit", "anchors": ["g"], "tuple": ["q", 1], "need_task_ids": False},
        ])
        self.assertEqual(bolt._batches, {})

    def test_batch_bolt_drops_batches_past_the_message_timeout(self):
        storm._CONF = {"topology.message.timeout.secs": 30}
        self.addCleanup(setattr, storm, "_CONF", {})
        bolt = storm.BatchBolt()
        now = [1000.0]
        real = storm.time.monotonic
        storm.time.monotonic = lambda: now[0]
        self.addCleanup(setattr, storm.time, "monotonic", real)
        bolt.batch("old")["x"] = 1
        now[0] += 20
        bolt.batch("newer")
        now[0] += 15  # "old" is 35 s old, "newer" 15 s
        bolt.batch("newest")
        self.assertEqual(list(bolt._batches), ["newer", "newest"])


if __name__ == "__main__":
    unittest.main()
