"""Counts the distinct followers of a request this task saw."""
import storm


class PartialUniquer(storm.BatchBolt):
    def process(self, tup):
        request, follower = tup.values
        self.batch(request).setdefault("seen", set()).add(follower)

    def finish_batch(self, request):
        storm.emit([request, len(self.batch(request).get("seen", ()))])


PartialUniquer().run()
