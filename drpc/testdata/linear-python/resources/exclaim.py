"""Answers [request, args] with [request, args + "!"]."""
import storm


class Exclaim(storm.BasicBolt):
    def process(self, tup):
        request, args = tup.values
        storm.emit([request, args + "!"])


Exclaim().run()
