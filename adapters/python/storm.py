# -*- coding: utf-8 -*-
"""squall's multilang adapter for Python.

A spout or bolt written in Python runs as a child process of a squall (or
Apache Storm) worker and talks to it over stdin/stdout with Storm's multilang
protocol. This module is API-compatible with Apache Storm's ``storm.py``:
scripts written for it run unchanged. A bolt looks like this::

    import storm

    class SplitSentence(storm.BasicBolt):
        def process(self, tup):
            for word in tup.values[0].split():
                storm.emit([word])

    SplitSentence().run()

Differences from Storm's adapter (all compatible with Storm's hosts):

* ``emit`` does not ask the host for the ids of the tasks that receive the
  tuple unless called with ``need_task_ids=True`` (then it returns the list of
  task ids; otherwise it returns None). This saves a round trip per emit.
  Old code that uses the return value of ``emit`` works again after
  ``storm.NEED_TASK_IDS = True`` at the top of the script, or with the
  environment variable ``SQUALL_NEED_TASK_IDS=1`` set for the component, which
  makes every ``emit`` request task ids as Storm's adapter does.
* Output is buffered and written to the host with one system call when the
  adapter is about to wait for input (and at the latest every
  ``FLUSH_INTERVAL`` seconds or ``FLUSH_BYTES`` bytes while it keeps working
  through input that has already arrived), not once per message.
* ``print`` and anything else written to ``sys.stdout`` becomes a ``log``
  command at info level, one per line. The protocol uses a private copy of
  the original stdout descriptor; descriptor 1 itself is pointed at stderr, so
  output of C extensions and subprocesses cannot corrupt the protocol stream.
* When stdin reaches end of file (the host closed it), the process exits with
  status 0 and no traceback. If the host stops reading (broken pipe), too.
* Heartbeat tuples are answered with ``sync`` by the adapter itself; they never
  reach ``process``.
* ``BasicBolt`` fails a tuple whose ``process`` raised, then reports the
  traceback with ``reportError``, and goes on with the next tuple. A plain
  ``Bolt`` or a ``Spout`` whose code raises reports the traceback, writes it to
  stderr and exits with status 1, so the host restarts it.
* Anchors may be given as ``Tuple`` objects or as tuple ids.
* Under ``squall run`` (or ``squall local --attach``) the process has a
  terminal of its own (descriptor ``SQUALL_TTY_FD``): ``breakpoint()`` and
  ``pdb.set_trace()`` stop there, and the user debugs the component while
  the protocol waits.

The module keeps global state (one component per process) and is not
thread-safe: call it from the thread that runs the component.

Wire formats: the reader/writer pair is chosen from ``SERIALIZERS`` by
looking at the first byte the host sends: a MessagePack map means MessagePack
(``topology.multilang.serializer: msgpack``; pystorm's framing, one MessagePack
value per message), anything else JSON (each message is one JSON value
followed by a line ``end``). MessagePack needs the ``msgpack`` module
(``pip install msgpack``, or ``python3-msgpack`` from Debian for its
``/usr/bin/python3``); when it cannot be imported the component says so on
stderr and exits with status 1. With MessagePack, strings travel as str and
``bytes`` as bin (decoded as ``bytes``), and floats may be NaN or infinite.
"""

import atexit
import gc
import io
import json
import os
import sys
import time
import traceback
from collections import OrderedDict, deque
from itertools import repeat as _repeat

try:
    from json.encoder import c_make_encoder as _c_make_encoder
except ImportError:  # pragma: no cover - CPython always has it
    _c_make_encoder = None
from json.encoder import encode_basestring_ascii as _encode_basestring_ascii

__all__ = [
    "Tuple", "Bolt", "BasicBolt", "BatchBolt", "Spout", "WindowedBolt", "Window",
    "StatefulBolt", "State",
    "emit", "emitDirect", "ack", "fail", "sync", "reportError", "rpcMetrics",
    "log", "logTrace", "logDebug", "logInfo", "logWarn", "logError",
    "initComponent", "readMsg", "readCommand", "readTuple", "readTaskIds",
    "sendMsgToParent", "sendpid",
]

# Every emit requests task ids from the host (Storm's behaviour) when true.
NEED_TASK_IDS = os.environ.get("SQUALL_NEED_TASK_IDS", "").lower() in ("1", "true", "yes")

# While input that has already arrived is being worked through, buffered
# output is written at the latest after this many seconds or bytes.
FLUSH_INTERVAL = 0.005
FLUSH_BYTES = 64 * 1024

# Size of one read from stdin.
READ_SIZE = 64 * 1024

# Log levels of the protocol.
TRACE, DEBUG, INFO, WARN, ERROR = 0, 1, 2, 3, 4


# --- JSON ------------------------------------------------------------------

_json_encoder = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def _make_fast_encoder():
    """Returns the C encoder built once (JSONEncoder.encode builds one per
    call), or None if this Python's private API differs from what we expect."""
    if _c_make_encoder is None:
        return None
    try:
        enc = _c_make_encoder(None, _json_encoder.default, _encode_basestring_ascii,
                              None, ":", ",", False, False, False)
        sample = {"command": "emit", "tuple": ["sn\u00f6", 1, 2.5, None, True, [{}]]}
        if "".join(enc(sample, 0)) != _json_encoder.encode(sample):
            return None
        return enc
    except Exception:
        return None


_c_encode = _make_fast_encoder()
if _c_encode is not None:
    def json_encode(value):
        """Encodes value as compact, ASCII-only JSON text; NaN is refused (not JSON)."""
        if value.__class__ is str:
            return _encode_basestring_ascii(value)
        return "".join(_c_encode(value, 0))
else:  # pragma: no cover
    json_encode = _json_encoder.encode

_json_scan = json.JSONDecoder().scan_once
_WHITESPACE = " \t\r\n"


def json_decode(text):
    """Decodes one JSON value from text (str or bytes)."""
    if text.__class__ is not str:
        text = text.decode("utf-8", "replace")
    try:
        value, end = _json_scan(text, 0)
    except StopIteration:
        stripped = text.lstrip(_WHITESPACE)
        if stripped is text or not stripped:
            raise ValueError("invalid JSON message from host: %r" % text[:80])
        return json_decode(stripped)
    if end != len(text) and text[end:].strip(_WHITESPACE):
        raise ValueError("invalid JSON message from host: %r" % text[:80])
    return value


