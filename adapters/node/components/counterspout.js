'use strict';

// Reference component counterspout: a reliable spout emitting 0, 1, 2, ...
// with replay. See multilang/testdata/transcripts/README.md.

const { Spout } = require('storm');

class CounterSpout extends Spout {
  initialize(conf, context, done) {
    this.limit = conf['squall.test.limit'] === undefined ? 3 : conf['squall.test.limit'];
    this.nextNumber = 0;
    this.replay = [];
    done();
  }

  nextTuple(done) {
    let n;
    if (this.replay.length > 0) {
      n = this.replay.shift();
    } else if (this.nextNumber < this.limit) {
      n = this.nextNumber++;
    } else {
      done();
      return;
    }
    this.emit({ tuple: [n], id: n });
    done();
  }

  ack(id, done) {
    done();
  }

  fail(id, done) {
    this.replay.push(id);
    done();
  }

  activate(done) {
    this.logInfo('activated');
    done();
  }

  deactivate(done) {
    this.logInfo('deactivated');
    done();
  }
}

if (require.main === module) new CounterSpout().run();

module.exports = CounterSpout;
