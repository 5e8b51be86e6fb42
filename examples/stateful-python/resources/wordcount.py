"""Counts words in the task's state. The host keeps the state, commits it
at each checkpoint and acks the input once its counts are committed; after
a restart (or a rollback) the counts are the last committed ones and the
input since is replayed."""
import storm


class WordCount(storm.StatefulBolt):
    def process(self, tup):
        word = tup.values[0]
        self.state[word] = self.state.get(word, 0) + 1
        storm.emit([word, self.state[word]])


WordCount().run()
