"""Tests of storm.metrics, the user metric helpers."""

import unittest

from test_inprocess import AdapterTestCase, FakeHost

import storm


class MetricsTest(AdapterTestCase):
    def test_params_shapes(self):
        host = FakeHost([])
        self.connect(host)
        storm.metrics.counter("seen")
        storm.metrics.counter("seen", 3)
        storm.metrics.gauge("depth", 2.5)
        storm.metrics.histogram("ms", 0.42)
        storm.metrics.histogram("ms", [1, 2.5])
        storm._writer.flush()
        self.assertEqual(host.messages(), [
            {"command": "metrics", "name": "seen", "params": {"type": "counter", "value": 1}},
            {"command": "metrics", "name": "seen", "params": {"type": "counter", "value": 3}},
            {"command": "metrics", "name": "depth", "params": {"type": "gauge", "value": 2.5}},
            {"command": "metrics", "name": "ms", "params": {"type": "histogram", "value": 0.42}},
            {"command": "metrics", "name": "ms", "params": {"type": "histogram", "values": [1, 2.5]}},
        ])

    def test_bad_values_raise(self):
        host = FakeHost([])
        self.connect(host)
        for call in [
            lambda: storm.metrics.counter("", 1),
            lambda: storm.metrics.counter(None, 1),
            lambda: storm.metrics.counter("c", -1),
            lambda: storm.metrics.counter("c", 1.5),
            lambda: storm.metrics.counter("c", True),
            lambda: storm.metrics.gauge("g", float("nan")),
            lambda: storm.metrics.gauge("g", "3"),
            lambda: storm.metrics.histogram("h", -0.1),
            lambda: storm.metrics.histogram("h", []),
            lambda: storm.metrics.histogram("h", [1] * 1001),
            lambda: storm.metrics.histogram("h", [1, -1]),
        ]:
            with self.assertRaises(ValueError):
                call()
        storm._writer.flush()
        self.assertEqual(host.messages(), [])


if __name__ == "__main__":
    unittest.main()
