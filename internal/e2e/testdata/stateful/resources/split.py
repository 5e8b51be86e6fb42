"""Splits each sentence into words: deterministic, as exactly-once state
needs between a spout and the first stateful bolt."""
import storm


class Split(storm.BasicBolt):
    def process(self, tup):
        for word in tup.values[0].split():
            storm.emit([word])


Split().run()
