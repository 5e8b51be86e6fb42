"""A reliable spout of e2e.messages known sentences, message id = sentence
number, replayed on fail. Acked numbers are appended to
e2e.state.dir/acked.txt; a spout started again reads it and sends only the
others. Sentence n has 1 + n % 5 words, word k being w((n*7919 + k*104729)
% 211): stateful_test.go computes the same."""
import collections
import os

import storm


def sentence(n):
    return " ".join("w%d" % ((n * 7919 + k * 104729) % 211) for k in range(1 + n % 5))


class Sentences(storm.Spout):
    def initialize(self, conf, context):
        self.total = int(conf["e2e.messages"])
        path = os.path.join(conf["e2e.state.dir"], "acked.txt")
        self.acked = set()
        if os.path.exists(path):
            with open(path) as f:
                self.acked = {int(line) for line in f if line.strip()}
        self.log = open(path, "a")
        self.todo = collections.deque(n for n in range(self.total) if n not in self.acked)
        self.pending = set()
        storm.logInfo("e2e spout started with %d of %d sentences acked" % (len(self.acked), self.total))

    def nextTuple(self):
        if self.todo:
            n = self.todo.popleft()
            self.pending.add(n)
            storm.emit([sentence(n)], id=n)

    def ack(self, n):
        if n not in self.pending:
            return  # a replay's earlier tree, already counted
        self.pending.discard(n)
        self.acked.add(n)
        self.log.write("%d\n" % n)
        self.log.flush()
        if len(self.acked) == self.total:
            storm.logInfo("e2e all %d sentences acked" % self.total)

    def fail(self, n):
        if n in self.pending:
            self.pending.discard(n)
            self.todo.append(n)


Sentences().run()