class HostClosed(SystemExit):
    """Raised when the host closed stdin or stopped reading our output.

    It is a SystemExit with status 0, so that the component exits cleanly
    without a traceback, and ``except Exception`` in user code lets it pass.
    """

    def __init__(self):
        SystemExit.__init__(self, 0)


class JsonReader(object):
    """Reads host messages: JSON text followed by a line ``end``.

    read1(n) returns at most n bytes, blocking only when none are available,
    and b"" at end of file. before_block() is called before every call that
    may block, so that buffered output reaches the host first.
    """

    def __init__(self, read1, before_block, data=b""):
        self._read1 = read1
        self._before_block = before_block
        self._buf = data
        self._pos = 0

    def read(self):
        """Returns the next message; raises HostClosed at end of file."""
        buf = self._buf
        pos = search = self._pos
        while True:
            i = buf.find(b"\nend", search)
            if i < 0:
                search = max(pos, len(buf) - 3)  # "\nen" may end the buffer
            else:
                j = i + 4
                n = len(buf)
                if j < n and buf[j] == 10:  # "end\n"
                    self._pos = j + 1
                    return json_decode(buf[pos:i])
                if j + 1 < n and buf[j] == 13 and buf[j + 1] == 10:  # "end\r\n"
                    self._pos = j + 2
                    return json_decode(buf[pos:i])
                if j < n and (buf[j] != 13 or j + 1 < n):
                    search = i + 1  # a line that only starts with "end"
                    continue
                search = i  # cannot tell yet
            # Not a whole message yet: read more.
            self._before_block()
            chunk = self._read1(READ_SIZE)
            if not chunk:
                self._buf = b""
                self._pos = 0
                raise HostClosed()
            # A bytearray grows in place: a large message (a window) read
            # in many chunks costs its size, not its size squared.
            if pos or buf.__class__ is not bytearray:
                buf = bytearray(buf[pos:])
            buf += chunk
            search -= pos
            pos = 0
            self._buf = buf
            self._pos = 0


class _Writer(object):
    """Buffers messages to the host and writes them on flush, or once
    FLUSH_BYTES are waiting. write(data) must write all of data.

    A subclass gives _encode(msg), one message's encoding, and
    _join(parts), the bytes of the encodings in order.
    """

    def __init__(self, write):
        self._write = write
        self._parts = []
        self._size = 0
        self.since = 0.0  # time.monotonic() of the oldest unwritten message
        self._slots = []  # (index in _parts, fill) of the places reserved

    def add(self, msg):
        """Encodes msg and buffers it. Encoding errors leave the buffer as it was."""
        data = self._encode(msg)
        parts = self._parts
        if not parts:
            self.since = time.monotonic()
        parts.append(data)
        self._size += len(data)
        if self._size >= FLUSH_BYTES:
            self.flush()

    def reserve(self, fill, size):
        """Holds the place of messages written later than this call but
        sent before what follows it: fill() returns their encoding (""
        for none) at the flush. size is what they hold so far (more can
        be counted with grow). JsonWriter only (see State)."""
        parts = self._parts
        if not parts:
            self.since = time.monotonic()
        self._slots.append((len(parts), fill))
        parts.append("")
        self.grow(size)

    def grow(self, size):
        """Counts size more bytes waiting in a reserved place."""
        self._size += size
        if self._size >= FLUSH_BYTES:
            self.flush()

    def pending(self):
        """Reports whether messages are waiting to be written."""
        return bool(self._parts)

    def flush(self):
        """Writes every buffered message."""
        parts = self._parts
        if not parts:
            return
        self._parts = []
        self._size = 0
        if self._slots:
            slots, self._slots = self._slots, []
            empty = False
            for i, fill in slots:
                p = parts[i] = fill()
                empty = empty or not p
            if empty:
                parts = [p for p in parts if p]
                if not parts:
                    return
        self._write(self._join(parts))


class JsonWriter(_Writer):
    """Writes JSON text followed by a line ``end``."""

    _encode = staticmethod(json_encode)

    @staticmethod
    def _join(parts):
        parts.append("")
        return "\nend\n".join(parts).encode("utf-8", "surrogatepass")


# --- MessagePack -------------------------------------------------------------

class MsgpackUnavailable(SystemExit):
    """Raised when the host speaks MessagePack and the msgpack module cannot be
    imported. It exits with status 1 after saying why on stderr."""

    def __init__(self, cause):
        SystemExit.__init__(self, 1)
        self.cause = cause


def _import_msgpack():
    try:
        import msgpack
        msgpack.Unpacker, msgpack.Packer  # noqa: B018 - a module of that name, not the library
    except (ImportError, AttributeError) as e:
        sys.stderr.write(
            "storm.py: the host speaks MessagePack (topology.multilang.serializer: msgpack), "
            "but the Python module msgpack cannot be imported by %s: %s. "
            "Install it for this interpreter (pip install msgpack) or set "
            "topology.multilang.serializer: json.\n" % (sys.executable, e))
        sys.stderr.flush()
        raise MsgpackUnavailable(e)
    return msgpack


class MsgpackReader(object):
    """Reads host messages in pystorm's MessagePack framing: one MessagePack
    value per message, nothing in between. Same interface as JsonReader."""

    def __init__(self, read1, before_block, data=b""):
        msgpack = _import_msgpack()
        self._read1 = read1
        self._before_block = before_block
        self._unpacker = msgpack.Unpacker(raw=False)
        self._unpacker.feed(data)
        self._next = self._unpacker.__next__

    def read(self):
        """Returns the next message; raises HostClosed at end of file."""
        while True:
            try:
                return self._next()
            except StopIteration:
                pass
            self._before_block()
            chunk = self._read1(READ_SIZE)
            if not chunk:
                raise HostClosed()
            self._unpacker.feed(chunk)


class MsgpackWriter(_Writer):
    """Writes MessagePack."""

    _join = staticmethod(b"".join)

    def __init__(self, write):
        _Writer.__init__(self, write)
        self._encode = _import_msgpack().Packer(use_bin_type=True, autoreset=True).pack


# Wire formats by name: (reader class, writer class). Readers take
# (read1, before_block, data), writers take (write).
SERIALIZERS = {
    "json": (JsonReader, JsonWriter),
    "msgpack": (MsgpackReader, MsgpackWriter),
}


