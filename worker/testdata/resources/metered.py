"""Test bolt: records, per tuple, the user metrics of the adapter's
helpers: a counter seen (+2), a histogram length (the sentence's length)
and a gauge last (the same), then acks."""
import storm


class Metered(storm.BasicBolt):
    def process(self, tup):
        n = len(tup.values[0])
        storm.metrics.counter("seen", 2)
        storm.metrics.histogram("length", n)
        storm.metrics.gauge("last", n)


Metered().run()
