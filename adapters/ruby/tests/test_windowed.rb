# frozen_string_literal: true

# Tests of Storm::WindowedBolt, driven in-process as the host drives it.

require_relative 'test_storm'

# A window message: added holds tuples (sent whole) or ids (streamed before).
def window_msg(id, added, expired = [], start: 0, finish: 999, reset: false, forget: nil)
  added = added.map { |t| t.is_a?(String) ? t : t.values_at('id', 'comp', 'stream', 'task', 'tuple') }
  w = { 'start' => start, 'end' => finish, 'new' => added, 'expired' => expired }
  w['reset'] = true if reset
  w['forget'] = forget if forget
  { 'id' => id, 'comp' => '__system', 'stream' => '__window', 'task' => -1, 'tuple' => [w] }
end

# Tuples streamed ahead of their window, grouped by source as the host does.
def add_msg(id, tuples)
  runs = tuples.group_by { |t| t.values_at('comp', 'stream', 'task') }.map do |(c, s, k), ts|
    [c, s, k, ts.map { |t| t['id'] }, ts.map { |t| t['tuple'] }]
  end
  { 'id' => id, 'comp' => '__system', 'stream' => '__window', 'task' => -1, 'tuple' => [{ 'add' => runs }] }
end

# Records each window's words and emits their count; raises on "boom".
class WindowRecorder < Storm::WindowedBolt
  attr_reader :seen

  def prepare(_conf, _context)
    @seen = []
  end

  attr_reader :last

  def process_window(w)
    words = ->(ts) { ts.map { |t| t.values[0] } }
    @last = w
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

  def test_tuples_put_back_by_a_recovery_are_in_the_window_but_not_new
    # After a restart with a message id field, the host puts back tuples
    # evaluated before: a whole window lists them in "old".
    b = WindowRecorder.new
    w1 = window_msg('w1', [tup('1', 'a'), tup('2', 'b'), tup('3', 'c')], reset: true)
    w1['tuple'][0]['old'] = %w[1 2]
    run_component(b, [w1, window_msg('w2', [tup('4', 'd')], ['1'])])
    assert_equal [
      [%w[a b c], ['c'], [], 0, 999],
      [%w[b c d], ['d'], ['a'], 0, 999]
    ], b.seen
  end

  def test_streamed_tuples_are_named_by_windows
    b = WindowRecorder.new
    other = tup('4', 'd').merge('comp' => 'other', 'stream' => 's2', 'task' => 7)
    out, = run_component(b, [
                           add_msg('a1', [tup('1', 'a'), tup('2', 'b')]),
                           add_msg('a2', [tup('3', 'c'), other, tup('9', 'dropped')]),
                           window_msg('w1', %w[1 2], reset: true),
                           window_msg('w2', ['3', tup('5', 'e'), '4'], ['1'], forget: ['9'])
                         ])
    assert_equal [
      [%w[a b], %w[a b], [], 0, 999],
      [%w[b c e d], %w[c e d], ['a'], 0, 999]
    ], b.seen
    d = b.last.new[2]
    assert_equal %w[other s2 4], [d.component, d.stream, d.id]
    assert_equal 7, d.task
    cmds = out.reject { |m| m['command'] == 'emit' }.map { |m| [m['command'], m['id']] }
    assert_equal [%w[ack a1], %w[ack a2], %w[ack w1], %w[ack w2]], cmds
  end

  def test_a_reset_keeps_streamed_tuples_and_a_whole_one_replaces_its_copy
    b = WindowRecorder.new
    run_component(b, [
                    add_msg('a1', [tup('1', 'a'), tup('2', 'b')]),
                    window_msg('w1', ['1'], reset: true),
                    window_msg('w2', [tup('1', 'a'), tup('2', 'b')], reset: true),
                    window_msg('w3', [], %w[1 2])
                  ])
    assert_equal [['a'], %w[a b], []], b.seen.map(&:first)
  end

  def test_a_window_naming_a_tuple_never_streamed_is_failed
    b = WindowRecorder.new
    out, = run_component(b, [
                           window_msg('w1', [tup('1', 'a')], reset: true),
                           window_msg('w2', ['2'], ['1']),
                           window_msg('w3', ['3']),
                           window_msg('w4', [tup('1', 'a'), tup('2', 'b')], reset: true)
                         ])
    assert_equal [['a'], %w[a b]], b.seen.map(&:first)
    cmds = out.reject { |m| m['command'] == 'emit' }.map { |m| [m['command'], m['id']] }
    assert_equal [%w[ack w1], %w[fail w2], %w[fail w3], %w[ack w4]], cmds
  end

  def test_a_tuple_outside_a_window_is_refused
    out, = run_component(WindowRecorder.new, [tup('1', 'a')], want_status: 1)
    assert(out.any? { |m| m['command'] == 'error' && m['msg'].include?('declares no window') })
  end
end

# Counts each window's new words in its state.
class WindowCount < Storm::StatefulWindowedBolt
  attr_reader :resets

  def prepare(_conf, _context)
    @resets = 0
  end

  def on_state_reset
    @resets += 1
  end

  def process_window(w)
    w.new.each { |t| state[t.values[0]] = state.fetch(t.values[0], 0) + 1 }
  end
end

class StatefulWindowedBoltTest < ComponentTestCase
  def handshake(conf = { 'topology.name' => 't' })
    h = super
    h['context']['squall'] = { 'protocol' => 1, 'state' => { 'cache_max_keys' => 10 } } unless @no_state
    h
  end

  def test_windows_read_and_write_the_state_and_a_reset_clears_its_cache
    b = WindowCount.new
    out, = run_component(b, [
                           add_msg('a1', [tup('1', 'a'), tup('2', 'a')]),
                           window_msg('w1', %w[1 2], reset: true),
                           { 'command' => 'state_values', 'items' => [] },
                           { 'command' => 'state_reset', 'txid' => 3 },
                           window_msg('w2', [tup('3', 'a')], %w[1 2]),
                           { 'command' => 'state_values', 'items' => [['a', 9]] }
                         ])
    cmds = out.map { |m| [m['command'], m['keys'] || m['items'] || m['id']] }
    assert_equal [
      %w[ack a1],
      ['state_get', ['a']], ['state_put', [['a', 2]]], %w[ack w1], # a's writes as one
      ['state_get', ['a']], ['state_put', [['a', 10]]], %w[ack w2]
    ], cmds
    assert_equal 1, b.resets
  end

  def test_refused_without_state
    @no_state = true
    out, = run_component(WindowCount.new, [], want_status: 1)
    assert(out.any? { |m| m['command'] == 'error' && m['msg'].include?('declares no state') })
  end
end
