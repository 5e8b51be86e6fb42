"""A paced reliable spout over a durable source: the ids 0..N-1 at
e2e.per.second (counted from the spout's start, so it catches up after a
pause), the acked ones recorded in e2e.state.dir/acked.txt. A spout
restarted anywhere reads that file and sends again exactly what was not
acked yet; failed ids are sent again at once."""
import collections
import os
import time

import storm


class Ids(storm.Spout):
    def initialize(self, conf, context):
        self.total = int(conf["e2e.messages"])
        self.rate = float(conf["e2e.per.second"])
        path = os.path.join(conf["e2e.state.dir"], "acked.txt")
        self.acked = set()
        if os.path.exists(path):
            with open(path) as f:
                self.acked = {int(line) for line in f if line.strip()}
        self.log = open(path, "a")
        self.next = 0
        self.pending = set()
        self.replay = collections.deque()
        self.started = time.time()
        self.sent = 0
        storm.logInfo("e2e spout started with %d of %d ids acked" % (len(self.acked), self.total))

    def nextTuple(self):
        if self.replay:
            n = self.replay.popleft()
        else:
            if self.sent >= (time.time() - self.started) * self.rate:
                return
            while self.next < self.total and self.next in self.acked:
                self.next += 1
            if self.next >= self.total:
                return
            n = self.next
            self.next += 1
            self.sent += 1
        self.pending.add(n)
        storm.emit([n], id=n)

    def ack(self, n):
        if n in self.acked:
            storm.logWarn("e2e duplicate ack %d" % n)
            return
        self.pending.discard(n)
        self.acked.add(n)
        self.log.write("%d\n" % n)
        self.log.flush()
        if len(self.acked) == self.total:
            storm.logInfo("e2e all %d ids acked" % self.total)

    def fail(self, n):
        if n in self.pending:
            self.replay.append(n)


Ids().run()
