"""Adds up the partial counts of a request: its reach."""
import storm


class CountAggregator(storm.BatchBolt):
    def process(self, tup):
        request, count = tup.values
        b = self.batch(request)
        b["reach"] = b.get("reach", 0) + count

    def finish_batch(self, request):
        storm.emit([request, self.batch(request).get("reach", 0)])


CountAggregator().run()
