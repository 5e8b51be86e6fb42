'use strict';

// Splits each sentence into words.
const { BasicBolt } = require('storm');

class SplitSentence extends BasicBolt {
  process(tup, done) {
    for (const word of tup.values[0].split(/\s+/)) {
      if (word !== '') this.emit({ tuple: [word] });
    }
    done();
  }
}

new SplitSentence().run();
