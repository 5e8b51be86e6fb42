"""A reliable spout of sentences with event times: sentence i of
sentences.txt (cycled to windowed.sentences sentences) at windowed.start.ms
+ i * windowed.step.ms. A last sentence far later moves the watermark past
every window, so that they all fire and their tuples are acked. Logs once
every sentence but that last one is acked."""
import storm


class TimedSentences(storm.Spout):
    def initialize(self, conf, context):
        with open("sentences.txt") as f:
            lines = [l.strip() for l in f if l.strip()]
        total = int(conf.get("windowed.sentences", 200))
        start = int(conf.get("windowed.start.ms", 1700000000000))
        step = int(conf.get("windowed.step.ms", 250))
        self.pending = {i: [lines[i % len(lines)], start + i * step] for i in range(total)}
        self.pending[total] = ["the end", start + total * step + 60000]
        self.total = total
        self.order = list(range(total + 1))
        self.acked = 0

    def nextTuple(self):
        if self.order:
            i = self.order.pop(0)
            storm.emit(self.pending[i], id=i)

    def ack(self, i):
        if self.pending.pop(i, None) is not None and i < self.total:
            self.acked += 1
            if self.acked == self.total:
                storm.logInfo("all %d sentences acked" % self.total)

    def fail(self, i):
        if i in self.pending:
            self.order.append(i)


TimedSentences().run()
