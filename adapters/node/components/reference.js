'use strict';

// Reference component reference: a Bolt exercising every bolt command by
// tuple[0]. See multilang/testdata/transcripts/README.md.

const { Bolt } = require('storm');

const LOGGERS = ['logTrace', 'logDebug', 'logInfo', 'logWarn', 'logError'];

class Reference extends Bolt {
  // Async: the adapter holds later input until the promise settles, so a
  // tuple waiting for its task ids is finished before the next one starts.
  async process(tup) {
    if (tup.isTickTuple()) {
      this.ack(tup);
      return;
    }
    const [op, ...args] = tup.values;
    const anchorTupleId = tup.id;
    switch (op) {
      case 'emit':
        this.emit({ tuple: [args[0]], anchorTupleId });
        break;
      case 'ids': {
        const taskIds = await this.emit({ tuple: [args[0]], anchorTupleId, needTaskIds: true });
        this.emit({ tuple: [taskIds], anchorTupleId });
        break;
      }
      case 'direct':
        this.emitDirect({ tuple: [args[1]], task: args[0], stream: 'direct', anchorTupleId });
        break;
      case 'stream':
        this.emit({ tuple: [args[1]], stream: args[0], anchorTupleId });
        break;
      case 'fail':
        this.fail(tup);
        return;
      case 'log':
        this[LOGGERS[args[0]]](args[1]);
        break;
      case 'error':
        this.reportError(args[0]);
        break;
      case 'metric':
        this.rpcMetrics(args[0], args[1]);
        break;
      case 'print':
        console.log(args[0]);
        break;
      default:
        throw new Error(`unknown operation ${JSON.stringify(op)}`);
    }
    this.ack(tup);
  }
}

if (require.main === module) new Reference().run();

module.exports = Reference;
