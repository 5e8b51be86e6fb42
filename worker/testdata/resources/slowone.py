"""Test bolt: acks every tuple; the component's first task sleeps a
millisecond first, a slow sibling for load-aware shuffle to avoid
(BenchmarkLoadAwareShuffle)."""
import time

import storm


class SlowOne(storm.BasicBolt):
    def initialize(self, conf, context):
        mine = sorted(int(task) for task, component in context["task->component"].items()
                      if component == context["componentid"])
        self.slow = context["taskid"] == mine[0]

    def process(self, tup):
        if self.slow:
            time.sleep(0.001)


SlowOne().run()
