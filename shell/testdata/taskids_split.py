"""A split bolt that speaks the multilang protocol by hand, the way Storm's
own storm.py and storm.rb do: after every emit it waits for the host's
reply with the task ids, keeping any tuple that arrives first for later.
It stands in for Storm's adapters in BenchmarkTaskIDsChild (package shell);
it needs nothing but Python's standard library.
"""

import json
import os
import sys
from collections import deque


def read():
    lines = []
    while True:
        line = sys.stdin.readline()
        if not line:
            sys.exit(0)
        if line == "end\n":
            return json.loads("".join(lines))
        lines.append(line)


def send(msg):
    sys.stdout.write(json.dumps(msg) + "\nend\n")
    sys.stdout.flush()


def main():
    handshake = read()
    pid = os.getpid()
    send({"pid": pid})
    open(os.path.join(handshake["pidDir"], str(pid)), "w").close()
    early = deque()  # tuples read while waiting for task ids
    while True:
        msg = early.popleft() if early else read()
        if isinstance(msg, list):
            continue
        if msg.get("stream") == "__heartbeat":
            send({"command": "sync"})
            continue
        for word in msg["tuple"][0].split(" "):
            send({"command": "emit", "anchors": [msg["id"]], "tuple": [word]})
            while True:
                reply = read()
                if isinstance(reply, list):
                    break
                early.append(reply)
        send({"command": "ack", "id": msg["id"]})


if __name__ == "__main__":
    main()
