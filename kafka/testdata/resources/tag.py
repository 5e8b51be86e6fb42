"""Test bolt: takes a Kafka record's tuple [topic, partition, offset, key,
value] and emits [key, VALUE, partition, offset], anchored, then acks."""
import storm


class Tag(storm.Bolt):
    def process(self, tup):
        topic, partition, offset, key, value = tup.values
        storm.emit([key, value.upper(), partition, offset], anchors=[tup])
        storm.ack(tup)


Tag().run()
