'use strict';

// Reference component splitsentence: a BasicBolt that emits every word of a
// sentence. See multilang/testdata/transcripts/README.md.

const { BasicBolt } = require('storm');

class SplitSentence extends BasicBolt {
  process(tup, done) {
    if (tup.isTickTuple()) {
      done();
      return;
    }
    const sentence = tup.values[0];
    if (sentence === '') throw new Error('empty sentence');
    for (const word of sentence.split(' ')) this.emit({ tuple: [word] });
    done();
  }
}

if (require.main === module) new SplitSentence().run();

module.exports = SplitSentence;
