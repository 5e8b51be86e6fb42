# frozen_string_literal: true

# Tests of storm/testing, the harness users test their components with, on
# the adapter's reference components.

require 'minitest/autorun'

harness_adapter_dir = File.expand_path('..', __dir__)
$LOAD_PATH.unshift(harness_adapter_dir) unless $LOAD_PATH.include?(harness_adapter_dir)
require 'storm/testing'
%w[splitsentence passthrough reference counterspout].each do |c|
  require File.join(harness_adapter_dir, 'components', c)
end

module Quiet
  # Runs the block with $stderr silenced: storm.rb prints the error of a
  # component that dies, as it does in a worker.
  def quietly
    saved = $stderr
    $stderr = File.open(File::NULL, 'w')
    yield
  ensure
    $stderr.close unless $stderr.equal?(saved)
    $stderr = saved
  end
end

class BoltHarnessTest < Minitest::Test
  include Quiet
  BoltHarness = Storm::Testing::BoltHarness

  def test_basic_bolt_emits_anchored_and_acks
    BoltHarness.open(SplitSentence.new) do |bolt|
      out = bolt.process(['snow white and the seven dwarfs'])
      assert_equal [['snow'], ['white'], ['and'], ['the'], ['seven'], ['dwarfs']], out.values
      out.emits.each { |e| assert_equal [out.id], e.anchors }
      assert_equal [out.id], out.acked
      assert_empty out.failed
    end
  end

  def test_a_raise_fails_the_tuple_and_reports
    BoltHarness.open(SplitSentence.new) do |bolt|
      out = bolt.process([''])
      assert_equal [out.id], out.failed
      assert_match(/empty sentence/, out.errors.first)
      assert_equal [['a'], ['b']], bolt.process(['a b']).values
      assert_equal [['a'], ['b']], bolt.values
    end
  end

  def test_ticks_and_heartbeats
    BoltHarness.open(SplitSentence.new) do |bolt|
      out = bolt.tick(5)
      assert_empty out.emits
      assert_equal [out.id], out.acked
      assert_equal [{ 'command' => 'sync' }], bolt.heartbeat.messages
    end
  end

  def test_every_command_with_task_ids
    BoltHarness.open(Reference.new, task_ids: [3, 7]) do |bolt|
      assert_equal [['w'], [[3, 7]]], bolt.process(%w[ids w]).values
      direct = bolt.process(['direct', 5, 'v']).emits.first
      assert_equal [5, 'direct', ['v']], [direct.task, direct.stream, direct.values]
      assert_equal [Storm::Testing::Log.new('careful', Storm::WARN)], bolt.process(['log', 3, 'careful']).logs
      assert_equal ['oops'], bolt.process(%w[error oops]).errors
      assert_equal [['m', 2]], bolt.process(['metric', 'm', 2]).metrics
      failed = bolt.process(['fail'])
      assert_equal [[], [failed.id]], [failed.acked, failed.failed]
    end
  end

  def test_passthrough
    BoltHarness.open(Passthrough.new) do |bolt|
      out = bolt.process([1, 'two', [3]], stream: 's', component: 'src', task: 7, id: '42')
      assert_equal [1, 'two', [3]], out.emits.first.values
      assert_equal ['42'], out.emits.first.anchors
      assert_equal ['42'], out.acked
    end
  end

  def test_conf_and_context_reach_prepare
    seen = {}
    probe = Class.new(Storm::Bolt) do
      define_method(:prepare) { |conf, context| seen.update(conf: conf, context: context) }
    end
    BoltHarness.open(probe.new, conf: { 'my.setting' => 3 }, component_id: 'probe', task_id: 9) { nil }
    assert_equal 3, seen[:conf]['my.setting']
    assert_equal ['probe', 9], [seen[:context]['componentid'], seen[:context]['taskid']]
  end

  def test_a_crash_raises_with_the_cause
    broken = Class.new(Storm::Bolt) do
      def process(_tup)
        raise KeyError, 'missing'
      end
    end
    BoltHarness.open(broken.new) do |bolt|
      e = assert_raises(Storm::Testing::ComponentCrashed) { quietly { bolt.process(['x']) } }
      assert_equal 1, e.exit_code
      assert_kind_of KeyError, e.cause
      assert_match(/KeyError/, bolt.errors.first)
    end
  end

  def test_a_timeout_raises
    release = Queue.new
    slow = Class.new(Storm::Bolt) do
      define_method(:process) do |tup|
        release.pop
        ack(tup)
      end
    end
    bolt = BoltHarness.new(slow.new, timeout: 0.2)
    assert_raises(Storm::Testing::ComponentTimeout) { bolt.process(['x']) }
  ensure
    release << :go
    bolt&.close
  end

  def test_one_harness_at_a_time
    BoltHarness.open(Passthrough.new) do
      assert_raises(RuntimeError) { BoltHarness.new(Passthrough.new) }
    end
    BoltHarness.open(Passthrough.new) { |again| assert_equal [['x']], again.process(['x']).values }
  end
end

class SpoutHarnessTest < Minitest::Test
  include Quiet
  SpoutHarness = Storm::Testing::SpoutHarness

  def test_reliable_spout_replays_what_failed
    SpoutHarness.open(CounterSpout.new, conf: { 'squall.test.limit' => 2 }) do |spout|
      first = spout.next.emits.first
      assert_equal [[0], 0], [first.values, first.id]
      assert_equal 1, spout.next.emits.first.id
      assert_empty spout.next.emits
      spout.fail(0)
      assert_equal [[0]], spout.next.values
      spout.ack(0)
      assert_equal [[0], [1], [0]], spout.values
    end
  end

  def test_activate_and_deactivate
    SpoutHarness.open(CounterSpout.new) do |spout|
      assert_equal ['activated'], spout.activate.logs.map(&:msg)
      assert_equal ['deactivated'], spout.deactivate.logs.map(&:msg)
    end
  end

  def test_a_crash_raises
    broken = Class.new(Storm::Spout) do
      def nextTuple # rubocop:disable Naming/MethodName
        raise 'no more'
      end
    end
    SpoutHarness.open(broken.new) do |spout|
      e = assert_raises(Storm::Testing::ComponentCrashed) { quietly { spout.next } }
      assert_kind_of RuntimeError, e.cause
    end
  end
end
