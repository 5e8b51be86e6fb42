# frozen_string_literal: true

# Tests of Storm::StatefulBolt and its state, through storm/testing's fake
# host state.

require 'minitest/autorun'
require 'minitest/mock'

stateful_adapter_dir = File.expand_path('..', __dir__)
$LOAD_PATH.unshift(stateful_adapter_dir) unless $LOAD_PATH.include?(stateful_adapter_dir)
require 'storm/testing'
require File.join(stateful_adapter_dir, 'components', 'statecount')
require_relative 'test_storm'

# Runs the operation tuple[0] on state and emits what it returns.
class StateOps < Storm::StatefulBolt
  def prepare(_conf, _context)
    @resets = 0
    @boot = state['boot']
  end

  def on_state_reset
    @resets += 1
  end

  def process(tup)
    op, arg = tup.values
    case op
    when 'get' then emit([state.fetch(arg, 'absent')])
    when 'fetch' then emit([state.fetch(arg)])
    when 'has' then emit([state.key?(arg)])
    when 'put' then state[arg[0]] = arg[1]
    when 'update' then state.update(arg)
    when 'del' then state.delete(arg)
    when 'nan' then state[arg] = Float::NAN # JSON cannot carry it
    when 'first'
      state.each do |k, v| # left after the first item
        emit([k, v])
        break
      end
      emit([state[arg]])
    when 'ids'
      state.each { |k, _| emit([k], need_task_ids: true) }
    when 'mutate'
      v = state[arg]
      v << 'changed' # not stored: values are copies
      emit([state[arg]])
    when 'len' then emit([state.size, state.keys.sort, state.to_h.sort.map(&:last)])
    when 'resets' then emit([@resets, @boot])
    end
  end
end

class StatefulBoltTest < Minitest::Test
  BoltHarness = Storm::Testing::BoltHarness

  def quietly
    saved = $stderr
    $stderr = File.open(File::NULL, 'w')
    yield
  ensure
    $stderr.close unless $stderr.equal?(saved)
    $stderr = saved
  end

  def test_statecount_counts_in_the_fake_state
    BoltHarness.open(StateCount.new, state: { 'snow' => 2 }) do |h|
      assert_equal [['snow', 3]], h.process(%w[count snow]).values
      assert_equal [['snow', 4]], h.process(%w[count snow]).values
      assert_equal({ 'snow' => 4 }, h.state)
      assert_equal 1, h.state_round_trips # the second count hit the cache
      h.commit_state
      out = h.process(%w[count white])
      assert_equal [out.id], out.acked
      h.rollback_state
      assert_equal({ 'snow' => 4 }, h.state)
      assert_equal [['white', 1]], h.process(%w[count white]).values
      assert_equal 3, h.state_round_trips
    end
  end

  def test_reads_writes_and_copies
    BoltHarness.open(StateOps.new, state: { 'boot' => 'yes', 'l' => [1] }) do |h|
      assert_equal [[0, 'yes']], h.process(['resets', nil]).values # read in prepare
      assert_equal [['absent']], h.process(%w[get nope]).values
      out = h.process(%w[fetch nope])
      assert_equal [out.id], out.failed
      assert_match(/KeyError/, out.errors[0])
      assert_equal [[true]], h.process(%w[has l]).values
      assert_equal [[[1]]], h.process(%w[mutate l]).values
      h.process(['put', ['m', { 'a' => [1] }]])
      h.process(['update', { 'x' => 1, 'y' => nil }])
      assert_equal({ 'boot' => 'yes', 'l' => [1], 'm' => { 'a' => [1] }, 'x' => 1, 'y' => nil }, h.state)
      assert_equal [[true]], h.process(%w[has y]).values # nil is a value
      trips = h.state_round_trips
      assert_equal [[nil]], h.process(%w[get y]).values
      assert_equal trips, h.state_round_trips
      assert_equal [[5, %w[boot l m x y], ['yes', [1], { 'a' => [1] }, 1, nil]]], h.process(['len', nil]).values
    end
  end

  def test_keys_as_the_host_tells_them_apart
    BoltHarness.open(StateOps.new) do |h|
      h.process(['put', ['1', 'string']])
      h.process(['put', [1, 'number']])
      h.process(['put', [true, 'bool']])
      trips = h.state_round_trips
      assert_equal [['string']], h.process(%w[get 1]).values
      assert_equal [['number']], h.process(['get', 1.0]).values
      assert_equal [['bool']], h.process(['get', true]).values
      assert_equal trips, h.state_round_trips
      [nil, [1], "\0squall"].each do |bad|
        out = h.process(['put', [bad, 1]])
        assert_equal [out.id], out.failed, bad.inspect
      end
    end
  end

  def test_iteration_left_early_and_task_ids_while_streaming
    state = (0...25).to_h { |i| [format('k%03d', i), i] }
    BoltHarness.open(StateOps.new, state: state, task_ids: [7]) do |h|
      h.instance_variable_get(:@fake_state).items_per_reply = 10 # three replies
      assert_equal [['k000', 0], [7]], h.process(%w[first k007]).values
      out = h.process(['ids', nil])
      assert_equal 25, out.emits.size
      assert_equal [out.id], out.acked
      assert_equal [[25, state.keys.sort, (0...25).to_a]], h.process(['len', nil]).values
    end
  end

  def test_rollback_calls_on_state_reset
    BoltHarness.open(StateOps.new) do |h|
      h.process(['put', ['a', 1]])
      h.rollback_state(txid: 4)
      assert_equal [[1, nil]], h.process(['resets', nil]).values
      assert_equal [['absent']], h.process(%w[get a]).values
    end
  end

  def test_refused_without_state
    err = assert_raises(Storm::Testing::ComponentCrashed) do
      quietly { BoltHarness.new(StateOps.new, context: { 'squall' => { 'protocol' => 1 } }) }
    end
    assert_match(/declares no state/, err.message)
  end
