'use strict';

// Answers a DRPC request [request, args] with [request, args + '!'].
// "fail" is failed, so that a caller sees a failed request.
const { BasicBolt } = require('storm');

class Exclaim extends BasicBolt {
  process(tup, done) {
    const [request, args] = tup.values;
    if (args === 'fail') {
      done(new Error('asked to fail'));
      return;
    }
    this.emit({ tuple: [request, `${args}!`] });
    done();
  }
}

new Exclaim().run();
