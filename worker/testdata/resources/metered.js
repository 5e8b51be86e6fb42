'use strict';

// Test bolt: metered.py in JavaScript.
const { BasicBolt, metrics } = require('storm');

class Metered extends BasicBolt {
  process(tup, done) {
    const n = tup.values[0].length;
    metrics.counter('seen', 2);
    metrics.histogram('length', n);
    metrics.gauge('last', n);
    done();
  }
}

new Metered().run();
