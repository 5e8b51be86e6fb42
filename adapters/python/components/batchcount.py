"""Reference component batchcount: a Bolt with the finish hook of a DRPC chain.

See multilang/testdata/transcripts/README.md.
"""

import storm


class BatchCount(storm.Bolt):
    def initialize(self, conf, context):
        self.counts = {}

    def process(self, tup):
        if not tup.is_tick_tuple():
            request = tup.values[0]
            self.counts[request] = self.counts.get(request, 0) + 1
        storm.ack(tup)

    def finish_batch(self, request):
        if request == "boom":
            raise ValueError("boom: the finish hook raised")
        storm.emit([request, self.counts.pop(request, 0)])


BatchCount().run()
