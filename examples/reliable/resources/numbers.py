"""A reliable spout: emits the numbers 0..N-1, each with its own message id,
keeps every message until it is acked and sends it again when it fails.
Logs once every message has been acked."""
import storm


class Numbers(storm.Spout):
    def initialize(self, conf, context):
        self.total = int(conf.get("reliable.messages", 1000))
        self.next = 0
        self.pending = {}   # message id -> values, until acked
        self.replay = []    # ids that failed, to send again first
        self.acked = 0
        self.failures = 0

    def nextTuple(self):
        if self.replay:
            msg_id = self.replay.pop(0)
        elif self.next < self.total:
            msg_id = self.next
            self.pending[msg_id] = [msg_id]
            self.next += 1
        else:
            return  # nothing to send; the host backs off
        storm.emit(self.pending[msg_id], id=msg_id)

    def ack(self, msg_id):
        if self.pending.pop(msg_id, None) is not None:
            self.acked += 1
            if self.acked == self.total:
                storm.logInfo("all %d messages acked after %d failures"
                              % (self.total, self.failures))

    def fail(self, msg_id):
        self.failures += 1
        if msg_id in self.pending:
            self.replay.append(msg_id)


Numbers().run()