def _sniff(data):
    """Names the serializer of the handshake that starts with data."""
    first = data.lstrip(b" \t\r\n")[:1]
    if first and (0x80 <= first[0] <= 0x8f or first[0] in (0xde, 0xdf)):
        return "msgpack"  # a MessagePack map
    return "json"


# --- The connection to the host ------------------------------------------

_reader = None
_writer = None
_stdout_log = None

MODE = None          # Bolt or Spout once run() started
ANCHOR_TUPLE = None  # BasicBolt: the tuple being processed, anchor of every emit

# Messages read while waiting for task ids, and task ids read while waiting
# for a message, kept in order.
pending_commands = deque()
pending_taskids = deque()


def _before_block():
    if _stdout_log is not None:
        _stdout_log.flush()
    _writer.flush()


def _write_all(fd):
    def write(data):
        view = memoryview(data)
        try:
            while view:
                n = os.write(fd, view)
                view = view[n:]
        except BrokenPipeError:
            raise HostClosed()
    return write


def connect(reader, writer, stdout_log=None):
    """Uses reader and writer (see SERIALIZERS) to talk to the host.

    run() and initComponent() connect to stdin/stdout themselves; this is for
    tests and embedding.
    """
    global _reader, _writer, _stdout_log
    _reader, _writer, _stdout_log = reader, writer, stdout_log
    pending_commands.clear()
    pending_taskids.clear()


def _connect_stdio():
    """Connects to the host over stdin and the original stdout.

    Descriptor 1 is pointed at stderr and sys.stdout turned into a log stream,
    so that stray output cannot corrupt the protocol.
    """
    out_fd = os.dup(1)  # not inheritable: subprocesses do not get it
    try:
        os.dup2(2, 1)
    except OSError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    stdin = sys.stdin.buffer
    data = stdin.read1(READ_SIZE)
    reader_cls, writer_cls = SERIALIZERS[_sniff(data)]
    writer = writer_cls(_write_all(out_fd))
    reader = reader_cls(stdin.read1, _before_block, data)
    log_stream = _StdoutToLog(1)
    connect(reader, writer, log_stream)
    sys.stdout = log_stream
    if not data:
        raise HostClosed()


def _ensure_connected():
    if _writer is None:
        _connect_stdio()


def _at_exit():
    try:
        if _stdout_log is not None:
            _stdout_log.flush()
        if _writer is not None:
            _writer.flush()
    except (HostClosed, OSError, ValueError):
        pass


atexit.register(_at_exit)


def _attach_terminal():
    """Points breakpoint() and pdb.set_trace() at this process's own terminal.

    squall run (and squall local --attach) give the child a terminal beside
    the protocol pipes, as descriptor SQUALL_TTY_FD: the debugger talks to
    the user there, and the protocol, which nothing reads while a tuple's
    processing is stopped, is untouched. Storm's hosts never set it.
    """
    try:
        fd = int(os.environ.get("SQUALL_TTY_FD", ""))
        tty_in = open(fd, "r", closefd=False)
        tty_out = open(fd, "w", buffering=1, closefd=False)
    except (ValueError, OSError):
        return
    import pdb

    def set_trace(frame=None, *, header=None):
        debugger = pdb.Pdb(stdin=tty_in, stdout=tty_out)
        if header is not None:
            debugger.message(header)
        debugger.set_trace(frame or sys._getframe().f_back)

    def breakpointhook(*args, **kws):
        choice = os.environ.get("PYTHONBREAKPOINT", "")
        if choice == "0":
            return None
        if choice not in ("", "pdb.set_trace"):
            return sys.__breakpointhook__(*args, **kws)  # another debugger, as asked
        return set_trace(sys._getframe().f_back, **kws)

    pdb.set_trace = set_trace
    sys.breakpointhook = breakpointhook


_attach_terminal()


class _StdoutToLog(io.TextIOBase):
    """Replaces sys.stdout: every line written becomes a log command (info).

    A partial line is logged when the stream is flushed, which the adapter
    does before waiting for input.
    """

    def __init__(self, fd):
        io.TextIOBase.__init__(self)
        self._fd = fd
        self._partial = []

    @property
    def encoding(self):
        return "utf-8"

    @property
    def errors(self):
        return "strict"

    def writable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        return self._fd  # descriptor 1, which now goes to stderr

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError("write() argument must be str, not %s" % type(s).__name__)
        if "\n" not in s:
            if s:
                self._partial.append(s)
            return len(s)
        lines = s.split("\n")
        if self._partial:
            self._partial.append(lines[0])
            lines[0] = "".join(self._partial)
            self._partial = []
        last = lines.pop()
        if last:
            self._partial.append(last)
        for line in lines:
            log(line, INFO)
        return len(s)

    def flush(self):
        if self._partial:
            line = "".join(self._partial)
            self._partial = []
            log(line, INFO)


# --- Reading ---------------------------------------------------------------

def readMsg():
    """Reads the next message from the host, whatever it is."""
    return _reader.read()


def readTaskIds():
    """Returns the next task-id list, keeping messages read before it."""
    if pending_taskids:
        return pending_taskids.popleft()
    read = _reader.read
    msg = read()
    while msg.__class__ is not list:
        if _state_requests and msg.get("command") in _STATE_REPLIES:
            _route_state_reply(msg)  # emitted while iterating the state
        else:
            pending_commands.append(msg)
        msg = read()
    return msg


def readCommand():
    """Returns the next message that is not a task-id list (a tuple or a command)."""
    if pending_commands:
        return pending_commands.popleft()
    read = _reader.read
    msg = read()
    while msg.__class__ is list:
        pending_taskids.append(msg)
        msg = read()
    return msg


def readTuple():
    """Returns the next input tuple of a bolt."""
    cmd = readCommand()
    return Tuple(cmd.get("id"), cmd.get("comp"), cmd.get("stream"), cmd.get("task"), cmd.get("tuple"))


# --- Writing ---------------------------------------------------------------

def sendMsgToParent(msg):
    """Queues msg for the host; it is written before the adapter next waits."""
    _writer.add(msg)


_SYNC = {"command": "sync"}


def sync():
    """Sends sync: the end of a spout's answer, or a bolt's heartbeat reply."""
    _writer.add(_SYNC)


