"""A stateful bolt that speaks the multilang protocol and squall's state
extension by hand (JSON framing), for the shell host's state tests. It
needs nothing but Python's standard library.

Input tuples say what to do (tuple[0]); every one is acked when done:
  ["count", word]      get word, put word = n + 1, emit [[word, n + 1]]
  ["get", [k, ...]]    emit [the state_values items]
  ["getparts", [k...]] get them, emit [[items, replies, largest reply's bytes]]
  ["put", [[k, v]...]] put the items
  ["delete", [k...]]   delete the keys
  ["items"]            stream the state, emit [[items, replies, sum of
                       the integer values, most items in one reply]]
  ["items", path]      the same, reading the replies only once path exists
  ["send", msg]        send msg as it is (a bad command, say)
  ["hold"]             acked only with the next tuple
  ["crash"]            exit with status 3
Commands: state_reset logs "reset <txid>". At start the child logs
"squall <the handshake's squall context>" and, when the configuration has
squall.test.boot, reads the key "boot" first and logs "boot=<its items>".
"""

import json
import os
import sys
import time
from collections import deque


last_size = 0  # the bytes of the last message read


def read():
    global last_size
    lines = []
    while True:
        line = sys.stdin.readline()
        if not line:
            sys.exit(0)
        if line == "end\n":
            text = "".join(lines)
            last_size = len(text.encode("utf-8"))
            return json.loads(text)
        lines.append(line)


def send(msg):
    sys.stdout.write(json.dumps(msg) + "\nend\n")
    sys.stdout.flush()


def log(text):
    send({"command": "log", "msg": text, "level": 2})


early = deque()  # messages read while waiting for a reply


def reply(command):
    """Reads until the reply named command, keeping the rest for later."""
    while True:
        msg = read()
        if isinstance(msg, dict) and msg.get("command") == command:
            return msg
        early.append(msg)


parts = []  # the sizes of the last state_get's replies


def get(keys):
    """Reads keys: the reply's parts until one without "more"."""
    send({"command": "state_get", "keys": keys})
    items = []
    del parts[:]
    while True:
        part = reply("state_values")
        parts.append(last_size)
        items.extend(part["items"])
        if not part.get("more"):
            return items


def main():
    handshake = read()
    pid = os.getpid()
    send({"pid": pid})
    open(os.path.join(handshake["pidDir"], str(pid)), "w").close()
    log("squall " + json.dumps(handshake["context"].get("squall"), sort_keys=True))
    if handshake["conf"].get("squall.test.boot"):
        log("asking boot")
        log("boot=" + json.dumps(get(["boot"])))
    held = None
    while True:
        msg = early.popleft() if early else read()
        if isinstance(msg, list):
            continue
        if msg.get("command") == "state_reset":
            log("reset %d" % msg["txid"])
            continue
        if msg.get("stream") == "__heartbeat":
            send({"command": "sync"})
            continue
        op, args = msg["tuple"][0], msg["tuple"][1:]
        anchor = [msg["id"]]
        if op == "count":
            items = get([args[0]])
            n = items[0][1] + 1 if items else 1
            send({"command": "state_put", "items": [[args[0], n]]})
            send({"command": "emit", "tuple": [[args[0], n]], "anchors": anchor, "need_task_ids": False})
        elif op == "get":
            items = get(args[0])
            send({"command": "emit", "tuple": [items], "anchors": anchor, "need_task_ids": False})
        elif op == "getparts":
            items = get(args[0])
            send({"command": "emit", "tuple": [[len(items), len(parts), max(parts)]], "anchors": anchor, "need_task_ids": False})
        elif op == "put":
            send({"command": "state_put", "items": args[0]})
        elif op == "delete":
            send({"command": "state_delete", "keys": args[0]})
        elif op == "items":
            send({"command": "state_items"})
            while args and args[0] and not os.path.exists(args[0]):
                time.sleep(0.01)
            count = replies = total = largest = 0
            while True:
                part = reply("state_items")
                replies += 1
                count += len(part["items"])
                largest = max(largest, len(part["items"]))
                total += sum(v for _, v in part["items"] if isinstance(v, int))
                if not part.get("more"):
                    break
            send({"command": "emit", "tuple": [[count, replies, total, largest]], "anchors": anchor, "need_task_ids": False})
        elif op == "send":
            send(args[0])
        elif op == "hold":
            held = msg["id"]
            continue
        elif op == "crash":
            sys.exit(3)
        if held is not None:
            send({"command": "ack", "id": held})
            held = None
        send({"command": "ack", "id": msg["id"]})


if __name__ == "__main__":
    main()
