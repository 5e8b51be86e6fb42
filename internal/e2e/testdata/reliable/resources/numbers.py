"""A paced reliable spout over a durable source: the numbers 0..N-1, with
the acked ones recorded in e2e.state.dir, so that a restarted spout (its
worker killed or moved) sends again exactly what was not acked yet."""
import os
import time

import storm


class Numbers(storm.Spout):
    def initialize(self, conf, context):
        self.total = int(conf["e2e.messages"])
        self.gap = 1.0 / float(conf["e2e.per.second"])
        path = os.path.join(conf["e2e.state.dir"], "acked.txt")
        self.acked = set()
        if os.path.exists(path):
            with open(path) as f:
                self.acked = {int(line) for line in f if line.strip()}
        self.log = open(path, "a")
        self.todo = [n for n in range(self.total) if n not in self.acked]
        self.pending = set()
        self.replay = []
        self.last = 0.0
        storm.logInfo("e2e spout started with %d of %d messages acked" % (len(self.acked), self.total))

    def nextTuple(self):
        if self.replay:
            n = self.replay.pop(0)
        elif self.todo and time.time() - self.last >= self.gap:
            n = self.todo.pop(0)
            self.last = time.time()
        else:
            return
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
            storm.logInfo("e2e all %d messages acked" % self.total)

    def fail(self, n):
        if n in self.pending:
            self.replay.append(n)


Numbers().run()
