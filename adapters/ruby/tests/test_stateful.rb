# frozen_string_literal: true

# Tests of Storm::StatefulBolt and its state, through storm/testing's fake
# host state.

require 'minitest/autorun'

stateful_adapter_dir = File.expand_path('..', __dir__)
$LOAD_PATH.unshift(stateful_adapter_dir) unless $LOAD_PATH.include?(stateful_adapter_dir)
require 'storm/testing'
require File.join(stateful_adapter_dir, 'components', 'statecount')

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
