"""Test bolt: re-emits its input anchored and acks it, except that it fails
a random fraction of tuples (env FAIL_RATE) and, if CRASH_AFTER is set, the
first instance exits after that many tuples (a marker file keeps the
restarted child from crashing again)."""
import os
import random
import sys

import storm

FAIL_RATE = float(os.environ.get("FAIL_RATE", "0"))
CRASH_AFTER = int(os.environ.get("CRASH_AFTER", "0"))
MARKER = os.environ.get("CRASH_MARKER", "")


class Flaky(storm.Bolt):
    def initialize(self, conf, context):
        self.seen = 0

    def process(self, tup):
        self.seen += 1
        if CRASH_AFTER and self.seen == CRASH_AFTER and MARKER and not os.path.exists(MARKER):
            open(MARKER, "w").close()
            sys.stderr.write("flaky: crashing on purpose\n")
            sys.stderr.flush()
            os._exit(3)
        if random.random() < FAIL_RATE:
            storm.fail(tup)
            return
        storm.emit(tup.values, anchors=[tup])
        storm.ack(tup)


Flaky().run()
