"""A bolt that fails a random fraction of its tuples (reliable.fail.rate)
and passes the others on, anchored."""
import random

import storm


class Flaky(storm.Bolt):
    def initialize(self, conf, context):
        self.rate = float(conf.get("reliable.fail.rate", 0.2))

    def process(self, tup):
        if random.random() < self.rate:
            storm.fail(tup)
            return
        storm.emit(tup.values, anchors=[tup])
        storm.ack(tup)


Flaky().run()
