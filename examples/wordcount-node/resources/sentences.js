'use strict';

// A reliable spout: emits each line of sentences.txt once, with its line
// number as message id, and again when it fails. `require('storm')` finds
// squall's Node adapter without copying it here.
const fs = require('fs');
const { Spout } = require('storm');

class Sentences extends Spout {
  initialize(conf, context, done) {
    this.lines = fs.readFileSync('sentences.txt', 'utf8').split('\n').filter((l) => l !== '');
    this.next = 0;
    this.replay = [];
    done();
  }

  nextTuple(done) {
    let id;
    if (this.replay.length > 0) {
      id = this.replay.shift();
    } else if (this.next < this.lines.length) {
      id = this.next++;
    } else {
      done(); // nothing left: the host backs off by itself
      return;
    }
    this.emit({ tuple: [this.lines[id]], id });
    done();
  }

  ack(id, done) {
    done();
  }

  fail(id, done) {
    this.replay.push(id);
    done();
  }
}

new Sentences().run();
