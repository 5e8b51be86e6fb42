"""Reference component statecount: a StatefulBolt that counts words in its state.

See multilang/testdata/transcripts/README.md for the behaviour every adapter's
reference components share.
"""

import storm


class StateCount(storm.StatefulBolt):
    def process(self, tup):
        op, arg = tup.values
        if op == "count":
            n = self.state.get(arg, 0) + 1
            self.state[arg] = n
            storm.emit([arg, n])
        elif op == "delete":
            del self.state[arg]
        elif op == "prefetch":
            self.state.prefetch(arg)
        elif op == "items":
            storm.emit(["items", [[k, v] for k, v in self.state.items()]])


if __name__ == "__main__":
    StateCount().run()
