"""Enrichment bolt: takes a Kafka record's tuple [topic, partition, offset,
key, value] from squall.KafkaSpout and emits [key, message] for
squall.KafkaBolt, the message being the sentence enriched as JSON."""
import json

import storm


class Enrich(storm.Bolt):
    def process(self, tup):
        topic, partition, offset, key, sentence = tup.values
        words = sentence.split()
        message = {
            "sentence": sentence,
            "words": len(words),
            "longest": max(words, key=len) if words else "",
            "upper": sentence.upper(),
            "source": "%s/%d@%d" % (topic, partition, offset),
        }
        storm.emit([key, json.dumps(message, sort_keys=True)], anchors=[tup])
        storm.ack(tup)


Enrich().run()
