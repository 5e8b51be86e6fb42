"""Emits [request, follower] for every follower of a tweeter."""
import json

import storm

with open("followers.json") as f:
    FOLLOWERS = json.load(f)


class Followers(storm.BasicBolt):
    def process(self, tup):
        request, tweeter = tup.values
        for follower in FOLLOWERS.get(tweeter, []):
            storm.emit([request, follower])


Followers().run()
