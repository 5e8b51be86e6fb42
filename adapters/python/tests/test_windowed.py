"""Tests of storm.WindowedBolt, driven in-process as the host drives it."""

import gc
import sys
import unittest

from childproc import ADAPTER_DIR
from test_inprocess import HEARTBEAT, AdapterTestCase, tup

sys.path.insert(0, ADAPTER_DIR)
import storm  # noqa: E402


def window(id, new, expired=(), start=0, end=999, reset=False, forget=None):
    """A window message: new holds tuples (sent whole) or ids (streamed before)."""
    new = [t if isinstance(t, str) else [t["id"], t["comp"], t["stream"], t["task"], t["tuple"]] for t in new]
    w = {"start": start, "end": end, "new": new, "expired": list(expired)}
    if reset:
        w["reset"] = True
    if forget:
        w["forget"] = forget
    return {"id": id, "comp": "__system", "stream": "__window", "task": -1, "tuple": [w]}


def add(id, tuples, forget=None):
    """Tuples streamed ahead of their window, grouped by source as the host does."""
    runs = {}
    for t in tuples:
        run = runs.setdefault((t["comp"], t["stream"], t["task"]), ([], []))
        run[0].append(t["id"])
        run[1].append(t["tuple"])
    w = {"add": [[c, s, k, ids, vals] for (c, s, k), (ids, vals) in runs.items()]}
    if forget:
        w["forget"] = forget
    return {"id": id, "comp": "__system", "stream": "__window", "task": -1, "tuple": [w]}


class Recorder(storm.WindowedBolt):
    """Records each window's words and emits their count."""

    def initialize(self, conf, context):
        self.seen = []

    def process_window(self, w):
        words = lambda ts: [t.values[0] for t in ts]  # noqa: E731
        self.last = w
        self.seen.append((words(w.tuples), words(w.new), words(w.expired), w.start, w.end))
        if words(w.new) == ["boom"]:
            raise ValueError("boom")
        storm.emit([len(w.tuples)])


class GcProbe(storm.WindowedBolt):
    """Records whether the cyclic collector is on in each process_window."""

    def initialize(self, conf, context):
        self.seen = []

    def process_window(self, w):
        self.seen.append(gc.isenabled())


