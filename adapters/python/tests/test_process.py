"""Tests of storm.py in a real child process: stdio handling, exit status, pid file."""

import os
import shutil
import tempfile
import unittest

from childproc import ADAPTER_DIR, COMPONENTS_DIR, Child, needs_msgpack


def tup(id, *values):
    return {"id": id, "comp": "source", "stream": "default", "task": 4, "tuple": list(values)}


PRINTER = """
    import os, subprocess, sys
    import storm

    class Printer(storm.Bolt):
        def process(self, t):
            op = t.values[0]
            if op == "print":
                print(*t.values[1:])
            elif op == "partial":
                print("no newline", end="")
            elif op == "fd":
                os.write(1, b"raw fd 1\\n")
                subprocess.run(["sh", "-c", "echo from a subprocess"], check=True)
                storm.log("fileno %d" % sys.stdout.fileno())
            elif op == "raise":
                raise RuntimeError("bolt broke")
            storm.ack(t)

    Printer().run()
"""


class ProcessTest(unittest.TestCase):
    def test_print_becomes_info_log(self):
        c = Child(self, PRINTER)
        c.handshake()
        c.send(tup("1", "print", "hello", 42))
        self.assertEqual(c.recv_n(2), [
            {"command": "log", "msg": "hello 42", "level": 2},
            {"command": "ack", "id": "1"},
        ])
        c.send(tup("2", "print", "two\nlines"))
        self.assertEqual(c.recv_n(3), [
            {"command": "log", "msg": "two", "level": 2},
            {"command": "log", "msg": "lines", "level": 2},
            {"command": "ack", "id": "2"},
        ])
        # A partial line is logged before the adapter waits for input.
        c.send(tup("3", "partial"))
        self.assertEqual(c.recv_n(2), [
            {"command": "ack", "id": "3"},
            {"command": "log", "msg": "no newline", "level": 2},
        ])
        status, stderr = c.finish()
        self.assertEqual((status, stderr), (0, ""))

    def test_raw_stdout_goes_to_stderr(self):
        c = Child(self, PRINTER)
        c.handshake()
        c.send(tup("1", "fd"))
        self.assertEqual(c.recv_n(2), [
            {"command": "log", "msg": "fileno 1", "level": 2},
            {"command": "ack", "id": "1"},
        ])
        status, stderr = c.finish()
        self.assertEqual(status, 0)
        self.assertIn("raw fd 1", stderr)
        self.assertIn("from a subprocess", stderr)

    def test_bolt_exception_exits_1_with_traceback(self):
        c = Child(self, PRINTER)
        c.handshake()
        c.send(tup("1", "raise"), tup("2", "print", "never"))
        err = c.recv()
        self.assertEqual(err["command"], "error")
        self.assertIn("RuntimeError: bolt broke", err["msg"])
        status, stderr = c.finish()
        self.assertEqual(status, 1)
        self.assertIn("RuntimeError: bolt broke", stderr)

    def test_eof_exits_cleanly(self):
        cases = {
            "before the handshake": [],
            "after the handshake": [{"pidDir": "/nonexistent", "conf": {}, "context": {}}],
        }
        for name, msgs in cases.items():
            with self.subTest(name):
                c = Child(self, os.path.join(COMPONENTS_DIR, "splitsentence.py"))
                c.send(*msgs)
                if msgs:
                    self.assertIn("pid", c.recv())
                    self.assertEqual(c.recv()["level"], 3)  # no pid file: a warning
                status, stderr = c.finish()
                self.assertEqual(status, 0)
                self.assertEqual(stderr, "")

    def test_eof_while_waiting_for_task_ids(self):
        c = Child(self, os.path.join(COMPONENTS_DIR, "reference.py"))
        c.handshake()
        c.send(tup("1", "ids", "v"))
        self.assertEqual(c.recv(), {"command": "emit", "anchors": ["1"], "tuple": ["v"]})
        status, stderr = c.finish()
        self.assertEqual((status, stderr), (0, ""))

    def test_host_that_stops_reading(self):
        c = Child(self, os.path.join(COMPONENTS_DIR, "passthrough.py"))
        c.handshake()
        c.proc.stdout.close()
        c.send(tup("1", "x"))
        status, stderr = c.finish(expect_output=None)
        self.assertEqual((status, stderr), (0, ""))

    def test_need_task_ids_environment(self):
        c = Child(self, """
            import storm
            class B(storm.Bolt):
                def process(self, t):
                    storm.emit(["got", storm.emit(["v"])])
                    storm.ack(t)
            B().run()
        """, env={"SQUALL_NEED_TASK_IDS": "1"})
        c.handshake()
        c.send(tup("1", "a"))
        self.assertEqual(c.recv(), {"command": "emit", "anchors": [], "tuple": ["v"]})
        c.send([6, 2])
        self.assertEqual(c.recv(), {"command": "emit", "anchors": [], "tuple": ["got", [6, 2]]})
        c.send([1])
        self.assertEqual(c.recv(), {"command": "ack", "id": "1"})
        self.assertEqual(c.finish()[0], 0)

    def test_msgpack_without_the_module_is_refused_plainly(self):
        # A module named msgpack that cannot be imported hides the real one.
        hide_dir = tempfile.mkdtemp(prefix="storm-test-")
        self.addCleanup(shutil.rmtree, hide_dir, True)
        hide = os.path.join(hide_dir, "msgpack.py")
        with open(hide, "w") as f:
            f.write("raise ImportError('No module named msgpack (hidden by the test)')\n")
        c = Child(self, os.path.join(COMPONENTS_DIR, "passthrough.py"),
                  env={"PYTHONPATH": os.path.dirname(hide) + os.pathsep + ADAPTER_DIR})
        c.proc.stdin.write(b"\x83\xa6pidDir\xa1/")
        c.proc.stdin.flush()
        status, stderr = c.finish()
        self.assertEqual(status, 1)
        self.assertIn("MessagePack", stderr)
        self.assertIn("pip install msgpack", stderr)
        self.assertNotIn("Traceback", stderr)

    @needs_msgpack
    def test_msgpack_host(self):
        c = Child(self, os.path.join(COMPONENTS_DIR, "reference.py"), serializer="msgpack")
        c.handshake()
        c.send(tup("1", "emit", b"\x00bytes\xff"), tup("2", "ids", 1.5))
        self.assertEqual(c.recv_n(2), [
            {"command": "emit", "anchors": ["1"], "tuple": [b"\x00bytes\xff"], "need_task_ids": False},
            {"command": "ack", "id": "1"},
        ])
        self.assertEqual(c.recv(), {"command": "emit", "anchors": ["2"], "tuple": [1.5]})
        c.send([3, 7])
        self.assertEqual(c.recv_n(2), [
            {"command": "emit", "anchors": ["2"], "tuple": [[3, 7]], "need_task_ids": False},
            {"command": "ack", "id": "2"},
        ])
        c.send(tup("3", "print", "hello"))
        self.assertEqual(c.recv_n(2), [{"command": "log", "msg": "hello", "level": 2},
                                       {"command": "ack", "id": "3"}])
        status, stderr = c.finish()
        self.assertEqual((status, stderr), (0, ""))

    def test_counterspout_replays_failures(self):
        c = Child(self, os.path.join(COMPONENTS_DIR, "counterspout.py"))
        c.handshake(conf={"squall.test.limit": 1})
        nxt = {"command": "next", "id": ""}
        c.send(nxt)
        self.assertEqual(c.recv_n(2), [{"command": "emit", "tuple": [0], "id": 0, "need_task_ids": False},
                                       {"command": "sync"}])
        c.send(nxt)
        self.assertEqual(c.recv(), {"command": "sync"})
        c.send({"command": "fail", "id": 0}, nxt)
        self.assertEqual(c.recv_n(3), [{"command": "sync"},
                                       {"command": "emit", "tuple": [0], "id": 0, "need_task_ids": False},
                                       {"command": "sync"}])
        self.assertEqual(c.finish()[0], 0)


if __name__ == "__main__":
    unittest.main()