def sendpid(heartbeatdir):
    """Creates the pid file in heartbeatdir and answers the handshake."""
    pid = os.getpid()
    problem = None
    try:
        open(os.path.join(heartbeatdir, str(pid)), "w").close()
    except (OSError, TypeError) as e:
        problem = "cannot create pid file in %r: %s" % (heartbeatdir, e)
    _writer.add({"pid": pid})
    if problem is not None:
        log(problem, WARN)


def _anchor_ids(anchors):
    if anchors.__class__ is Tuple or isinstance(anchors, str):
        anchors = [anchors]
    return [a.id if isinstance(a, Tuple) else a for a in anchors]


def emitBolt(tup, stream=None, anchors=[], directTask=None, need_task_ids=None):
    """Sends a bolt's emit; returns whether the host will answer with task ids."""
    if ANCHOR_TUPLE is not None:
        ids = [ANCHOR_TUPLE.id]
    elif anchors:
        ids = _anchor_ids(anchors)
    else:
        ids = []
    m = {"command": "emit", "anchors": ids, "tuple": tup}
    if stream is not None:
        m["stream"] = stream
    if directTask is not None:
        m["task"] = directTask
        _writer.add(m)
        return False
    if need_task_ids is None:
        need_task_ids = NEED_TASK_IDS
    if not need_task_ids:
        m["need_task_ids"] = False
    _writer.add(m)
    return need_task_ids


def emitSpout(tup, stream=None, id=None, directTask=None, need_task_ids=None):
    """Sends a spout's emit; returns whether the host will answer with task ids."""
    m = {"command": "emit", "tuple": tup}
    if id is not None:
        m["id"] = id
    if stream is not None:
        m["stream"] = stream
    if directTask is not None:
        m["task"] = directTask
        _writer.add(m)
        return False
    if need_task_ids is None:
        need_task_ids = NEED_TASK_IDS
    if not need_task_ids:
        m["need_task_ids"] = False
    _writer.add(m)
    return need_task_ids


_NOTHING = object()


def emit(tup, stream=None, anchors=_NOTHING, directTask=None, need_task_ids=None, id=None):
    """Emits the values tup.

    In a bolt: ``emit(tup, stream=None, anchors=[], directTask=None)``;
    anchors are Tuple objects or tuple ids (a BasicBolt anchors to the current
    input itself). In a spout: ``emit(tup, stream=None, id=None,
    directTask=None)``; a non-None id makes the emit reliable.

    With ``need_task_ids=True`` (or ``storm.NEED_TASK_IDS``) the host is asked
    for the ids of the receiving tasks and the list is returned; otherwise
    None is returned. Direct emits never return task ids.
    """
    if MODE is Spout:
        if anchors is not _NOTHING:
            id = anchors  # a spout's third positional argument is the message id
        need = emitSpout(tup, stream, id, directTask, need_task_ids)
    else:
        need = emitBolt(tup, stream, [] if anchors is _NOTHING else anchors, directTask,
                        need_task_ids)
    if need:
        return readTaskIds()
    return None


def emitDirect(task, tup, stream=None, anchors=_NOTHING, id=None):
    """Emits tup directly to task: ``emitDirect(task, tup, stream=None, anchors=[])``
    in a bolt, ``emitDirect(task, tup, stream=None, id=None)`` in a spout."""
    if MODE is Spout:
        if anchors is not _NOTHING:
            id = anchors
        emitSpout(tup, stream, id, task)
    else:
        emitBolt(tup, stream, [] if anchors is _NOTHING else anchors, task)


def ack(tup):
    """Acks the input tuple tup (a Tuple or a tuple id)."""
    _writer.add({"command": "ack", "id": tup.id if tup.__class__ is Tuple else getattr(tup, "id", tup)})


def fail(tup):
    """Fails the input tuple tup (a Tuple or a tuple id)."""
    _writer.add({"command": "fail", "id": tup.id if tup.__class__ is Tuple else getattr(tup, "id", tup)})


def reportError(msg):
    """Reports an error for the component; it does not stop it."""
    _writer.add({"command": "error", "msg": msg})


def log(msg, level=INFO):
    """Writes msg to the worker's log at level (0 trace ... 4 error)."""
    _writer.add({"command": "log", "msg": msg, "level": level})


def logTrace(msg):
    log(msg, TRACE)


def logDebug(msg):
    log(msg, DEBUG)


def logInfo(msg):
    log(msg, INFO)


def logWarn(msg):
    log(msg, WARN)


def logError(msg):
    log(msg, ERROR)


def rpcMetrics(name, params):
    """Sets the task's metric name to params."""
    _writer.add({"command": "metrics", "name": name, "params": params})


def initComponent():
    """Connects to the host, does the handshake and returns [conf, context]."""
    _ensure_connected()
    global _CONF
    setup = readMsg()
    sendpid(setup["pidDir"])
    _CONF = setup["conf"] or {}
    return [setup["conf"], setup["context"]]


_CONF = {}  # the topology configuration, once initComponent ran


# --- Components --------------------------------------------------------------

class Tuple(object):
    """An input tuple of a bolt."""

    def __init__(self, id, component, stream, task, values):
        self.id = id
        self.component = component
        self.stream = stream
        self.task = task
        self.values = values

    def __repr__(self):
        return "<%s%s>" % (self.__class__.__name__,
                           "".join(" %s=%r" % (k, self.__dict__[k]) for k in sorted(self.__dict__)))

    def is_tick_tuple(self):
        return self.task == -1 and self.stream == "__tick"

    def is_heartbeat_tuple(self):
        return self.task == -1 and self.stream == "__heartbeat"

    def is_finish_batch_tuple(self):
        return self.task == -1 and self.stream == FINISH_BATCH_STREAM


# A bolt of a DRPC chain declared with finishBatch: true gets, once it has
# seen every tuple of a request, a tuple [request_id] on this stream. The
# adapter calls finish_batch(request_id), anchors what it emits to that
# tuple, and acks it (or fails it if finish_batch raises).
FINISH_BATCH_STREAM = "__finish_batch"


def _finish_batch(bolt, msg):
    global ANCHOR_TUPLE
    tup = Tuple(msg.get("id"), msg["comp"], msg["stream"], msg["task"], msg["tuple"])
    saved, ANCHOR_TUPLE = ANCHOR_TUPLE, tup
    try:
        bolt.finish_batch(tup.values[0])
        end = getattr(bolt, "_end_batch", None)
        if end is not None:
            end(tup.values[0])
    except Exception:
        fail(tup)
        reportError(traceback.format_exc())
    else:
        _writer.add({"command": "ack", "id": tup.id})
    finally:
        ANCHOR_TUPLE = saved


