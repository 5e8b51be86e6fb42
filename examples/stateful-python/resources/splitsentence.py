"""Splits each sentence into words.

Run by squall (or Apache Storm) as a shell bolt; `import storm` finds
squall's adapter without copying it here.
"""
import storm


class SplitSentence(storm.BasicBolt):
    def process(self, tup):
        for word in tup.values[0].split():
            storm.emit([word])


SplitSentence().run()
