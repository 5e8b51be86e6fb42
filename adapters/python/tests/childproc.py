"""Helpers for the adapter's tests: a component child process and message framing."""

import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

ADAPTER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMPONENTS_DIR = os.path.join(ADAPTER_DIR, "components")
# Generous: interpreters start slowly on a busy machine. Only waits for
# what must come use it.
TIMEOUT = 60.0

try:
    import msgpack
except ImportError:  # the MessagePack tests are skipped, or fail if required
    msgpack = None

# The Go test that runs this suite sets SQUALL_REQUIRE_MSGPACK=1 in CI, where
# the MessagePack tests must not be skipped.
REQUIRE_MSGPACK = os.environ.get("SQUALL_REQUIRE_MSGPACK") == "1"


def needs_msgpack(cls_or_fn):
    """Skips a test without the msgpack module, unless it is required."""
    if msgpack is None and not REQUIRE_MSGPACK:
        import unittest
        return unittest.skip("the msgpack module is not importable")(cls_or_fn)
    return cls_or_fn


def frame(msg):
    """Frames msg (a JSON-able value, or bytes already encoded) as the host does."""
    if not isinstance(msg, bytes):
        msg = json.dumps(msg).encode("utf-8")
    return msg + b"\nend\n"


def parse_output(data):
    """Splits a child's output into decoded messages."""
    text = data.decode("utf-8")
    if not text:
        return []
    assert text.endswith("\nend\n"), "output does not end with an end line: %r" % text[-40:]
    return [json.loads(part) for part in text[:-len("\nend\n")].split("\nend\n")]


class Child(object):
    """A component script run with python against this adapter.

    script is the source of the component (dedented) or the path of a file.
    """

    def __init__(self, test, script, env=None, args=(), serializer="json"):
        self.test = test
        self.serializer = serializer
        if serializer == "msgpack":
            self._unpacker = msgpack.Unpacker(raw=False)
        self.dir = tempfile.mkdtemp(prefix="storm-test-")
        test.addCleanup(shutil.rmtree, self.dir, True)
        self.pid_dir = os.path.join(self.dir, "pids")
        os.mkdir(self.pid_dir)
        if os.path.exists(script):
            path = script
        else:
            path = os.path.join(self.dir, "component.py")
            with open(path, "w") as f:
                f.write(textwrap.dedent(script))
        child_env = dict(os.environ)
        # The adapter first; then whatever made msgpack importable here.
        child_env["PYTHONPATH"] = os.pathsep.join(p for p in (ADAPTER_DIR, os.environ.get("PYTHONPATH")) if p)
        child_env["PYTHONDONTWRITEBYTECODE"] = "1"
        child_env.update(env or {})
        self.proc = subprocess.Popen([sys.executable, path] + list(args), cwd=self.dir, env=child_env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        test.addCleanup(self._cleanup)
        self._buf = b""
        self.stderr = b""

    def _cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass

    def send(self, *msgs):
        if self.serializer == "msgpack":
            data = b"".join(m if isinstance(m, bytes) else msgpack.packb(m, use_bin_type=True) for m in msgs)
        else:
            data = b"".join(frame(m) for m in msgs)
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def handshake(self, conf=None, context=None):
        """Does the handshake and checks the pid reply and the pid file."""
        self.send({"pidDir": self.pid_dir, "conf": conf or {}, "context": context or {"taskid": 1}})
        reply = self.recv()
        self.test.assertEqual(reply, {"pid": self.proc.pid})
        pid_file = os.path.join(self.pid_dir, str(self.proc.pid))
        self.test.assertTrue(os.path.isfile(pid_file), "no pid file %s" % pid_file)
        self.test.assertEqual(os.path.getsize(pid_file), 0)
        return reply

    def recv(self, timeout=TIMEOUT):
        """Returns the child's next message, failing the test after timeout."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while True:
            if self.serializer == "msgpack":
                self._unpacker.feed(self._buf)
                self._buf = b""
                try:
                    return next(self._unpacker)
                except StopIteration:
                    pass
            else:
                i = self._buf.find(b"\nend\n")
                if i >= 0:
                    msg, self._buf = self._buf[:i], self._buf[i + 5:]
                    return json.loads(msg)
            left = deadline - time.monotonic()
            if left <= 0:
                self.test.fail("no message from the child within %.1fs; buffered %r" % (timeout, self._buf))
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    self.test.fail("child's output ended while a message was expected; buffered %r, stderr %r"
                                   % (self._buf, self.finish(expect_output=None)[1]))
                self._buf += chunk

    def recv_n(self, n):
        return [self.recv() for _ in range(n)]

    def close_stdin(self):
        self.proc.stdin.close()
        self.proc.stdin = None

    def finish(self, expect_output=b""):
        """Closes stdin, waits for the exit and returns (status, stderr text).

        Unless expect_output is None, the rest of the child's output must equal it.
        """
        try:
            out, err = self.proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            self.test.fail("child did not exit within %.1fs; stderr %r" % (TIMEOUT, err))
        rest = self._buf + out
        self._buf = b""
        if expect_output is not None:
            self.test.assertEqual(rest, expect_output, "unexpected output from the child")
        return self.proc.returncode, err.decode("utf-8", "replace")