def _die():
    """Reports the exception being handled and exits with status 1."""
    text = traceback.format_exc()
    try:
        reportError(text)
        _before_block()
    except (HostClosed, OSError, ValueError, TypeError):
        pass
    sys.stderr.write(text)
    sys.stderr.flush()
    raise SystemExit(1)


class Bolt(object):
    """A bolt: override process(tuple) and call ack or fail for every tuple."""

    def initialize(self, stormconf, context):
        pass

    def process(self, tuple):
        pass

    def finish_batch(self, request_id):
        """Called, in a DRPC chain with finishBatch: true, once every tuple of
        the request has been processed; emits are anchored for you."""

    def run(self):
        global MODE
        MODE = Bolt
        conf, context = initComponent()
        try:
            self.initialize(conf, context)
            process = self.process
            while True:
                msg = readCommand()
                stream = msg["stream"]
                if stream == "__heartbeat":
                    _writer.add(_SYNC)
                elif stream == FINISH_BATCH_STREAM and msg["task"] == -1:
                    _finish_batch(self, msg)
                else:
                    process(Tuple(msg.get("id"), msg["comp"], stream, msg["task"], msg["tuple"]))
                _maybe_flush()
        except Exception:
            _die()


def _execute_basic(bolt, msg, process):
    """Runs a BasicBolt's process on one tuple from the host, anchoring its emits and
    acking it after (or failing it and reporting the error)."""
    global ANCHOR_TUPLE
    stream = msg["stream"]
    if stream == "__heartbeat":
        _writer.add(_SYNC)
        return
    if stream == FINISH_BATCH_STREAM and msg["task"] == -1:
        ANCHOR_TUPLE = None
        _finish_batch(bolt, msg)
        return
    tup = Tuple(msg.get("id"), msg["comp"], stream, msg["task"], msg["tuple"])
    ANCHOR_TUPLE = tup
    try:
        process(tup)
    except Exception:
        fail(tup)
        reportError(traceback.format_exc())
    else:
        _writer.add({"command": "ack", "id": tup.id})


class BasicBolt(object):
    """A bolt whose emits are anchored to the input tuple, which is acked after
    process returns, or failed (and the error reported) if it raises."""

    def initialize(self, stormconf, context):
        pass

    def process(self, tuple):
        pass

    def finish_batch(self, request_id):
        """Called, in a DRPC chain with finishBatch: true, once every tuple of
        the request has been processed; emits are anchored for you."""

    def run(self):
        global MODE
        MODE = Bolt
        conf, context = initComponent()
        try:
            self.initialize(conf, context)
            process = self.process
            while True:
                msg = readCommand()
                _execute_basic(self, msg, process)
                _maybe_flush()
        except Exception:
            _die()


class Window(object):
    """One window of a WindowedBolt: tuples (oldest first), new (not in the
    previous window), expired (in the previous window, not in this one), and
    start and end in milliseconds (start is None for count windows).

    tuples is made on first use, during process_window: a bolt that keeps
    running results from new and expired never pays for a list of the whole
    window."""

    def __init__(self, id, held, new, expired, start, end):
        self.id = id
        self._held = held
        self._tuples = None
        self.new = new
        self.expired = expired
        self.start = start
        self.end = end

    @property
    def tuples(self):
        if self._tuples is None:
            self._tuples = list(self._held.values())
        return self._tuples

    def __repr__(self):
        return "<Window id=%r start=%r end=%r new=%d expired=%d>" % (
            self.id, self.start, self.end, len(self.new), len(self.expired))


WINDOW_STREAM = "__window"


def _inline(pending, fields):
    """A window tuple the window message carries whole: a copy the host
    streamed before it knew this child lost it, if any, is dropped."""
    tup = Tuple(*fields)
    if pending:
        pending.pop(tup.id, None)
    return tup


class WindowedBolt(object):
    """A bolt of a component declared `window:` in its topology: the host does
    the windowing and calls process_window(window) every time a window fires.
    Emits inside it are anchored to the whole window; the window is acked
    when process_window returns, or failed (its tuples replayed, the error
    reported) if it raises. Window tuples are acked by the host as they
    leave every window: never ack them."""

    def initialize(self, stormconf, context):
        pass

    def process_window(self, window):
        pass

    def _open_state(self, context):
        pass

    def run(self):
        global MODE, ANCHOR_TUPLE
        MODE = Bolt
        conf, context = initComponent()
        paused = False
        try:
            self._open_state(context)
            self.initialize(conf, context)
            process_window = self.process_window
            held = {}  # the window's tuples by id, oldest first
            pending = {}  # tuples streamed ahead of their window, by id
            started = False
            # Reading a window makes millions of objects that hold no
            # cycles (the decoded tuples and their Tuple objects). With the
            # cyclic collector on, it runs hundreds of times over the
            # growing heap meanwhile, which costs more than the decoding
            # itself; so it is off from the read to process_window (when
            # the program left it on), and user code runs with it as usual.
            paused = False
            while True:
                if not paused and gc.isenabled():
                    gc.disable()
                    paused = True
                msg = readCommand()
                command = msg.get("command")
                if command is not None:  # a stateful windowed bolt's
                    if command == "state_reset":
                        self.state.reset()
                        self.on_state_reset()
                    elif command in _STATE_REPLIES:
                        _route_state_reply(msg)
                    _maybe_flush()
                    continue
                stream = msg["stream"]
                if stream == "__heartbeat":
                    _writer.add(_SYNC)
                    _maybe_flush()
                    continue
                if stream != WINDOW_STREAM:
                    raise RuntimeError(
                        "%s is a WindowedBolt, but its component declares no window: "
                        "add `window: {length: ..., sliding: ...}` to it in the topology"
                        % self.__class__.__name__)
                wid, w = msg.get("id"), msg["tuple"][0]
                forget = w.get("forget")
                if forget:
                    pop = pending.pop
                    for i in forget:
                        pop(i, None)
                add = w.get("add")
                if add is not None:
                    # Tuples ahead of their window: held until a window
                    # names them by id.
                    for comp, stream, task, ids, values in add:
                        pending.update(zip(ids, map(Tuple, ids, _repeat(comp), _repeat(stream), _repeat(task), values)))
                    _writer.add({"command": "ack", "id": wid})
                    msg = w = add = None
                    _maybe_flush()
                    continue
                if w.get("reset"):
                    held.clear()
                elif not started or any(i not in held for i in w["expired"]):
                    # This child does not hold the window the host changes
                    # (it restarted): failing the window makes the host send
                    # the next one whole.
                    fail(wid)
                    _before_block()
                    continue
                pop = held.pop
                expired = [pop(i) for i in w["expired"]]
                try:
                    new = [pending.pop(t) if t.__class__ is str else _inline(pending, t) for t in w["new"]]
                except KeyError:
                    # Streamed to a child that died since: fail, as above.
                    started = False
                    fail(wid)
                    _before_block()
                    continue
                started = True
                for tup in new:
                    held[tup.id] = tup
                old = w.get("old")
                if old:
                    # Put back after a recovery: in the window, not new.
                    old = set(old)
                    new = [t for t in new if t.id not in old]
                window = Window(wid, held, new, expired, w["start"], w["end"])
                msg = w = None
                ANCHOR_TUPLE = Tuple(wid, "__system", WINDOW_STREAM, -1, [])
                if paused:
                    gc.enable()
                    paused = False
                try:
                    process_window(window)
                except Exception:
                    fail(wid)
                    reportError(traceback.format_exc())
                    started = False  # the host resends the window whole
                else:
                    _writer.add({"command": "ack", "id": wid})
                ANCHOR_TUPLE = None
                _before_block()
        except Exception:
            _die()
        finally:
            if paused:
                gc.enable()


