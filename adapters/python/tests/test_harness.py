"""Tests of storm_testing, the harness users test their components with, on
the adapter's reference components."""

import os
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))                          # storm, storm_testing
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "components"))

import storm  # noqa: E402
from storm_testing import (BoltHarness, ComponentCrashed, ComponentTimeout,  # noqa: E402
                           SpoutHarness)
from counterspout import CounterSpout  # noqa: E402
from passthrough import Passthrough  # noqa: E402
from reference import Reference  # noqa: E402
from splitsentence import SplitSentence  # noqa: E402


class BasicBoltTest(unittest.TestCase):
    def setUp(self):
        self.bolt = BoltHarness(SplitSentence())
        self.addCleanup(self.bolt.close)

    def test_emits_anchored_and_acks(self):
        out = self.bolt.process(["snow white and the seven dwarfs"])
        self.assertEqual(out.values(), [["snow"], ["white"], ["and"], ["the"], ["seven"], ["dwarfs"]])
        self.assertTrue(all(e.anchors == [out.id] for e in out.emits), out.emits)
        self.assertEqual(out.acked, [out.id])
        self.assertEqual(out.failed, [])

    def test_a_raise_fails_the_tuple_and_reports(self):
        out = self.bolt.process([""])
        self.assertEqual(out.failed, [out.id])
        self.assertEqual(len(out.errors), 1)
        self.assertIn("ValueError: empty sentence", out.errors[0])
        # The bolt goes on, as it does in a worker.
        self.assertEqual(self.bolt.process(["a b"]).values(), [["a"], ["b"]])

    def test_tick_is_acked_without_emits(self):
        out = self.bolt.tick(5)
        self.assertEqual(out.emits, [])
        self.assertEqual(out.acked, [out.id])

    def test_totals(self):
        first = self.bolt.process(["a b"])
        second = self.bolt.process(["c"])
        self.assertEqual(self.bolt.values(), [["a"], ["b"], ["c"]])
        self.assertEqual(self.bolt.acked, [first.id, second.id])

    def test_heartbeat_is_answered_with_sync(self):
        out = self.bolt.heartbeat()
        self.assertEqual(out.messages, [{"command": "sync"}])


class BoltTest(unittest.TestCase):
    def test_passthrough(self):
        with BoltHarness(Passthrough()) as bolt:
            out = bolt.process([1, "two", [3]], stream="s", component="src", task=7, id="42")
            self.assertEqual(out.emits[0].values, [1, "two", [3]])
            self.assertEqual(out.emits[0].anchors, ["42"])
            self.assertEqual(out.acked, ["42"])

    def test_every_command(self):
        with BoltHarness(Reference(), task_ids=[3, 7]) as bolt:
            self.assertEqual(bolt.process(["ids", "w"]).values(), [["w"], [[3, 7]]])
            direct = bolt.process(["direct", 5, "v"]).emits[0]
            self.assertEqual((direct.task, direct.stream, direct.values), (5, "direct", ["v"]))
            self.assertEqual(bolt.process(["log", 3, "careful"]).logs[0], ("careful", storm.WARN))
            self.assertEqual(bolt.process(["error", "oops"]).errors, ["oops"])
            self.assertEqual(bolt.process(["metric", "m", 2]).metrics, [("m", 2)])
            out = bolt.process(["fail"])
            self.assertEqual((out.acked, out.failed), ([], [out.id]))

    def test_task_ids_from_a_function(self):
        with BoltHarness(Reference(), task_ids=lambda emit: [len(emit.values[0])]) as bolt:
            self.assertEqual(bolt.process(["ids", "four"]).values(), [["four"], [[4]]])

    def test_conf_and_context_reach_initialize(self):
        seen = {}

        class Probe(storm.Bolt):
            def initialize(self, conf, context):
                seen.update(conf=conf, context=context)

        with BoltHarness(Probe(), conf={"my.setting": 3}, component_id="probe", task_id=9):
            pass
        self.assertEqual(seen["conf"]["my.setting"], 3)
        self.assertEqual((seen["context"]["componentid"], seen["context"]["taskid"]), ("probe", 9))

    def test_a_crash_raises_with_the_cause(self):
        class Broken(storm.Bolt):
            def process(self, tup):
                raise KeyError("missing")

        bolt = BoltHarness(Broken())
        self.addCleanup(bolt.close)
        stderr = sys.stderr
        sys.stderr = open(os.devnull, "w")  # the adapter prints the traceback, as in a worker
        self.addCleanup(lambda: (sys.stderr.close(), setattr(sys, "stderr", stderr)))
        with self.assertRaises(ComponentCrashed) as cm:
            bolt.process(["x"])
        self.assertEqual(cm.exception.exit_code, 1)
        self.assertIsInstance(cm.exception.__cause__, KeyError)
        self.assertIn("KeyError", bolt.errors[0])

    def test_an_unencodable_value_is_an_error_here_too(self):
        class SetEmitter(storm.Bolt):
            def process(self, tup):
                storm.emit([{1, 2}])

        bolt = BoltHarness(SetEmitter())
        self.addCleanup(bolt.close)
        stderr = sys.stderr
        sys.stderr = open(os.devnull, "w")
        self.addCleanup(lambda: (sys.stderr.close(), setattr(sys, "stderr", stderr)))
        with self.assertRaises(ComponentCrashed) as cm:
            bolt.process(["x"])
        self.assertIsInstance(cm.exception.__cause__, TypeError)

    def test_timeout(self):
        release = threading.Event()

        class Slow(storm.Bolt):
            def process(self, tup):
                release.wait(60)
                storm.ack(tup)

        bolt = BoltHarness(Slow(), timeout=0.2)
        self.addCleanup(bolt.close)
        self.addCleanup(release.set)
        start = time.monotonic()
        with self.assertRaises(ComponentTimeout):
            bolt.process(["x"])
        self.assertLess(time.monotonic() - start, 30)

    def test_one_harness_at_a_time(self):
        with BoltHarness(Passthrough()):
            with self.assertRaises(RuntimeError):
                BoltHarness(Passthrough())
        with BoltHarness(Passthrough()) as again:  # the first one is closed
            self.assertEqual(again.process(["x"]).values(), [["x"]])


class SpoutTest(unittest.TestCase):
    def test_reliable_spout_replays_failed(self):
        with SpoutHarness(CounterSpout(), conf={"squall.test.limit": 2}) as spout:
            first = spout.next().emits[0]
            self.assertEqual((first.values, first.id), ([0], 0))
            self.assertEqual(spout.next().emits[0].id, 1)
            self.assertEqual(spout.next().emits, [])  # limit reached
            spout.fail(0)
            self.assertEqual(spout.next().values(), [[0]])
            spout.ack(0)
            self.assertEqual(spout.values(), [[0], [1], [0]])

    def test_activate_and_deactivate(self):
        with SpoutHarness(CounterSpout()) as spout:
            self.assertEqual([l.msg for l in spout.activate().logs], ["activated"])
            self.assertEqual([l.msg for l in spout.deactivate().logs], ["deactivated"])

    def test_a_crash_raises(self):
        class Broken(storm.Spout):
            def nextTuple(self):
                raise RuntimeError("no more")

        spout = SpoutHarness(Broken())
        self.addCleanup(spout.close)
        stderr = sys.stderr
        sys.stderr = open(os.devnull, "w")
        self.addCleanup(lambda: (sys.stderr.close(), setattr(sys, "stderr", stderr)))
        with self.assertRaises(ComponentCrashed) as cm:
            spout.next()
        self.assertIsInstance(cm.exception.__cause__, RuntimeError)


if __name__ == "__main__":
    unittest.main()
