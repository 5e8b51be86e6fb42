"""Test bolt: splits sentences into words on the default stream and sends
[sentence, number of words] on the "lengths" stream; on a tick tuple it
emits ["tick"] on the "ticks" stream."""
import storm


class Split(storm.Bolt):
    def process(self, tup):
        if tup.is_tick_tuple():
            storm.emit(["tick"], stream="ticks", anchors=[tup])
            storm.ack(tup)
            return
        words = tup.values[0].split()
        for word in words:
            storm.emit([word], anchors=[tup])
        storm.emit([tup.values[0], len(words)], stream="lengths", anchors=[tup])
        storm.ack(tup)


Split().run()
