'use strict';

// Reference component statecount: a StatefulBolt that counts words in its
// state. See multilang/testdata/transcripts/README.md.

const { StatefulBolt } = require('storm');

class StateCount extends StatefulBolt {
  async process(tup) {
    const [op, arg] = tup.values;
    if (op === 'count') {
      const n = (await this.state.get(arg, 0)) + 1;
      this.state.set(arg, n);
      this.emit({ tuple: [arg, n] });
    } else if (op === 'delete') {
      this.state.delete(arg);
    } else if (op === 'prefetch') {
      await this.state.prefetch(arg);
    } else if (op === 'items') {
      const items = [];
      for await (const item of this.state.items()) items.push(item);
      this.emit({ tuple: ['items', items] });
    }
  }
}

if (require.main === module) new StateCount().run();

module.exports = StateCount;
