"""Answers a DRPC request with its arguments and an exclamation mark.

It gets [args, return-info] from squall.DRPCSpout and emits [result,
return-info] for squall.ReturnResults, passing return-info through
untouched. It fails a request whose arguments are "fail".
"""

import storm


class ExclaimBolt(storm.Bolt):
    def process(self, tup):
        args, return_info = tup.values
        if args == "fail":
            storm.fail(tup)
            return
        storm.emit([args + "!", return_info], anchors=[tup])
        storm.ack(tup)


if __name__ == "__main__":
    ExclaimBolt().run()
