"""Emits [request, tweeter] for everyone who tweeted the request's URL."""
import json

import storm

with open("tweeters.json") as f:
    TWEETERS = json.load(f)


class Tweeters(storm.BasicBolt):
    def process(self, tup):
        request, url = tup.values
        for tweeter in TWEETERS.get(url, []):
            storm.emit([request, tweeter])


Tweeters().run()
