"""statecount's count without state, for the benchmarks: a BasicBolt that
counts ["count", word] tuples in a dict and emits [word, n]."""

import storm


class DictCount(storm.BasicBolt):
    def initialize(self, conf, context):
        self.counts = {}

    def process(self, tup):
        word = tup.values[1]
        n = self.counts.get(word, 0) + 1
        self.counts[word] = n
        storm.emit([word, n])


if __name__ == "__main__":
    DictCount().run()
