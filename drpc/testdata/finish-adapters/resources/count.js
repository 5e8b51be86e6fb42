'use strict';

// Counts the tuples of a request and answers the count in finishBatch.
const { Bolt } = require('storm');

class Count extends Bolt {
  constructor() {
    super();
    this.counts = new Map();
  }

  process(tup, done) {
    const id = tup.values[0];
    this.counts.set(id, (this.counts.get(id) || 0) + 1);
    this.ack(tup);
    done();
  }

  finishBatch(requestId, done) {
    this.emit({ tuple: [requestId, `node:${this.counts.get(requestId) || 0}`] });
    this.counts.delete(requestId);
    done();
  }
}

new Count().run();