class WindowedBoltTest(AdapterTestCase):
    def test_windows_are_kept_and_acked(self):
        b = Recorder()
        host = self.run_component(b, [
            window("w1", [tup("1", "a"), tup("2", "b")], reset=True),
            HEARTBEAT,
            window("w2", [tup("3", "c")], ["1"], start=1000, end=1999),
            window("w3", [], ["2"], start=2000, end=2999),
        ])
        self.assertEqual(b.seen, [
            (["a", "b"], ["a", "b"], [], 0, 999),
            (["b", "c"], ["c"], ["a"], 1000, 1999),
            (["c"], [], ["b"], 2000, 2999),
        ])
        self.assertEqual(host.out, [
            {"command": "emit", "anchors": ["w1"], "tuple": [2], "need_task_ids": False},
            {"command": "ack", "id": "w1"},
            {"command": "sync"},
            {"command": "emit", "anchors": ["w2"], "tuple": [2], "need_task_ids": False},
            {"command": "ack", "id": "w2"},
            {"command": "emit", "anchors": ["w3"], "tuple": [1], "need_task_ids": False},
            {"command": "ack", "id": "w3"},
        ])

    def test_a_window_that_raises_is_failed_and_the_next_must_be_whole(self):
        b = Recorder()
        host = self.run_component(b, [
            window("w1", [tup("1", "boom")], reset=True),
            window("w2", [tup("2", "x")], []),                # not whole: failed unseen
            window("w3", [tup("1", "boom"), tup("2", "x")], reset=True),
        ])
        self.assertEqual([s[0] for s in b.seen], [["boom"], ["boom", "x"]])
        cmds = [(m["command"], m.get("id")) for m in host.out if m["command"] != "error"]
        self.assertEqual(cmds, [("fail", "w1"), ("fail", "w2"), ("emit", None), ("ack", "w3")])
        self.assertTrue(any(m["command"] == "error" and "ValueError" in m["msg"] for m in host.out))

    def test_a_restarted_child_fails_a_window_it_does_not_hold(self):
        b = Recorder()
        host = self.run_component(b, [window("w9", [tup("5", "a")], ["4"])])
        self.assertEqual(b.seen, [])
        self.assertEqual(host.out, [{"command": "fail", "id": "w9"}])

    def test_tuples_put_back_by_a_recovery_are_in_the_window_but_not_new(self):
        # After a restart with a message id field, the host puts back
        # tuples evaluated before: a whole window lists them in "old".
        b = Recorder()
        w1 = window("w1", [tup("1", "a"), tup("2", "b"), tup("3", "c")], reset=True)
        w1["tuple"][0]["old"] = ["1", "2"]
        self.run_component(b, [w1, window("w2", [tup("4", "d")], ["1"])])
        self.assertEqual(b.seen, [
            (["a", "b", "c"], ["c"], [], 0, 999),
            (["b", "c", "d"], ["d"], ["a"], 0, 999),
        ])

    def test_the_collector_is_on_in_user_code_and_left_as_found(self):
        # The adapter pauses the cyclic collector while it reads a window
        # (a window's objects hold no cycles), never while user code runs,
        # and leaves it as the program set it.
        self.addCleanup(gc.enable)
        for enabled in (True, False):
            with self.subTest(enabled=enabled):
                gc.enable() if enabled else gc.disable()
                b = GcProbe()
                self.run_component(b, [
                    window("w1", [tup("1", "a")], reset=True),
                    HEARTBEAT,
                    window("w2", [tup("2", "b")], ["1"]),
                ])
                self.assertEqual(b.seen, [enabled, enabled])
                self.assertEqual(gc.isenabled(), enabled)

    def test_reading_a_large_window_runs_no_collections(self):
        # Decoding a window makes several objects per tuple; with the
        # collector on, 20,000 tuples would start it more than a hundred
        # times, over a heap that grows all the while.
        started = []

        def count(phase, info):
            if phase == "start":
                started.append(info["generation"])

        self.addCleanup(gc.enable)
        gc.enable()
        big = window("w1", [tup(str(i), "word %d" % i) for i in range(20000)], reset=True)
        b = GcProbe()
        gc.collect()
        gc.callbacks.append(count)
        try:
            self.run_component(b, [big], chunk_size=storm.READ_SIZE)
        finally:
            gc.callbacks.remove(count)
        self.assertEqual(b.seen, [True])
        self.assertLess(len(started), 10, "collections while reading a window: %d" % len(started))

    def test_streamed_tuples_are_named_by_windows(self):
        b = Recorder()
        other = dict(tup("4", "d"), comp="other", stream="s2", task=7)
        host = self.run_component(b, [
            add("a1", [tup("1", "a"), tup("2", "b")]),
            add("a2", [tup("3", "c"), other, tup("9", "dropped")]),
            window("w1", ["1", "2"], reset=True),
            window("w2", ["3", tup("5", "e"), "4"], ["1"], forget=["9"]),
        ])
        self.assertEqual(b.seen, [
            (["a", "b"], ["a", "b"], [], 0, 999),
            (["b", "c", "e", "d"], ["c", "e", "d"], ["a"], 0, 999),
        ])
        self.assertEqual(b.last.new[2].component, "other")
        self.assertEqual((b.last.new[2].stream, b.last.new[2].task, b.last.new[2].id), ("s2", 7, "4"))
        self.assertEqual([(m["command"], m.get("id")) for m in host.out if m["command"] != "emit"],
                         [("ack", "a1"), ("ack", "a2"), ("ack", "w1"), ("ack", "w2")])

    def test_a_reset_keeps_streamed_tuples_and_a_whole_one_replaces_its_copy(self):
        b = Recorder()
        self.run_component(b, [
            add("a1", [tup("1", "a"), tup("2", "b")]),
            window("w1", ["1"], reset=True),
            # The host resends "1" whole, and "2" as well although it was
            # streamed: the child keeps one copy of each.
            window("w2", [tup("1", "a"), tup("2", "b")], reset=True),
            window("w3", [], ["1", "2"]),
        ])
        self.assertEqual([s[0] for s in b.seen], [["a"], ["a", "b"], []])

    def test_a_window_naming_a_tuple_never_streamed_is_failed(self):
        # The child restarted: what the host streamed went with the old one.
        b = Recorder()
        host = self.run_component(b, [
            window("w1", [tup("1", "a")], reset=True),
            window("w2", ["2"], ["1"]),
            window("w3", ["3"], []),   # not whole after a failure: failed unseen
            window("w4", [tup("1", "a"), tup("2", "b")], reset=True),
        ])
        self.assertEqual([s[0] for s in b.seen], [["a"], ["a", "b"]])
        cmds = [(m["command"], m.get("id")) for m in host.out if m["command"] != "emit"]
        self.assertEqual(cmds, [("ack", "w1"), ("fail", "w2"), ("fail", "w3"), ("ack", "w4")])

    def test_a_tuple_outside_a_window_is_refused(self):
        host = self.run_component(Recorder(), [tup("1", "a")], want_status=1)
        self.assertTrue(any(m["command"] == "error" and "declares no window" in m["msg"] for m in host.out))


class WindowCount(storm.StatefulWindowedBolt):
    """Counts each window's new words in its state."""

    def initialize(self, conf, context):
        self.resets = 0

    def on_state_reset(self):
        self.resets += 1

    def process_window(self, w):
        for t in w.new:
            self.state[t.values[0]] = self.state.get(t.values[0], 0) + 1


class StatefulWindowedBoltTest(AdapterTestCase):
    def handshake(self, conf=None):
        h = AdapterTestCase.handshake(self, conf)
        h["context"]["squall"] = {"protocol": 1, "state": {"cache_max_keys": 10},
                                  "window": {"length_count": 2, "sliding_count": 2}}
        return h

    def test_windows_read_and_write_the_state_and_a_reset_clears_its_cache(self):
        b = WindowCount()
        host = self.run_component(b, [
            add("a1", [tup("1", "a"), tup("2", "a")]),
            window("w1", ["1", "2"], reset=True),
            {"command": "state_values", "items": []},
            {"command": "state_reset", "txid": 3},
            window("w2", [tup("3", "a")], ["1", "2"]),
            {"command": "state_values", "items": [["a", 9]]},
        ])
        cmds = [(m["command"], m.get("keys") or m.get("items") or m.get("id")) for m in host.out]
        self.assertEqual(cmds, [
            ("ack", "a1"),
            ("state_get", ["a"]), ("state_put", [["a", 2]]), ("ack", "w1"),  # a's writes as one
            ("state_get", ["a"]), ("state_put", [["a", 10]]), ("ack", "w2"),  # read again after the reset
        ])
        self.assertEqual(b.resets, 1)

    def test_refused_without_state(self):
        self.handshake = lambda conf=None: AdapterTestCase.handshake(self, conf)
        host = self.run_component(WindowCount(), [], want_status=1)
        self.assertTrue(any(m["command"] == "error" and "declares no state" in m["msg"] for m in host.out))


if __name__ == "__main__":
    unittest.main()
