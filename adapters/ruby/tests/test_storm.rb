# frozen_string_literal: true

# Tests of storm.rb: framing and MessagePack in-process, components driven
# in-process through Storm::Protocol.connect, and real child processes.

require 'minitest/autorun'
require 'json'
require 'open3'
require 'timeout'
require 'tmpdir'

ADAPTER_DIR = File.expand_path('..', __dir__)
COMPONENTS_DIR = File.join(ADAPTER_DIR, 'components')
$LOAD_PATH.unshift(ADAPTER_DIR)
require 'storm'

# Generous: interpreters start slowly on a busy machine. Only waits for what
# must come use it.
TIMEOUT = 60

def frame(msg)
  "#{JSON.generate(msg)}\nend\n"
end

def pack(msg)
  Storm::Msgpack.pack(msg, String.new(encoding: Encoding::BINARY))
end

def parse_json_output(data)
  return [] if data.empty?

  raise "output does not end with an end line: #{data[-40..].inspect}" unless data.end_with?("\nend\n")

  data[0...-5].split("\nend\n").map { |m| JSON.parse(m) }
end

def parse_msgpack_output(data)
  u = Storm::Msgpack::Unpacker.new(data.b)
  out = []
  out << u.value(0) while u.pos < data.bytesize
  out
end

def tup(id, *values)
  { 'id' => id, 'comp' => 'source', 'stream' => 'default', 'task' => 4, 'tuple' => values }
end

HEARTBEAT = { 'id' => 'hb', 'comp' => nil, 'stream' => '__heartbeat', 'task' => -1, 'tuple' => [] }.freeze
TICK = { 'id' => 'tick', 'comp' => '__system', 'stream' => '__tick', 'task' => -1, 'tuple' => [10] }.freeze