class BatchBolt(BasicBolt):
    """Storm's IBatchBolt for a DRPC chain declared with finishBatch: true:
    process(tuple) sees each tuple of a request (acked for you, emits anchored),
    finish_batch(request_id) runs once when the request is complete.
    self.batch(request_id) is a dict kept per request and dropped after
    finish_batch."""

    def batch(self, request_id):
        batches = self.__dict__.setdefault("_batches", {})
        entry = batches.get(request_id)
        if entry is None:
            now = time.monotonic()
            _expire_batches(batches, now)
            entry = batches[request_id] = (now, {})
        return entry[1]

    def _end_batch(self, request_id):
        self.__dict__.get("_batches", {}).pop(request_id, None)


def _expire_batches(batches, now):
    """Drops the batches older than topology.message.timeout.secs: their
    tuples timed out, so their request failed and will never finish."""
    try:
        timeout = float(_CONF.get("topology.message.timeout.secs", 30))
    except (TypeError, ValueError):
        timeout = 30.0
    while batches:
        request_id, (created, _) = next(iter(batches.items()))
        if now - created < timeout:
            return
        del batches[request_id]


class Spout(object):
    """A spout: nextTuple emits (or not), ack and fail get the emitted ids."""

    def initialize(self, conf, context):
        pass

    def ack(self, id):
        pass

    def fail(self, id):
        pass

    def nextTuple(self):
        pass

    def activate(self):
        pass

    def deactivate(self):
        pass

    def run(self):
        global MODE
        MODE = Spout
        conf, context = initComponent()
        try:
            self.initialize(conf, context)
            while True:
                msg = readCommand()
                command = msg.get("command")
                if command == "next":
                    self.nextTuple()
                elif command == "ack":
                    self.ack(msg.get("id"))
                elif command == "fail":
                    self.fail(msg.get("id"))
                elif command == "activate":
                    self.activate()
                elif command == "deactivate":
                    self.deactivate()
                _writer.add(_SYNC)
        except Exception:
            _die()


def _maybe_flush():
    """Flushes if output has waited too long while input kept arriving."""
    w = _writer
    if w._parts and time.monotonic() - w.since >= FLUSH_INTERVAL:
        _before_block()


# User metrics: helpers on top of the multilang metrics command, with the
# params shapes squall reads (docs/multilang.md, Metrics). A bad value
# raises ValueError here, where the mistake is, instead of being refused
# and counted by the host.

def _metric_name(name):
    if not isinstance(name, str) or not name:
        raise ValueError("metric name %r: want a non-empty string" % (name,))
    return name


