"""Reference component counterspout: a reliable spout emitting 0, 1, 2, ... with replay.

See multilang/testdata/transcripts/README.md.
"""

from collections import deque

import storm


class CounterSpout(storm.Spout):
    def initialize(self, conf, context):
        self.limit = conf.get("squall.test.limit", 3)
        self.next_number = 0
        self.replay = deque()

    def nextTuple(self):
        if self.replay:
            n = self.replay.popleft()
        elif self.next_number < self.limit:
            n = self.next_number
            self.next_number += 1
        else:
            return
        storm.emit([n], id=n)

    def ack(self, id):
        pass

    def fail(self, id):
        self.replay.append(id)

    def activate(self):
        storm.logInfo("activated")

    def deactivate(self):
        storm.logInfo("deactivated")


if __name__ == "__main__":
    CounterSpout().run()
