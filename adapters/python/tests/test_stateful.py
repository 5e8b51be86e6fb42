"""Tests of storm.StatefulBolt and its state, through storm_testing's fake
host state and, for the wire order, in-process."""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))                          # storm, storm_testing
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "components"))

import storm  # noqa: E402
from storm_testing import BoltHarness, ComponentCrashed  # noqa: E402
from statecount import StateCount  # noqa: E402
from test_inprocess import AdapterTestCase, FakeHost  # noqa: E402


class Ops(storm.StatefulBolt):
    """Runs the operation tuple[0] on self.state and emits what it returns."""

    def initialize(self, conf, context):
        self.resets = 0
        self.boot = self.state.get("boot")

    def on_state_reset(self):
        self.resets += 1

    def process(self, tup):
        op, arg = tup.values
        state = self.state
        if op == "get":
            storm.emit([state.get(arg, "absent")])
        elif op == "getitem":
            storm.emit([state[arg]])
        elif op == "has":
            storm.emit([arg in state])
        elif op == "put":
            state[arg[0]] = arg[1]
        elif op == "update":
            state.update(arg)
        elif op == "del":
            del state[arg]
        elif op == "first":
            for k, v in state.items():  # left after the first item
                storm.emit([k, v])
                break
            storm.emit([state.get(arg)])
        elif op == "ids":  # task ids asked while the state streams
            for k, _ in state.items():
                storm.emit([k], need_task_ids=True)
        elif op == "mutate":
            v = state[arg]
            v.append("changed")  # not stored: values are copies
            storm.emit([state[arg]])
        elif op == "len":
            storm.emit([len(state), sorted(state.keys()), [v for _, v in sorted(state.items())]])
        elif op == "clear":
            state.clear()
        elif op == "resets":
            storm.emit([self.resets, self.boot])


class StatefulBoltHarnessTest(unittest.TestCase):
    def test_statecount_counts_in_the_fake_state(self):
        with BoltHarness(StateCount(), state={"snow": 2}) as h:
            self.assertEqual(h.process(["count", "snow"]).values(), [["snow", 3]])
            self.assertEqual(h.process(["count", "snow"]).values(), [["snow", 4]])
            self.assertEqual(h.state, {"snow": 4})
            self.assertEqual(h.state_round_trips, 1)  # the second count hit the cache
            h.commit_state()
            out = h.process(["count", "white"])
            self.assertEqual(out.acked, [out.id])
            h.rollback_state()
            self.assertEqual(h.state, {"snow": 4})
            self.assertEqual(h.process(["count", "white"]).values(), [["white", 1]])
            self.assertEqual(h.state_round_trips, 3)  # white read again after the reset

    def test_reads_writes_and_copies(self):
        with BoltHarness(Ops(), state={"boot": "yes", "l": [1]}) as h:
            self.assertEqual(h.process(["resets", None]).values(), [[0, "yes"]])  # read in initialize
            self.assertEqual(h.process(["get", "nope"]).values(), [["absent"]])
            out = h.process(["getitem", "nope"])
            self.assertEqual(out.failed, [out.id])
            self.assertIn("KeyError", out.errors[0])
            self.assertEqual(h.process(["has", "l"]).values(), [[True]])
            self.assertEqual(h.process(["mutate", "l"]).values(), [[[1]]])
            h.process(["put", ["m", {"a": [1]}]])
            h.process(["update", {"x": 1, "y": None}])
            self.assertEqual(h.state, {"boot": "yes", "l": [1], "m": {"a": [1]}, "x": 1, "y": None})
            self.assertEqual(h.process(["has", "y"]).values(), [[True]])  # None is a value
            trips = h.state_round_trips
            self.assertEqual(h.process(["get", "y"]).values(), [[None]])
            self.assertEqual(h.state_round_trips, trips)
            self.assertEqual(h.process(["len", None]).values(),
                             [[5, ["boot", "l", "m", "x", "y"], ["yes", [1], {"a": [1]}, 1, None]]])

    def test_keys_as_the_host_tells_them_apart(self):
        b = Ops()
        with BoltHarness(b) as h:
            h.process(["put", ["1", "string"]])
            h.process(["put", [1, "number"]])
            h.process(["put", [True, "bool"]])
            trips = h.state_round_trips
            self.assertEqual(h.process(["get", "1"]).values(), [["string"]])
            self.assertEqual(h.process(["get", 1.0]).values(), [["number"]])
            self.assertEqual(h.process(["get", True]).values(), [["bool"]])
            self.assertEqual(h.state_round_trips, trips)  # all cached, none mixed up
            for bad in (None, [1], float("nan"), "\x00squall"):
                out = h.process(["put", [bad, 1]])
                self.assertEqual(out.failed, [out.id], bad)

    def test_iteration_left_early_and_task_ids_while_streaming(self):
        state = {"k%03d" % i: i for i in range(25)}
        with BoltHarness(Ops(), state=state, task_ids=[7]) as h:
            h._fake_state.items_per_reply = 10  # three replies
            out = h.process(["first", "k007"])
            self.assertEqual(out.values(), [["k000", 0], [7]])
            out = h.process(["ids", None])
            self.assertEqual(len(out.emits), 25)
            self.assertEqual(out.acked, [out.id])
            out = h.process(["len", None])
            n, keys, values = out.values()[0]
            self.assertEqual((n, keys, values), (25, sorted(state), list(range(25))))
            h.process(["clear", None])
            self.assertEqual(h.state, {})

    def test_rollback_calls_on_state_reset(self):
        with BoltHarness(Ops()) as h:
            h.process(["put", ["a", 1]])
            h.rollback_state(txid=4)
            self.assertEqual(h.process(["resets", None]).values(), [[1, None]])
            self.assertEqual(h.process(["get", "a"]).values(), [["absent"]])

    def test_refused_without_state(self):
        with self.assertRaises(ComponentCrashed) as cm:
            BoltHarness(Ops(), state=None, context={"squall": {"protocol": 1}})
        self.assertIn("declares no state", str(cm.exception))


