"""Reference component splitsentence: a BasicBolt that emits every word of a sentence.

See multilang/testdata/transcripts/README.md for the behaviour every adapter's
reference components share.
"""

import storm


class SplitSentence(storm.BasicBolt):
    def process(self, tup):
        if tup.is_tick_tuple():
            return
        sentence = tup.values[0]
        if sentence == "":
            raise ValueError("empty sentence")
        for word in sentence.split():
            storm.emit([word])


if __name__ == "__main__":
    SplitSentence().run()
