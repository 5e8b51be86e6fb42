"""A reliable spout of sentences: sentences stateful.from to stateful.to
(exclusive) of sentences.txt, cycled, message id = sentence number,
replayed on fail. Logs once every one is acked: a stateful topology acks a
tuple only once the checkpoint holding its counts is committed."""
import storm


class Sentences(storm.Spout):
    def initialize(self, conf, context):
        with open("sentences.txt") as f:
            lines = [l.strip() for l in f if l.strip()]
        first = int(conf.get("stateful.from", 0))
        last = int(conf.get("stateful.to", 200))
        self.pending = {i: lines[i % len(lines)] for i in range(first, last)}
        self.order = list(range(first, last))
        self.total = len(self.pending)

    def nextTuple(self):
        if self.order:
            i = self.order.pop(0)
            storm.emit([self.pending[i]], id=i)

    def ack(self, i):
        if self.pending.pop(i, None) is not None and not self.pending:
            storm.logInfo("all %d sentences acked" % self.total)

    def fail(self, i):
        if i in self.pending:
            self.order.append(i)


Sentences().run()
