'use strict';

// Reference component batchcount: a Bolt with the finish hook of a DRPC
// chain. See multilang/testdata/transcripts/README.md.

const { Bolt } = require('storm');

class BatchCount extends Bolt {
  initialize(conf, context, done) {
    this.counts = new Map();
    done();
  }

  process(tup, done) {
    if (!tup.isTickTuple()) {
      const request = tup.values[0];
      this.counts.set(request, (this.counts.get(request) || 0) + 1);
    }
    this.ack(tup);
    done();
  }

  finishBatch(request, done) {
    if (request === 'boom') {
      done(new Error('boom: the finish hook raised'));
      return;
    }
    const n = this.counts.get(request) || 0;
    this.counts.delete(request);
    this.emit({ tuple: [request, n] });
    done();
  }
}

new BatchCount().run();