def _number(kind, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value in (float("inf"), float("-inf")):
        raise ValueError("%s %s: value %r is not a finite number" % (kind, name, value))
    return value


class _Metrics(object):
    """storm.metrics.counter / gauge / histogram update a user metric of the
    task: a counter adds a whole number >= 0, a gauge is set to a number, a
    histogram counts values >= 0 (one, or a list of up to 1000)."""

    def counter(self, name, n=1):
        name = _metric_name(name)
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError("counter %s: increment %r is not a whole number >= 0" % (name, n))
        rpcMetrics(name, {"type": "counter", "value": n})

    def gauge(self, name, value):
        name = _metric_name(name)
        rpcMetrics(name, {"type": "gauge", "value": _number("gauge", name, value)})

    def histogram(self, name, value):
        name = _metric_name(name)
        if isinstance(value, (list, tuple)):
            if not 0 < len(value) <= 1000:
                raise ValueError("histogram %s: %d values, want 1 to 1000" % (name, len(value)))
            values = [_number("histogram", name, v) for v in value]
            if any(v < 0 for v in values):
                raise ValueError("histogram %s: negative value in %r" % (name, values))
            rpcMetrics(name, {"type": "histogram", "values": values})
            return
        v = _number("histogram", name, value)
        if v < 0:
            raise ValueError("histogram %s: value %r is negative" % (name, v))
        rpcMetrics(name, {"type": "histogram", "value": v})


metrics = _Metrics()
__all__.append("metrics")


# --- Stateful bolts ------------------------------------------------------------
#
# squall's state extension (docs/multilang.md, "Stateful bolts"): the task's
# key-value state lives in the host, which checkpoints it; the child reads
# it with state_get and state_items, writes it with state_put and
# state_delete, and empties its cache on state_reset.

_STATE_REPLIES = ("state_values", "state_items")
_state_requests = deque()  # state requests waiting for their reply, oldest first


class _StateRequest(object):
    """A state_get or state_items sent to the host: the replies it got so
    far (parts), whether the last one came (done), whether no one wants
    them any more (abandoned: an iteration the bolt left early)."""

    __slots__ = ("command", "parts", "done", "abandoned")

    def __init__(self, command):
        self.command = command
        self.parts = deque()
        self.done = False
        self.abandoned = False


def _state_send(msg, reply):
    """Sends a state command whose reply is reply; returns its request."""
    req = _StateRequest(reply)
    _writer.add(msg)
    _state_requests.append(req)
    return req


def _route_state_reply(msg):
    """Hands a state reply to the oldest request: the host answers in order."""
    if not _state_requests:
        raise RuntimeError("the host sent %s, but no state command waits for a reply" % msg.get("command"))
    req = _state_requests[0]
    command = msg.get("command")
    if command != req.command:
        raise RuntimeError("the host sent %s in reply to %s" % (
            command, "state_get" if req.command == "state_values" else "state_items"))
    if not req.abandoned:
        req.parts.append(msg)
    if not msg.get("more"):  # a long reply comes in parts, the last without "more"
        req.done = True
        _state_requests.popleft()


def _await_state(req):
    """Reads from the host until req has a reply it has not consumed (or is
    done), keeping the tuples, commands and task ids that come meanwhile."""
    read = _reader.read
    while not req.parts and not req.done:
        msg = read()
        if msg.__class__ is list:
            pending_taskids.append(msg)
        elif msg.get("command") in _STATE_REPLIES:
            _route_state_reply(msg)
        else:
            pending_commands.append(msg)


_ABSENT = object()  # cached: the key is not in the state
_MISSING = object()


def _state_cache_key(key):
    """The cache's key for a state key: the host tells keys apart by their
    JSON text, so True and 1 (equal in Python) are two keys, 1 and 1.0 one."""
    cls = key.__class__
    if cls is str:
        if key[:1] == "\x00":
            raise ValueError("state key %r: keys starting with a 0 byte are reserved for squall" % key[:60])
        return key
    if cls is bool:
        return (bool, key)
    if cls is int or (cls is float and key == key and key not in (float("inf"), float("-inf"))):
        return key
    raise TypeError("state keys are str, int, float or bool (JSON strings, numbers or booleans), not %s: %r"
                    % (cls.__name__, key))


def _state_copy(value):
    """A copy of value that shares no list or dict with it: what the bolt
    gets from the cache or gave it cannot be changed behind the host's back."""
    cls = value.__class__
    if cls is list:
        return [_state_copy(v) for v in value]
    if cls is dict:
        return {k: _state_copy(v) for k, v in value.items()}
    return value


try:
    from collections.abc import MutableMapping as _MutableMapping
except ImportError:  # pragma: no cover - Python 2
    from collections import MutableMapping as _MutableMapping


class State(_MutableMapping):
    """A stateful bolt's key-value state, held by the host: a MutableMapping.

    Keys are str, int, float or bool; values anything JSON (or MessagePack)
    carries. Reads are cached, up to max_keys values (least recently used
    beyond): a hit costs no round trip to the host. Writes go to the host
    with the next flush of the bolt's output, before the ack of the tuple
    that made them; with JSON, the writes between two flushes go as one
    message holding each key's last value. Values are copied in and
    out, so change a list or dict you read and assign it again to store it.

    ``del state[key]`` never raises: deleting an absent key does nothing
    (it costs no read). Iteration, ``items()``, ``keys()``, ``values()``
    and ``len()`` stream the whole state from the host (not cached);
    ``prefetch(keys)`` reads many keys in one round trip.
    """

    def __init__(self, max_keys=100000):
        self._cache = OrderedDict()  # cache key -> value, or _ABSENT
        self._puts = None  # the writes not written yet (see _writes)
        self._dels = {}
        self.max_keys = max(1, int(max_keys))
        self.round_trips = 0  # requests that waited for the host's reply

    def _remember(self, ck, value):
        cache = self._cache
        if ck in cache:
            cache.move_to_end(ck)
        cache[ck] = value
        if len(cache) > self.max_keys:
            cache.popitem(last=False)

    def _lookup(self, key):
        ck = _state_cache_key(key)
        cache = self._cache
        v = cache.get(ck, _MISSING)
        if v is _MISSING:
            self._fetch([key], [ck])
            return cache.get(ck, _ABSENT)
        cache.move_to_end(ck)
        return v

    def _fetch(self, keys, cks):
        """Reads keys (cache keys cks) in one round trip and caches them."""
        req = _state_send({"command": "state_get", "keys": keys}, "state_values")
        self.round_trips += 1
        found = {}
        while True:  # the reply's parts, the last without "more"
            _await_state(req)
            if not req.parts:
                break
            part = req.parts.popleft()
            for k, v in part.get("items") or ():
                found[_state_cache_key(k)] = v
            if not part.get("more"):
                break
        for ck in cks:
            self._remember(ck, found.get(ck, _ABSENT))

    def __getitem__(self, key):
        v = self._lookup(key)
        if v is _ABSENT:
            raise KeyError(key)
        return _state_copy(v)

    def get(self, key, default=None):
        # The hit path of a string key inline: it is most reads' cost.
        if key.__class__ is str and key[:1] != "\x00":
            cache = self._cache
            v = cache.get(key, _MISSING)
            if v is _MISSING:
                v = self._lookup(key)
            else:
                cache.move_to_end(key)
        else:
            v = self._lookup(key)
        if v is _ABSENT:
            return default
        cls = v.__class__
        return _state_copy(v) if cls is list or cls is dict else v

    def __contains__(self, key):
        return self._lookup(key) is not _ABSENT

    # Writes, with the JSON wire format, are coalesced: the writes since
    # the last flush go out as one state_put (and one state_delete), at
    # the place of the first of them among the messages, so before the
    # ack of every tuple that made one, and with only a key's last value.
    # A put message per tuple cost the host a message each. _puts maps
    # the cache key of each key put since to the JSON text of its [key,
    # value] item, _dels of each key deleted to its key's text; _puts is
    # None when nothing waits.

    def _writes(self):
        """The encoding of the writes waiting (Writer.reserve's fill)."""
        puts, dels = self._puts, self._dels
        self._puts = None
        if dels:
            self._dels = {}
            if not puts:
                return '{"command":"state_delete","keys":[%s]}' % ",".join(dels.values())
            return '{"command":"state_put","items":[%s]}\nend\n{"command":"state_delete","keys":[%s]}' % (
                ",".join(puts.values()), ",".join(dels.values()))
        if not puts:
            return ""
        return '{"command":"state_put","items":[%s]}' % ",".join(puts.values())

    def __setitem__(self, key, value):
        plain = key.__class__ is str and key[:1] != "\x00"
        ck = key if plain else _state_cache_key(key)
        w = _writer
        if w.__class__ is JsonWriter:
            # Encoded now, so that a value JSON cannot carry raises here.
            item = "[%s,%s]" % (
                _encode_basestring_ascii(key) if plain else json_encode(key),
                repr(value) if value.__class__ is int else json_encode(value))
            # The write is recorded before the place is reserved or grown,
            # as either may flush, which takes what is recorded.
            puts = self._puts
            if puts is None:
                self._puts = {ck: item}
                w.reserve(self._writes, len(item) + 40)
            else:
                if self._dels:
                    self._dels.pop(ck, None)
                puts[ck] = item
                w.grow(len(item) + 1)
        else:
            w.add({"command": "state_put", "items": [[key, value]]})
        cls = value.__class__
        self._remember(ck, _state_copy(value) if cls is list or cls is dict else value)

    def __delitem__(self, key):
        ck = _state_cache_key(key)
        w = _writer
        if w.__class__ is JsonWriter:
            text = json_encode(key)
            first = self._puts is None
            if first:
                self._puts = {}
            else:
                self._puts.pop(ck, None)
            # Recorded before the place is reserved or grown, as either
            # may flush, which takes what is recorded.
            self._dels[ck] = text
            if first:
                w.reserve(self._writes, len(text) + 40)
            else:
                w.grow(len(text) + 1)
        else:
            w.add({"command": "state_delete", "keys": [key]})
        self._remember(ck, _ABSENT)

    def update(self, *args, **kwargs):
        """Writes every item (in one state_put)."""
        items = dict(*args, **kwargs).items() if args or kwargs else ()
        pairs = [[k, v] for k, v in items]
        if not pairs:
            return
        cks = [_state_cache_key(k) for k, _ in pairs]
        if _writer.__class__ is JsonWriter:
            for ck, (k, v) in zip(cks, pairs):
                self[k] = v
            return
        _writer.add({"command": "state_put", "items": pairs})
        for ck, (_, v) in zip(cks, pairs):
            self._remember(ck, _state_copy(v))

    def prefetch(self, keys):
        """Reads the keys not cached yet in one round trip, so that the
        reads that follow are hits (as long as the cache holds them)."""
        want, cks, seen = [], [], set()
        for k in keys:
            ck = _state_cache_key(k)
            if ck not in self._cache and ck not in seen:
                seen.add(ck)
                want.append(k)
                cks.append(ck)
        if want:
            self._fetch(want, cks)

    def items(self):
        """Yields every (key, value) of the state, streamed from the host
        in its order; iterate it while handling one tuple."""
        req = _state_send({"command": "state_items"}, "state_items")
        self.round_trips += 1
        try:
            while True:
                _await_state(req)
                if not req.parts:
                    return
                for k, v in req.parts.popleft().get("items") or ():
                    yield k, v
        finally:
            req.abandoned = True
            req.parts.clear()

    def __iter__(self):
        for k, _ in self.items():
            yield k

    def keys(self):
        return iter(self)

    def values(self):
        for _, v in self.items():
            yield v

    def __len__(self):
        n = 0
        for _ in self.items():
            n += 1
        return n

    def clear(self):
        """Deletes every key (read from the host first)."""
        keys = [k for k, _ in self.items()]  # list(self) would stream it twice, for len()
        for i in range(0, len(keys), 1000):
            part = keys[i:i + 1000]
            _writer.add({"command": "state_delete", "keys": part})
            for k in part:
                self._remember(_state_cache_key(k), _ABSENT)

    def reset(self):
        """Empties the cache (the host rolled the state back)."""
        self._cache.clear()

    def __repr__(self):
        return "<storm.State: %d cached of at most %d>" % (len(self._cache), self.max_keys)


class StatefulBolt(BasicBolt):
    """A BasicBolt of a component declared `state:` in its topology, with
    ``self.state``, its task's key-value state (a ``State``, see there),
    which the host keeps and checkpoints: after a crash the bolt finds what
    the last checkpoint committed, and the tuples since are replayed. The
    bolt never sees a checkpoint. ``self.state`` is ready in ``initialize``.

    ``on_state_reset()`` is called when the host rolled the state back (the
    cache is already empty): drop anything derived from the state there.
    """

    state = None

    def on_state_reset(self):
        pass

    def run(self):
        global MODE
        MODE = Bolt
        conf, context = initComponent()
        try:
            squall = (context or {}).get("squall")
            spec = squall.get("state") if isinstance(squall, dict) else None
            if not isinstance(spec, dict):
                raise RuntimeError(
                    "%s is a StatefulBolt, but its component declares no state (the handshake has no "
                    "squall.state): add `state: {}` to it in the topology" % self.__class__.__name__)
            _state_requests.clear()
            self.state = State(spec.get("cache_max_keys") or 100000)
            self.initialize(conf, context)
            process = self.process
            while True:
                msg = readCommand()
                command = msg.get("command")
                if command is not None:
                    if command == "state_reset":
                        self.state.reset()
                        self.on_state_reset()
                    elif command in _STATE_REPLIES:
                        _route_state_reply(msg)  # the rest of an iteration left early
                    _maybe_flush()
                    continue
                _execute_basic(self, msg, process)
                _maybe_flush()
        except Exception:
            _die()


class StatefulWindowedBolt(WindowedBolt):
    """Storm's IStatefulWindowedBolt: a WindowedBolt of a component declared
    both `window:` and `state:`, with ``self.state`` as in StatefulBolt
    (ready in ``initialize``). What process_window writes is checkpointed
    with the window's tuples: they are acked once they left every window
    and a checkpoint then committed; after a crash or a rollback the state
    is the last commit's and the windows are rebuilt from what the spouts
    replay (at least once: a window may be processed again).
    ``on_state_reset()`` is called when the host rolled the state back."""

    state = None

    def on_state_reset(self):
        pass

    def _open_state(self, context):
        squall = (context or {}).get("squall")
        spec = squall.get("state") if isinstance(squall, dict) else None
        if not isinstance(spec, dict):
            raise RuntimeError(
                "%s is a StatefulWindowedBolt, but its component declares no state (the handshake has no "
                "squall.state): add `state: {}` to it in the topology" % self.__class__.__name__)
        _state_requests.clear()
        self.state = State(spec.get("cache_max_keys") or 100000)
