# frozen_string_literal: true

# Tests of Storm::WindowedBolt, driven in-process as the host drives it.

require_relative 'test_storm'

def window_msg(id, added, expired = [], start: 0, finish: 999, reset: false)
  added = added.map { |t| t.values_at('id', 'comp', 'stream', 'task', 'tuple') }
  w = { 'start' => start, 'end' => finish, 'new' => added, 'expired' => expired }
  w['reset'] = true if reset
  { 'id' => id, 'comp' => '__system', 'stream' => '__window', 'task' => -1, 'tuple' => [w] }
end

# Records each window's words and emits their count; raises on "boom".
class WindowRecorder < Storm::WindowedBolt
  attr_reader :seen

  def prepare(_conf, _context)
    @seen = []
  end

  def process_window(w)
    words = ->(ts) { ts.map { |t| t.values[0] } }
    @seen << [words.call(w.tuples), words.call(w.new), words.call(w.expired), w.start, w.end]
    raise ArgumentError, 'boom' if words.call(w.new) == ['boom']

    emit([w.tuples.size])
  end
end

class WindowedBoltTest < ComponentTestCase
  def test_windows_are_kept_and_acked
    b = WindowRecorder.new
    out, = run_component(b, [
                           window_msg('w1', [tup('1', 'a'), tup('2', 'b')], reset: true),
                           HEARTBEAT,
                           window_msg('w2', [tup('3', 'c')], ['1'], start: 1000, finish: 1999),
                           window_msg('w3', [], ['2'], start: 2000, finish: 2999)
                         ])
    assert_equal [
      [%w[a b], %w[a b], [], 0, 999],
      [%w[b c], ['c'], ['a'], 1000, 1999],
      [['c'], [], ['b'], 2000, 2999]
    ], b.seen
    assert_equal [
      { 'command' => 'emit', 'anchors' => ['w1'], 'tuple' => [2], 'need_task_ids' => false },
      { 'command' => 'ack', 'id' => 'w1' },
      { 'command' => 'sync' },
      { 'command' => 'emit', 'anchors' => ['w2'], 'tuple' => [2], 'need_task_ids' => false },
      { 'command' => 'ack', 'id' => 'w2' },
      { 'command' => 'emit', 'anchors' => ['w3'], 'tuple' => [1], 'need_task_ids' => false },
      { 'command' => 'ack', 'id' => 'w3' }
    ], out
  end

  def test_a_window_that_raises_is_failed_and_the_next_must_be_whole
    b = WindowRecorder.new
    out, = run_component(b, [
                           window_msg('w1', [tup('1', 'boom')], reset: true),
                           window_msg('w2', [tup('2', 'x')]),
                           window_msg('w3', [tup('1', 'boom'), tup('2', 'x')], reset: true)
                         ])
    assert_equal [['boom'], %w[boom x]], b.seen.map(&:first)
    cmds = out.reject { |m| m['command'] == 'error' }.map { |m| [m['command'], m['id']] }
    assert_equal [%w[fail w1], %w[fail w2], ['emit', nil], %w[ack w3]], cmds
    assert(out.any? { |m| m['command'] == 'error' && m['msg'].include?('ArgumentError: boom') })
  end

  def test_a_restarted_child_fails_a_window_it_does_not_hold
    b = WindowRecorder.new
    out, = run_component(b, [window_msg('w9', [tup('5', 'a')], ['4'])])
    assert_equal [], b.seen
    assert_equal [{ 'command' => 'fail', 'id' => 'w9' }], out
  end

  def test_a_tuple_outside_a_window_is_refused
    out, = run_component(WindowRecorder.new, [tup('1', 'a')], want_status: 1)
    assert(out.any? { |m| m['command'] == 'error' && m['msg'].include?('declares no window') })
  end
end