def tup(id, *values):
    return {"id": id, "comp": "words", "stream": "default", "task": 3, "tuple": list(values)}


SQUALL = {"squall": {"protocol": 1, "state": {"cache_max_keys": 10}}}


class StatefulBoltWireTest(AdapterTestCase):
    def handshake(self, conf=None):
        h = AdapterTestCase.handshake(self, conf)
        h["context"].update(SQUALL)
        return h

    def test_writes_precede_the_ack_in_one_write(self):
        host = self.run_component(StateCount(), [
            tup("1", "count", "a"), {"command": "state_values", "items": [["a", 4]]},
        ])
        self.assertEqual(host.out, [
            {"command": "state_get", "keys": ["a"]},
            {"command": "state_put", "items": [["a", 5]]},
            {"command": "emit", "anchors": ["1"], "tuple": ["a", 5], "need_task_ids": False},
            {"command": "ack", "id": "1"},
        ])
        # The pid and the state_get, then the put, emit and ack together.
        self.assertEqual(len(host.messages_per_write()[-1]), 3)

    def test_tuples_and_resets_before_a_reply_wait_their_turn(self):
        # The host sent a tuple and a reset (a child that read before it
        # came up) before answering the read: both wait for the reply.
        host = self.run_component(StateCount(), [
            tup("1", "count", "a"),
            tup("2", "count", "a"),
            {"command": "state_reset", "txid": 2},
            {"command": "state_values", "items": [["a", 1]]},
            tup("3", "count", "a"),
            {"command": "state_values", "items": [["a", 7]]},
        ])
        cmds = [(m["command"], m.get("keys") or m.get("items") or m.get("id")) for m in host.out
                if m["command"] != "emit"]
        self.assertEqual(cmds, [
            # Tuple 2 is a hit (the reset is not read yet); the writes of
            # both, made before the next flush, go as one with a's last
            # value, ahead of their acks.
            ("state_get", ["a"]), ("state_put", [["a", 3]]), ("ack", "1"), ("ack", "2"),
            ("state_get", ["a"]), ("state_put", [["a", 8]]), ("ack", "3"),  # after the reset: read again
        ])

    def test_writes_between_flushes_go_as_one_before_their_acks(self):
        # Tuples read at once, the child blocking only after the last:
        # their writes go as one state_put, each key's last value, ahead
        # of the first ack that follows a write.
        host = self.run_component(Ops(), [
            {"command": "state_values", "items": []},  # initialize's read
            tup("1", "get", "x"),
            {"command": "state_values", "items": []},
            tup("2", "put", ["a", 1]),
            tup("3", "put", ["b", [1, 2]]),
            tup("4", "put", ["a", 2]),
            tup("5", "update", {"c": 3, "b": None}),
            tup("6", "put", ["d", 4]),
            tup("6d", "del", "d"),
            tup("6b", "del", "b"),
            tup("6p", "put", ["b", 5]),
            tup("7", "clear", None),
            {"command": "state_items", "items": [["a", 2]]},
        ], chunk_size=4096)  # all in one read, as from a busy host
        cmds = [(m["command"], m.get("keys") or m.get("items") or m.get("id")) for m in host.out if m["command"] != "emit"]
        self.assertEqual(cmds[:3], [("state_get", ["boot"]), ("state_get", ["x"]), ("ack", "1")])
        self.assertEqual(cmds[3:], [
            ("state_put", [["a", 2], ["c", 3], ["b", 5]]), ("state_delete", ["d"]),
            ("ack", "2"), ("ack", "3"), ("ack", "4"), ("ack", "5"), ("ack", "6"),
            ("ack", "6d"), ("ack", "6b"), ("ack", "6p"),
            ("state_items", None),  # clear() lists the keys: the puts are ahead of it
            ("state_delete", ["a"]), ("ack", "7"),
        ])

    def test_a_value_json_cannot_carry_fails_its_tuple(self):
        # Encoded when assigned, not when written: the tuple that assigned
        # it fails (its error is written at once), the other writes go on.
        class SetPut(storm.StatefulBolt):
            def process(self, tup):
                self.state[tup.values[0]] = {1} if tup.values[1] == "set" else tup.values[1]

        host = self.run_component(SetPut(), [tup("1", "a", 1), tup("2", "b", "set"), tup("3", "c", 3)])
        cmds = [(m["command"], m.get("items") or m.get("id")) for m in host.out if m["command"] != "error"]
        self.assertEqual(cmds, [("state_put", [["a", 1]]), ("ack", "1"), ("fail", "2"), ("state_put", [["c", 3]]), ("ack", "3")])
        self.assertTrue(any(m["command"] == "error" and "set" in m["msg"] for m in host.out))

    def test_a_reply_for_nothing_is_an_error(self):
        host = self.run_component(StateCount(), [{"command": "state_values", "items": []}], want_status=1)
        self.assertTrue(any(m["command"] == "error" and "no state command waits" in m["msg"] for m in host.out))


