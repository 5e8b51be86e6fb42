"""Test stateful bolt: counts words in its task's host-held state through
squall's state extension (docs/multilang.md, "State"), spoken directly:
reads through state_get (cached), writes with state_put before the emit and
ack, empties its cache on state_reset. With CRASH_AFTER set, a child dies
(os._exit, as a kill would) after that many tuples, once per marker file
CRASH_MARKER.1, CRASH_MARKER.2, ... up to CRASHES."""
import os
import sys

import storm

CRASH_AFTER = int(os.environ.get("CRASH_AFTER", "0"))
CRASHES = int(os.environ.get("CRASHES", "0"))
MARKER = os.environ.get("CRASH_MARKER", "")

cache = {}


def state_get(word):
    if word in cache:
        return cache[word]
    storm.sendMsgToParent({"command": "state_get", "keys": [word]})
    while True:
        msg = storm.readMsg()
        if isinstance(msg, list):
            storm.pending_taskids.append(msg)
        elif msg.get("command") == "state_values":
            value = dict((k, v) for k, v in msg["items"]).get(word, 0)
            cache[word] = value
            return value
        else:
            storm.pending_commands.append(msg)


def maybe_crash(seen):
    if not (CRASH_AFTER and MARKER) or seen != CRASH_AFTER:
        return
    for i in range(1, CRASHES + 1):
        marker = "%s.%d" % (MARKER, i)
        if not os.path.exists(marker):
            open(marker, "w").close()
            sys.stderr.write("statecount: crashing on purpose (%d)\n" % i)
            sys.stderr.flush()
            os._exit(9)


def main():
    storm.initComponent()
    seen = 0
    while True:
        msg = storm.readCommand()
        if msg.get("command") == "state_reset":
            cache.clear()
            continue
        if msg["stream"] == "__heartbeat":
            storm.sync()
            storm._maybe_flush()
            continue
        seen += 1
        maybe_crash(seen)
        word = msg["tuple"][0]
        n = state_get(word) + 1
        cache[word] = n
        storm.sendMsgToParent({"command": "state_put", "items": [[word, n]]})
        storm.sendMsgToParent({"command": "emit", "tuple": [word, n], "anchors": [msg["id"]]})
        storm.sendMsgToParent({"command": "ack", "id": msg["id"]})
        storm._maybe_flush()


main()
