'use strict';

// Reference component passthrough: a Bolt that emits every tuple unchanged,
// anchored, and acks it. See multilang/testdata/transcripts/README.md.

const { Bolt } = require('storm');

class Passthrough extends Bolt {
  process(tup) {
    this.emit({ tuple: tup.values, anchorTupleId: tup.id });
    this.ack(tup);
  }
}

if (require.main === module) new Passthrough().run();

module.exports = Passthrough;
