"""Counts words in the task's state; the host commits it at each
checkpoint and acks the input once its counts are committed."""
import storm


class Count(storm.StatefulBolt):
    def process(self, tup):
        word = tup.values[0]
        self.state[word] = self.state.get(word, 0) + 1


Count().run()
