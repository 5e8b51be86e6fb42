"""Reference component reference: a Bolt exercising every bolt command by tuple[0].

See multilang/testdata/transcripts/README.md.
"""

import storm

LOGGERS = {
    0: storm.logTrace,
    1: storm.logDebug,
    2: storm.logInfo,
    3: storm.logWarn,
    4: storm.logError,
}


class Reference(storm.Bolt):
    def process(self, tup):
        if tup.is_tick_tuple():
            storm.ack(tup)
            return
        op, args = tup.values[0], tup.values[1:]
        if op == "emit":
            storm.emit([args[0]], anchors=[tup])
        elif op == "ids":
            task_ids = storm.emit([args[0]], anchors=[tup], need_task_ids=True)
            storm.emit([task_ids], anchors=[tup])
        elif op == "direct":
            storm.emitDirect(args[0], [args[1]], stream="direct", anchors=[tup])
        elif op == "stream":
            storm.emit([args[1]], stream=args[0], anchors=[tup])
        elif op == "fail":
            storm.fail(tup)
            return
        elif op == "log":
            LOGGERS[args[0]](args[1])
        elif op == "error":
            storm.reportError(args[0])
        elif op == "metric":
            storm.rpcMetrics(args[0], args[1])
        elif op == "print":
            print(args[0])
        else:
            raise ValueError("unknown operation %r" % (op,))
        storm.ack(tup)


if __name__ == "__main__":
    Reference().run()