end

class StatefulBoltWireTest < ComponentTestCase
  def handshake(conf = { 'topology.name' => 't' })
    h = super
    h['context']['squall'] = { 'protocol' => 1, 'state' => { 'cache_max_keys' => 10 } }
    h
  end

  # Tuples read at once, the child blocking only after the last: their
  # writes go as one state_put (and one state_delete), each key's last
  # value, ahead of the first ack that follows a write and of the
  # iteration's state_items sent later.
  def test_writes_between_flushes_go_as_one_before_their_acks
    out = nil
    Storm.stub(:now, 0.0) do # no flush for time in between, however slow the machine
      out, = run_component(StateOps.new, [
                             { 'command' => 'state_values', 'items' => [] }, # prepare's read
                             tup('1', 'get', 'x'),
                             { 'command' => 'state_values', 'items' => [] },
                             tup('2', 'put', ['a', 1]),
                             tup('3', 'put', ['b', [1, 2]]),
                             tup('4', 'put', ['a', 2]),
                             tup('5', 'update', { 'c' => 3, 'b' => nil }),
                             tup('6', 'put', ['d', 4]),
                             tup('6d', 'del', 'd'),
                             tup('6b', 'del', 'b'),
                             tup('6p', 'put', ['b', 5]),
                             tup('7', 'first', 'b'),
                             { 'command' => 'state_items', 'items' => [['a', 2]] }
                           ], one_read: true)
    end
    cmds = out.reject { |m| m['command'] == 'emit' }.map { |m| [m['command'], m['keys'] || m['items'] || m['id']] }
    assert_equal [
      ['state_get', ['boot']], ['state_get', ['x']], %w[ack 1],
      ['state_put', [['a', 2], ['c', 3], ['b', 5]]], ['state_delete', ['d']],
      %w[ack 2], %w[ack 3], %w[ack 4], %w[ack 5], %w[ack 6], %w[ack 6d], %w[ack 6b], %w[ack 6p],
      ['state_items', nil], %w[ack 7]
    ], cmds
    assert_equal [['a', 2], [5]], out.select { |m| m['command'] == 'emit' }.map { |m| m['tuple'] }[-2..] # b read back from the cache
  end

  # Encoded when assigned, not when written: the tuple that assigned a
  # value JSON cannot carry fails, the other writes go on.
  def test_a_value_json_cannot_carry_fails_its_tuple
    out, = run_component(StateOps.new, [
                           { 'command' => 'state_values', 'items' => [] },
                           tup('1', 'put', ['a', 1]), tup('2', 'nan', 'b'), tup('3', 'put', ['c', 3])
                         ])
    cmds = out.reject { |m| m['command'] == 'error' }.map { |m| [m['command'], m['keys'] || m['items'] || m['id']] }
    assert_equal [['state_get', ['boot']], ['state_put', [['a', 1]]], %w[ack 1], %w[fail 2], ['state_put', [['c', 3]]], %w[ack 3]], cmds
    assert(out.any? { |m| m['command'] == 'error' && m['msg'].include?('NaN') })
  end
end

# A write made when the buffer is a few bytes short of a flush: the flush
# that reserving or growing its place causes sends it.
class StateNextToAFullBufferTest < Minitest::Test
  def test_writes_next_to_a_full_buffer_are_sent_in_order
    out = []
    w = Storm::JsonWriter.new(->(d) { out << d })
    Storm::Protocol.stub(:writer, w) do
      s = Storm::State.new
      w.add('command' => 'emit', 'tuple' => ['x' * (Storm::FLUSH_BYTES - 60)])
      s['k'] = 1
      w.add('command' => 'ack', 'id' => '1')
      w.add('command' => 'emit', 'tuple' => ['x' * (Storm::FLUSH_BYTES - 60)])
      s.delete('k')
      w.add('command' => 'ack', 'id' => '2')
      w.flush
    end
    msgs = out.join.split("\nend\n").map { |m| JSON.parse(m) }.reject { |m| m['command'] == 'emit' }
    assert_equal [
      { 'command' => 'state_put', 'items' => [['k', 1]] }, { 'command' => 'ack', 'id' => '1' },
      { 'command' => 'state_delete', 'keys' => ['k'] }, { 'command' => 'ack', 'id' => '2' }
    ], msgs
  end
end