class StateNextToAFullBufferTest(unittest.TestCase):
    """A write made when the buffer is a few bytes short of a flush: the
    flush that reserving or growing its place causes sends it, and a
    later write of the same key is not undone by it."""

    def test_writes_next_to_a_full_buffer_are_sent_in_order(self):
        out = []
        w = storm.JsonWriter(out.append)
        saved, storm._writer = storm._writer, w
        try:
            s = storm.State()
            w.add({"command": "emit", "tuple": ["x" * (storm.FLUSH_BYTES - 60)]})
            del s["k"]
            w.add({"command": "ack", "id": "1"})
            w.add({"command": "emit", "tuple": ["x" * (storm.FLUSH_BYTES - 60)]})
            s["k"] = 1
            w.add({"command": "ack", "id": "2"})
            w.flush()
        finally:
            storm._writer = saved
        data = b"".join(d if isinstance(d, bytes) else d.encode() for d in out)
        msgs = [storm.json_decode(m) for m in data.decode().split("\nend\n") if m]
        self.assertEqual([m for m in msgs if m["command"] != "emit"], [
            {"command": "state_delete", "keys": ["k"]}, {"command": "ack", "id": "1"},
            {"command": "state_put", "items": [["k", 1]]}, {"command": "ack", "id": "2"},
        ])


if __name__ == "__main__":
    unittest.main()