# Chunks handed out one per read; every write recorded.
class FakeHost
  attr_reader :writes, :blocks

  def initialize(data, chunk_size)
    @chunks = data.b.scan(/.{1,#{chunk_size}}/mn)
    @writes = []
    @blocks = 0
  end

  def read_more
    -> { @chunks.shift }
  end

  def before_block
    -> { @blocks += 1 }
  end

  def write
    ->(bytes) { @writes << bytes.dup }
  end
end

class ReaderTest < Minitest::Test
  def read_all(reader_class, data, size)
    host = FakeHost.new(data, size)
    r = reader_class.new(host.read_more, host.before_block)
    out = []
    err = assert_raises(Storm::HostClosed) { loop { out << r.read } }
    assert_equal 0, err.status
    out
  end

  def test_json_framing_whatever_the_read_split
    data = "{\"a\": 1}\nend\n[3, 7]\nend\n{\n  \"pretty\": [1,\n 2],\n  \"s\": \"end\"\n}\nend\n" \
           "{\"crlf\": true}\r\nend\r\n{\"u\": \"sn\u00f6 \u2603\"}\nend\n\"end\\nend\"\nend\n"
    want = [{ 'a' => 1 }, [3, 7], { 'pretty' => [1, 2], 's' => 'end' }, { 'crlf' => true },
            { 'u' => "sn\u00f6 \u2603" }, "end\nend"]
    [1, 2, 3, 5, 7, 13, data.bytesize].each do |size|
      assert_equal want, read_all(Storm::JsonReader, data, size), "chunk size #{size}"
    end
  end

  def test_json_partial_message_at_eof_is_a_clean_close
    assert_equal [{ 'a' => 1 }], read_all(Storm::JsonReader, "{\"a\": 1}\nend\n{\"b\": 2}\nen", 4)
  end

  def test_msgpack_framing_whatever_the_read_split
    msgs = [{ 'a' => 1 }, [3, 7], { 's' => "sn\u00f6", 'b' => "\x00\xff".b, 'f' => 2.5, 'n' => nil },
            { 'big' => 'x' * 70_000 }, { 'many' => (0...3000).to_a }, { 'nested' => [[[{ 'k' => [true, false] }]]] }]
    data = msgs.map { |m| pack(m) }.join
    [1, 2, 3, 7, 100, 65_536, data.bytesize].each do |size|
      assert_equal msgs, read_all(Storm::MsgpackReader, data, size), "chunk size #{size}"
    end
  end

  def test_before_block_runs_only_when_input_is_needed
    host = FakeHost.new("{\"a\": 1}\nend\n{\"b\": 2}\nend\n", 1000)
    r = Storm::JsonReader.new(host.read_more, host.before_block)
    assert_equal [{ 'a' => 1 }, { 'b' => 2 }], [r.read, r.read]
    assert_equal 1, host.blocks
  end

  def test_sniff
    { '{"pidDir"' => 'json', " \n{" => 'json', '' => 'json', nil => 'json',
      "\x83\xa6pidDir".b => 'msgpack', "\xde\x00\x03".b => 'msgpack' }.each do |data, want|
      assert_equal want, Storm.sniff(data), data.inspect
    end
  end
end

class MsgpackTest < Minitest::Test
  VALUES = [
    0, 1, 127, 128, 255, 256, 65_535, 65_536, 2**32 - 1, 2**32, 2**64 - 1,
    -1, -32, -33, -128, -129, -32_768, -32_769, -2**31, -2**31 - 1, -2**63,
    1.5, -0.25, 1e300, Float::INFINITY,
    '', 'a', 'x' * 31, 'x' * 32, 'x' * 300, 'y' * 70_000, "sn\u00f6 \u2603 \u{1d11e}",
    true, false, nil, [], [1, [2, [3]]], ['z'] * 20, {}, { 'a' => { 'b' => [1, 'c'] } },
    "\x00\xff\x01".b
  ].freeze

  def test_round_trip
    VALUES.each do |v|
      back = Storm::Msgpack.unpack(pack(v))[0]
      if v.nil?
        assert_nil back
      else
        assert_equal v, back, v.inspect[0, 40]
      end
      assert_equal v.encoding, back.encoding if v.is_a?(String) && !v.empty?
    end
  end

  def test_smallest_forms
    { { 'a' => 1 } => '81a16101', [1, -1, 200, -200] => '9401ffccc8d1ff38', 1.5 => 'cb3ff8000000000000',
      "sn\u00f6" => 'a4736ec3b6', 'hi'.b => 'a26869', "\xffhi".b => 'c403ff6869', nil => 'c0',
      { sym: :bol } => '81a373796da3626f6c' }.each do |v, hex|
      assert_equal hex, pack(v).unpack1('H*'), v.inspect
    end
  end

  def test_reads_what_others_write
    assert_equal 1.5, Storm::Msgpack.unpack(['ca3fc00000'].pack('H*'))[0]
    assert_equal({ 'ext' => 5, 'data' => "\x01".b }, Storm::Msgpack.unpack(['d40501'].pack('H*'))[0])
    assert_equal({ '7' => 'x' }, Storm::Msgpack.unpack(['8107a178'].pack('H*'))[0])
    assert_equal "a\uFFFDb", Storm::Msgpack.unpack(['a361ff62'].pack('H*'))[0]
    assert_raises(Storm::Msgpack::FormatError) { Storm::Msgpack.unpack(['c1'].pack('H*')) }
    assert_raises(Storm::Msgpack::Incomplete) { Storm::Msgpack.unpack(['92'].pack('H*')) }
  end

  def test_failed_add_leaves_the_writer_as_it_was
    writes = []
    w = Storm::MsgpackWriter.new(->(b) { writes << b.dup })
    w.add('command' => 'sync')
    assert_raises(RangeError) { w.add('tuple' => ['x', 2**70]) }
    w.flush
    assert_equal [{ 'command' => 'sync' }], parse_msgpack_output(writes.join)
  end
end

class TupleTest < Minitest::Test
  def test_kinds
    [[Storm::Tuple.new('1', 'source', 'default', 4, ['a']), false, false],
     [Storm::Tuple.new('2', '__system', '__tick', -1, [10]), true, false],
     [Storm::Tuple.new('3', nil, '__heartbeat', -1, []), false, true],
     [Storm::Tuple.new('4', 'source', '__tick', 4, []), false, false]].each do |t, tick, heartbeat|
      assert_equal tick, t.tick?
      assert_equal tick, t.is_tick_tuple
      assert_equal heartbeat, t.heartbeat?
      assert_equal heartbeat, t.is_heartbeat
    end
    t = Storm::Tuple.from_hash(tup('7', 'a'))
    assert_equal ['7', 'source', 'default', 4, ['a']], [t.id, t.component, t.stream, t.task, t.values]
  end
end

# Runs components in-process against in-memory input and output.
class ComponentTestCase < Minitest::Test
  def setup
    @pid_dir = Dir.mktmpdir('storm-test-')
    @saved = %i[mode need_task_ids anchor_tuple reader writer stdout_log].map { |k| Storm::Protocol.send(k) }
    Storm::Protocol.mode = nil
    Storm::Protocol.need_task_ids = false
    Storm::Protocol.anchor_tuple = nil
  end

  def teardown
    %i[mode need_task_ids anchor_tuple reader writer stdout_log].zip(@saved).each { |k, v| Storm::Protocol.send("#{k}=", v) }
    Storm::Protocol.pending_commands.clear
    Storm::Protocol.pending_taskids.clear
    FileUtils.rm_rf(@pid_dir)
  end

  def handshake(conf = { 'topology.name' => 't' })
    { 'pidDir' => @pid_dir, 'conf' => conf, 'context' => { 'taskid' => 3, 'componentid' => 'c' } }
  end

  # Runs component against messages (after a handshake, one chunk each, or
  # all in one with one_read, as from a busy host) and returns [its
  # messages without the pid reply, the writes].
  def run_component(component, messages, serializer: 'json', want_status: 0, stdout_log: nil, one_read: false)
    encode = serializer == 'msgpack' ? method(:pack) : method(:frame)
    chunks = ([handshake] + messages).map { |m| encode.call(m).b }
    chunks = [chunks[0], chunks[1..].join] if one_read
    writes = []
    reader_class, writer_class = Storm::SERIALIZERS.fetch(serializer)
    writer = writer_class.new(->(b) { writes << b.dup })
    Storm::Protocol.connect(reader_class.new(-> { chunks.shift }, -> { Storm::Protocol.before_block }), writer, stdout_log)
    status = nil
    stderr = capture_io do
      err = assert_raises(SystemExit) { component.run }
      status = err.status
    end[1]
    assert_equal want_status, status, "stderr: #{stderr}"
    @stderr = stderr
    out = serializer == 'msgpack' ? parse_msgpack_output(writes.join) : parse_json_output(writes.join)
    assert_equal({ 'pid' => Process.pid }, out[0])
    assert File.file?(File.join(@pid_dir, Process.pid.to_s)), 'no pid file'
    [out[1..], writes]
  end
end

# A bolt that runs a block per tuple and records the tuples.
class Recorder < Storm::Bolt
  attr_reader :seen, :conf, :context

  def initialize(&block)
    super()
    @block = block
    @seen = []
  end

  def prepare(conf, context)
    @conf = conf
    @context = context
  end

  def process(tup)
    @seen << tup
    instance_exec(tup, &@block) if @block
  end
end

class BoltTest < ComponentTestCase
  def test_emit_ack_and_heartbeat
    bolt = Recorder.new do |t|
      emit(t.values, anchor: t)
      ack(t)
    end
    out, = run_component(bolt, [tup('7', 'a', 1), HEARTBEAT, TICK])
    assert_equal({ 'topology.name' => 't' }, bolt.conf)
    assert_equal [
      { 'command' => 'emit', 'anchors' => ['7'], 'tuple' => ['a', 1], 'need_task_ids' => false },
      { 'command' => 'ack', 'id' => '7' },
      { 'command' => 'sync' },
      { 'command' => 'emit', 'anchors' => ['tick'], 'tuple' => [10], 'need_task_ids' => false },
      { 'command' => 'ack', 'id' => 'tick' }
    ], out
    assert_equal %w[7 tick], bolt.seen.map(&:id)
  end

  def test_emit_forms
    returned = []
    bolt = Recorder.new do |t|
      returned << emit(['plain'])
      emit(['s'], stream: 'words', anchors: [t])
      emit(['ids'], anchors: %w[x y])
      emit(['one'], anchor: t)
      emit(['str'], anchor: 'z')
      returned << emit(['direct'], direct_task: 9, anchor: t)
      returned << emit_direct(5, ['d'], stream: 's', anchors: [t])
      fail(t)
    end
    out, = run_component(bolt, [tup('7', 'a')])
    assert_equal [nil, nil, nil], returned
    assert_equal [
      { 'command' => 'emit', 'anchors' => [], 'tuple' => ['plain'], 'need_task_ids' => false },
      { 'command' => 'emit', 'anchors' => ['7'], 'tuple' => ['s'], 'stream' => 'words', 'need_task_ids' => false },
      { 'command' => 'emit', 'anchors' => %w[x y], 'tuple' => ['ids'], 'need_task_ids' => false },
      { 'command' => 'emit', 'anchors' => ['7'], 'tuple' => ['one'], 'need_task_ids' => false },
      { 'command' => 'emit', 'anchors' => ['z'], 'tuple' => ['str'], 'need_task_ids' => false },
      { 'command' => 'emit', 'anchors' => ['7'], 'tuple' => ['direct'], 'task' => 9 },
      { 'command' => 'emit', 'anchors' => ['7'], 'tuple' => ['d'], 'stream' => 's', 'task' => 5 },
      { 'command' => 'fail', 'id' => '7' }
    ], out
  end

  def test_other_commands
    bolt = Recorder.new do |t|
      log('plain')
      log('warned', 3)
      %i[logTrace logDebug logInfo logWarn logError].each { |m| send(m, m.to_s) }
      reportError('bad')
      rpcMetrics('m', { 'count' => 2 })
      sync
      ack(t.id)
    end
    out, = run_component(bolt, [tup('7', 'a')])
    assert_equal [
      { 'command' => 'log', 'msg' => 'plain', 'level' => 2 },
      { 'command' => 'log', 'msg' => 'warned', 'level' => 3 },
      { 'command' => 'log', 'msg' => 'logTrace', 'level' => 0 },
      { 'command' => 'log', 'msg' => 'logDebug', 'level' => 1 },
      { 'command' => 'log', 'msg' => 'logInfo', 'level' => 2 },
      { 'command' => 'log', 'msg' => 'logWarn', 'level' => 3 },
      { 'command' => 'log', 'msg' => 'logError', 'level' => 4 },
      { 'command' => 'error', 'msg' => 'bad' },
      { 'command' => 'metrics', 'name' => 'm', 'params' => { 'count' => 2 } },
      { 'command' => 'sync' },
      { 'command' => 'ack', 'id' => '7' }
    ], out
  end

  def test_task_ids_keep_queued_messages_in_order
    got = []
    bolt = Recorder.new do |t|
      got << emit(['v'], anchor: t, need_task_ids: true) if t.values[0] == 'ids'
      ack(t)
    end
    out, = run_component(bolt, [tup('1', 'ids'), tup('2', 'x'), HEARTBEAT, [3, 7], tup('3', 'ids'), [], tup('4', 'x')])
    assert_equal [[3, 7], []], got
    assert_equal %w[1 2 3 4], bolt.seen.map(&:id)
    assert_equal [
      { 'command' => 'emit', 'anchors' => ['1'], 'tuple' => ['v'] },
      { 'command' => 'ack', 'id' => '1' },
      { 'command' => 'ack', 'id' => '2' },
      { 'command' => 'sync' },
      { 'command' => 'emit', 'anchors' => ['3'], 'tuple' => ['v'] },
      { 'command' => 'ack', 'id' => '3' },
      { 'command' => 'ack', 'id' => '4' }
    ], out
  end

  def test_storm_compatible_task_ids
    Storm::Protocol.need_task_ids = true
    got = []
    bolt = Recorder.new do |t|
      got << emit(['v'])
      got << emit(['w'], need_task_ids: false)
      got << emit_direct(2, ['d'])
      ack(t)
    end
    out, = run_component(bolt, [tup('1', 'a'), [4]])
    assert_equal [[4], nil, nil], got
    assert_equal({ 'command' => 'emit', 'anchors' => [], 'tuple' => ['v'] }, out[0])
  end

  def test_one_write_per_input_message_when_input_trickles
    bolt = Recorder.new do |t|
      t.values.each { |v| emit([v], anchor: t) }
      ack(t)
    end
    _, writes = run_component(bolt, [tup('1', 'a', 'b', 'c'), HEARTBEAT, tup('2', 'd')])
    assert_equal [%w[pid], %w[emit emit emit ack], %w[sync], %w[emit ack]],
                 writes.map { |w| parse_json_output(w).map { |m| m['command'] || 'pid' } }
  end

  def test_stdout_lines_become_info_logs
    # The stream run_component's capture_io hides $stdout behind; the
    # process tests check that puts reaches it.
    log_stream = Storm::StdoutToLog.new
    bolt = Recorder.new do |t|
      log_stream.puts 'hello', 42
      log_stream.print 'no newline'
      log_stream << "two\nlines\n"
      ack(t)
    end
    out, = run_component(bolt, [tup('1', 'a')], stdout_log: log_stream)
    assert_equal [
      { 'command' => 'log', 'msg' => 'hello', 'level' => 2 },
      { 'command' => 'log', 'msg' => '42', 'level' => 2 },
      { 'command' => 'log', 'msg' => 'no newlinetwo', 'level' => 2 },
      { 'command' => 'log', 'msg' => 'lines', 'level' => 2 },
      { 'command' => 'ack', 'id' => '1' }
    ], out
  end

  def test_exception_reports_and_exits_1
    bolt = Recorder.new do |_t|
      emit(['before'])
      raise 'boom in process'
    end
    out, = run_component(bolt, [tup('1', 'a'), tup('2', 'b')], want_status: 1)
    assert_equal %w[emit error], out.map { |m| m['command'] }
    assert_includes out[1]['msg'], 'boom in process'
    assert_includes @stderr, 'boom in process'
  end

  def test_over_msgpack
    got = []
    bolt = Recorder.new do |t|
      got << emit(['v'], anchor: t, need_task_ids: true) if t.values[0] == 'ids'
      emit(t.values, anchor: t) unless t.values[0] == 'ids'
      ack(t)
    end
    out, = run_component(bolt, [tup('1', 'ids'), [4, 2], tup('2', "\xfe".b, 1.5, nil)], serializer: 'msgpack')
    assert_equal [[4, 2]], got
    assert_equal [
      { 'command' => 'emit', 'anchors' => ['1'], 'tuple' => ['v'] },
      { 'command' => 'ack', 'id' => '1' },
      { 'command' => 'emit', 'anchors' => ['2'], 'tuple' => ["\xfe".b, 1.5, nil], 'need_task_ids' => false },
      { 'command' => 'ack', 'id' => '2' }
    ], out
  end
end

class Split < Storm::BasicBolt
  def process(tup)
    return if tup.tick?
    raise ArgumentError, 'empty sentence' if tup.values[0].empty?

    tup.values[0].split(' ').each { |w| emit([w], anchor: 'ignored') }
  end
end

class BasicBoltTest < ComponentTestCase
  def test_anchors_acks_fails_and_goes_on
    out, = run_component(Split.new, [tup('1', 'a b'), tup('2', ''), HEARTBEAT, TICK, tup('3', 'c')])
    assert_equal [
      { 'command' => 'emit', 'anchors' => ['1'], 'tuple' => ['a'], 'need_task_ids' => false },
      { 'command' => 'emit', 'anchors' => ['1'], 'tuple' => ['b'], 'need_task_ids' => false },
      { 'command' => 'ack', 'id' => '1' },
      { 'command' => 'fail', 'id' => '2' }
    ], out[0, 4]
    assert_equal 'error', out[4]['command']
    assert_includes out[4]['msg'], 'ArgumentError: empty sentence'
    assert_equal [
      { 'command' => 'sync' },
      { 'command' => 'ack', 'id' => 'tick' },
      { 'command' => 'emit', 'anchors' => ['3'], 'tuple' => ['c'], 'need_task_ids' => false },
      { 'command' => 'ack', 'id' => '3' }
    ], out[5..]
  end
end

class Counter < Storm::Spout
  attr_reader :events

  def open(_conf, _context)
    @n = 0
    @events = []
  end

  def nextTuple
    return unless @n < 2

    emit([@n], id: @n)
    @n += 1
  end

  def ack(id)
    @events << ['ack', id]
  end

  def fail(id)
    @events << ['fail', id]
  end

  def activate
    @events << ['activate']
  end

  def deactivate
    @events << ['deactivate']
  end
end

class SpoutTest < ComponentTestCase
  def test_cycle
    spout = Counter.new
    cmds = %w[activate next next next].map { |c| { 'command' => c, 'id' => '' } }
    cmds += [{ 'command' => 'ack', 'id' => 0 }, { 'command' => 'fail', 'id' => { 'k' => [1] } },
             { 'command' => 'deactivate', 'id' => '' }, { 'command' => 'bogus' }]
    out, = run_component(spout, cmds)
    sync = { 'command' => 'sync' }
    assert_equal [
      sync,
      { 'command' => 'emit', 'tuple' => [0], 'id' => 0, 'need_task_ids' => false }, sync,
      { 'command' => 'emit', 'tuple' => [1], 'id' => 1, 'need_task_ids' => false }, sync,
      sync, sync, sync, sync, sync
    ], out
    assert_equal [['activate'], ['ack', 0], ['fail', { 'k' => [1] }], ['deactivate']], spout.events
  end

  def test_emit_forms
    got = []
    spout = Class.new(Storm::Spout) do
      define_method(:nextTuple) do
        got << emit(['a'])
        got << emit(['b'], stream: 's', id: 'id-b')
        got << emit(['c'], id: 3, direct_task: 4)
        got << emit_direct(5, ['d'], id: 4)
        got << emit(['e'], need_task_ids: true)
      end
    end.new
    out, = run_component(spout, [{ 'command' => 'next', 'id' => '' }, [1, 2]])
    assert_equal [nil, nil, nil, nil, [1, 2]], got
    assert_equal [
      { 'command' => 'emit', 'tuple' => ['a'], 'need_task_ids' => false },
      { 'command' => 'emit', 'tuple' => ['b'], 'id' => 'id-b', 'stream' => 's', 'need_task_ids' => false },
      { 'command' => 'emit', 'tuple' => ['c'], 'id' => 3, 'task' => 4 },
      { 'command' => 'emit', 'tuple' => ['d'], 'id' => 4, 'task' => 5 },
      { 'command' => 'emit', 'tuple' => ['e'] },
      { 'command' => 'sync' }
    ], out
  end

  def test_exception_reports_and_exits_1
    spout = Class.new(Storm::Spout) do
      define_method(:nextTuple) { raise KeyError, 'no more' }
    end.new
    out, = run_component(spout, [{ 'command' => 'next', 'id' => '' }], want_status: 1)
    assert_equal ['error'], out.map { |m| m['command'] }
    assert_includes out[0]['msg'], 'KeyError'
  end
end

# A component script run with ruby against this adapter.
class Child
  attr_reader :pid

  def initialize(script, serializer: 'json')
    @dir = Dir.mktmpdir('storm-test-')
    @pid_dir = File.join(@dir, 'pids')
    Dir.mkdir(@pid_dir)
    path = script
    unless File.exist?(script)
      path = File.join(@dir, 'component.rb')
      File.write(path, script)
    end
    @serializer = serializer
    env = { 'RUBYLIB' => ADAPTER_DIR }
    @stdin, @stdout, @stderr, @wait = Open3.popen3(env, 'ruby', path, chdir: @dir)
    @stdout.binmode
    @stdin.binmode
    @pid = @wait.pid
    @buf = String.new(encoding: Encoding::BINARY)
  end

  # One write for the whole batch: a child that exits after the first message
  # (test_bolt_exception_exits_1) must not turn the second into EPIPE.
  def send_msgs(*msgs)
    @stdin.write(msgs.map { |m| @serializer == 'msgpack' ? pack(m) : frame(m) }.join)
    @stdin.flush
  end

  def handshake
    send_msgs('pidDir' => @pid_dir, 'conf' => {}, 'context' => { 'taskid' => 1 })
    reply = recv
    raise "pid reply #{reply.inspect}" unless reply == { 'pid' => @pid }
    raise 'no pid file' unless File.file?(File.join(@pid_dir, @pid.to_s))
  end

  def recv
    Timeout.timeout(TIMEOUT) do
      loop do
        if @serializer == 'msgpack'
          begin
            msg, pos = Storm::Msgpack.unpack(@buf)
            @buf = @buf.byteslice(pos..)
            return msg
          rescue Storm::Msgpack::Incomplete
            nil
          end
        elsif (i = @buf.index("\nend\n"))
          msg = @buf.byteslice(0, i)
          @buf = @buf.byteslice((i + 5)..)
          return JSON.parse(msg.force_encoding(Encoding::UTF_8))
        end
        @buf << @stdout.readpartial(65_536)
      end
    end
  end

  def recv_n(count)
    Array.new(count) { recv }
  end

  def close_output
    @stdout.close
  end

  # Closes stdin, waits for the exit and returns [status, stderr, the rest
  # of the output].
  def finish
    @stdin.close unless @stdin.closed?
    status = nil
    begin
      Timeout.timeout(TIMEOUT) { status = @wait.value }
    rescue Timeout::Error
      Process.kill('KILL', @pid)
      status = @wait.value
    end
    rest = @stdout.closed? ? '' : @buf + @stdout.read
    [status.exitstatus, @stderr.read, rest]
  ensure
    [@stdin, @stdout, @stderr].each { |io| io.close unless io.closed? }
    FileUtils.rm_rf(@dir)
  end

  def kill
    Process.kill('KILL', @pid)
  rescue Errno::ESRCH
    nil
  end
end

PRINTER = <<~RUBY
  require 'storm'

  class Printer < Storm::Bolt
    def process(t)
      case t.values[0]
      when 'print' then puts(*t.values[1..])
      when 'partial' then print 'no newline'
      when 'fd'
        STDOUT.syswrite("raw fd 1\\n")
        system('echo from a subprocess')
        log("fileno \#{$stdout.fileno}")
      when 'raise' then raise 'bolt broke'
      end
      ack(t)
    end
  end

  Printer.new.run
RUBY

class ProcessTest < Minitest::Test
  def child(*args, **kwargs)
    c = Child.new(*args, **kwargs)
    @children ||= []
    @children << c
    c
  end

  def teardown
    (@children || []).each(&:kill)
  end

  def test_print_becomes_info_log
    c = child(PRINTER)
    c.handshake
    c.send_msgs(tup('1', 'print', 'hello', 42))
    assert_equal [{ 'command' => 'log', 'msg' => 'hello', 'level' => 2 },
                  { 'command' => 'log', 'msg' => '42', 'level' => 2 },
                  { 'command' => 'ack', 'id' => '1' }], c.recv_n(3)
    c.send_msgs(tup('2', 'partial'))
    assert_equal [{ 'command' => 'ack', 'id' => '2' },
                  { 'command' => 'log', 'msg' => 'no newline', 'level' => 2 }], c.recv_n(2)
    assert_equal [0, '', ''], c.finish
  end

  def test_raw_stdout_goes_to_stderr
    c = child(PRINTER)
    c.handshake
    c.send_msgs(tup('1', 'fd'))
    assert_equal [{ 'command' => 'log', 'msg' => 'fileno 1', 'level' => 2 },
                  { 'command' => 'ack', 'id' => '1' }], c.recv_n(2)
    status, stderr, = c.finish
    assert_equal 0, status
    assert_includes stderr, 'raw fd 1'
    assert_includes stderr, 'from a subprocess'
  end

  def test_bolt_exception_exits_1
    c = child(PRINTER)
    c.handshake
    c.send_msgs(tup('1', 'raise'), tup('2', 'print', 'never'))
    err = c.recv
    assert_equal 'error', err['command']
    assert_includes err['msg'], 'bolt broke'
    status, stderr, = c.finish
    assert_equal 1, status
    assert_includes stderr, 'bolt broke'
  end

  def test_eof_exits_cleanly
    c = child(File.join(COMPONENTS_DIR, 'splitsentence.rb'))
    assert_equal [0, '', ''], c.finish
    d = child(File.join(COMPONENTS_DIR, 'reference.rb'))
    d.handshake
    d.send_msgs(tup('1', 'ids', 'v'))
    assert_equal({ 'command' => 'emit', 'anchors' => ['1'], 'tuple' => ['v'] }, d.recv)
    assert_equal [0, '', ''], d.finish
  end

  def test_host_that_stops_reading
    c = child(File.join(COMPONENTS_DIR, 'passthrough.rb'))
    c.handshake
    c.close_output
    c.send_msgs(tup('1', 'x'))
    status, stderr, = c.finish
    assert_equal [0, ''], [status, stderr]
  end

  def test_msgpack_host
    c = child(File.join(COMPONENTS_DIR, 'reference.rb'), serializer: 'msgpack')
    c.handshake
    c.send_msgs(tup('1', 'emit', "\x00bytes\xff".b), tup('2', 'ids', 1.5))
    assert_equal [{ 'command' => 'emit', 'anchors' => ['1'], 'tuple' => ["\x00bytes\xff".b], 'need_task_ids' => false },
                  { 'command' => 'ack', 'id' => '1' },
                  { 'command' => 'emit', 'anchors' => ['2'], 'tuple' => [1.5] }], c.recv_n(3)
    c.send_msgs([3, 7])
    assert_equal [{ 'command' => 'emit', 'anchors' => ['2'], 'tuple' => [[3, 7]], 'need_task_ids' => false },
                  { 'command' => 'ack', 'id' => '2' }], c.recv_n(2)
    status, stderr, = c.finish
    assert_equal [0, ''], [status, stderr]
  end
end
