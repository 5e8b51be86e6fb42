import random

import storm


class Flaky(storm.Bolt):
    def process(self, tup):
        if random.random() < 0.02:
            storm.fail(tup)
            return
        storm.emit(tup.values, anchors=[tup])
        storm.ack(tup)


Flaky().run()
