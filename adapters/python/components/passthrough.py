"""Reference component passthrough: a Bolt that emits every tuple unchanged, anchored, and acks it.

See multilang/testdata/transcripts/README.md.
"""

import storm


class Passthrough(storm.Bolt):
    def process(self, tup):
        storm.emit(tup.values, anchors=[tup])
        storm.ack(tup)


if __name__ == "__main__":
    Passthrough().run()
