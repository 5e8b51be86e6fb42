"""The three most frequent words over the window, kept up to date from each
window's new and expired sentences, emitted with the window's end."""
import collections

import storm


class TopWords(storm.WindowedBolt):
    def initialize(self, conf, context):
        self.counts = collections.Counter()

    def process_window(self, window):
        for t in window.new:
            self.counts.update(t.values[0].split())
        for t in window.expired:
            self.counts.subtract(t.values[0].split())
        live = [(w, n) for w, n in self.counts.items() if n > 0]
        top = sorted(live, key=lambda wn: (-wn[1], wn[0]))[:3]
        storm.emit([window.end, " ".join("%s=%d" % wn for wn in top)])


TopWords().run()
