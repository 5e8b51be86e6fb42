# frozen_string_literal: true

# Test multilang spouts and bolts without a topology.
#
# A harness runs a component's own run loop, in a thread of the test
# process, against an in-memory host that speaks the multilang protocol: the
# component is handed tuples (or next/ack/fail commands) one at a time, and
# everything it sends back is collected. The component goes through exactly
# the code it runs under squall or Storm: the handshake, prepare/open,
# BasicBolt's anchoring, acking and failing, JSON encoding of every value,
# task-id requests. With minitest:
#
#   require 'minitest/autorun'
#   require 'storm/testing'
#   require_relative '../resources/split'
#
#   class SplitTest < Minitest::Test
#     def test_splits
#       Storm::Testing::BoltHarness.open(SplitSentence.new) do |bolt|
#         out = bolt.process(['snow white'])
#         assert_equal [['snow'], ['white']], out.values
#         assert_equal [out.id], out.acked
#       end
#     end
#   end
#
# A spout: spout.next, spout.ack(id), spout.fail(id), spout.activate,
# spout.deactivate.
#
# Each call returns an Outcome with what the component did in answer:
# emits (Emit: tuple/values, stream, anchors, id, task), acked and failed
# (tuple ids), logs (Log: msg, level), errors (reportError texts) and metrics
# ([name, params]). The harness keeps the totals under the same names.
#
# A component whose code raises where storm.rb exits (a plain Bolt's
# process, any Spout method) makes the call raise ComponentCrashed, whose
# cause is the original exception; a call not answered within the timeout
# (default 30 s, or SQUALL_TEST_TIMEOUT) raises ComponentTimeout.
#
# storm.rb keeps one connection per process, so one harness runs at a time:
# close it (or use open with a block) before the next. puts in the component
# goes to the test's own output.

require 'json'
require 'tmpdir'
require 'fileutils'
require 'storm'

module Storm
  module Testing
    DEFAULT_TIMEOUT = Float(ENV.fetch('SQUALL_TEST_TIMEOUT', '30'))

    # One emit: values, stream, anchors (a bolt's, tuple ids), id (a
    # spout's message id, nil if unreliable), task (a direct emit's task).
    Emit = Struct.new(:tuple, :stream, :anchors, :id, :task) do
      def values
        tuple
      end
    end

    # One log command.
    Log = Struct.new(:msg, :level)

    # The component's run loop ended with a non-zero status, as it would
    # have in a worker. The original exception is the cause.
    class ComponentCrashed < StandardError
      attr_reader :exit_code

      def initialize(message, exit_code)
        super(message)
        @exit_code = exit_code
      end
    end

    # The component did not finish handling an input in time.
    class ComponentTimeout < StandardError; end

    # What a component did: in answer to one input, or in total.
    class Outcome
      attr_reader :id, :emits, :acked, :failed, :logs, :errors, :metrics, :messages

      def initialize(id = nil)
        @id = id
        @emits = []
        @acked = []
        @failed = []
        @logs = []
        @errors = []
        @metrics = []
        @messages = []
      end

      # The values of the emits, of one stream if given.
      def values(stream = nil)
        @emits.select { |e| stream.nil? || e.stream == stream }.map(&:tuple)
      end

      def add(msg)
        @messages << msg
        case msg['command']
        when 'emit'
          anchors = msg.fetch('anchors', [])
          anchors = [anchors] unless anchors.is_a?(Array)
          @emits << Emit.new(msg['tuple'], msg['stream'] || 'default', anchors, msg['id'], msg['task'])
        when 'ack' then @acked << msg['id']
        when 'fail' then @failed << msg['id']
        when 'log' then @logs << Log.new(msg['msg'], msg.fetch('level', Storm::INFO))
        when 'error' then @errors << msg['msg']
        when 'metrics' then @metrics << [msg['name'], msg['params']]
        end
      end

      def inspect
        parts = %i[emits acked failed logs errors metrics].filter_map do |k|
          v = public_send(k)
          "#{k}=#{v.inspect}" unless v.empty?
        end
        "#<Outcome #{parts.empty? ? 'nothing' : parts.join(' ')}>"
      end
      alias to_s inspect
    end

    @active = nil
    @active_lock = Mutex.new
    class << self
      attr_accessor :active
      attr_reader :active_lock
    end

    # The in-memory host and the thread running the component.
    class Harness
      attr_reader :conf, :context, :pid_dir

      # Runs the harness, yields it and closes it.
      def self.open(component, **opts)
        h = new(component, **opts)
        begin
          yield h
        ensure
          h.close
        end
      end

      def initialize(kind, component, conf: {}, context: {}, component_id: nil, task_id: 1, task_ids: [1],
                     timeout: DEFAULT_TIMEOUT)
        Testing.active_lock.synchronize do
          raise 'another harness is still open: storm.rb talks to one host per process, so close it first' if Testing.active

          Testing.active = self
        end
        @kind = kind
        @component = component
        @timeout = timeout
        @task_ids = task_ids
        @mutex = Mutex.new
        @cv = ConditionVariable.new
        @chunks = []
        @idle = false
        @done = false
        @exit = nil
        @out = String.new
        @closed = false
        @total = Outcome.new
        @pid_dir = Dir.mktmpdir('storm-testing-')
        component_id ||= kind
        @conf = { 'topology.name' => 'test', 'storm.id' => 'test-1-1' }.merge(conf)
        @context = { 'taskid' => task_id, 'componentid' => component_id,
                     'task->component' => { task_id.to_s => component_id } }.merge(context)
        begin
          start
          out = send_message({ 'pidDir' => @pid_dir, 'conf' => @conf, 'context' => @context })
          raise "the #{kind} did not answer the handshake with its pid: #{out.inspect}" unless out.messages.any? { |m| m.key?('pid') }
        rescue StandardError
          close
          raise
        end
      end

      %i[emits acked failed logs errors metrics].each do |name|
        define_method(name) { @total.public_send(name) }
      end

      # The values of every emit so far, of one stream if given.
      def values(stream = nil)
        @total.values(stream)
      end

      # Closes the component's input, so that its run loop ends, and waits.
      def close
        already = @mutex.synchronize do
          was = @closed
          @closed = true
          @cv.broadcast
          was
        end
        @thread&.join(@timeout) unless already
        FileUtils.remove_entry(@pid_dir, true) if @pid_dir
        restore if @saved && !@thread&.alive?
        Testing.active_lock.synchronize { Testing.active = nil if Testing.active.equal?(self) }
      end

      private

      def start
        p = Storm::Protocol
        @saved = [p.reader, p.writer, p.stdout_log, p.mode, p.anchor_tuple]
        p.connect(Storm::JsonReader.new(method(:read_more), p.method(:before_block)),
                  Storm::JsonWriter.new(method(:write)))
        p.mode = nil
        p.anchor_tuple = nil
        @thread = Thread.new do
          @component.run
        rescue SystemExit, StandardError, ScriptError => e
          @exit = e
        ensure
          @mutex.synchronize do
            @done = true
            @cv.broadcast
          end
        end
        @thread.report_on_exception = false
      end

      def restore
        p = Storm::Protocol
        p.connect(@saved[0], @saved[1], @saved[2])
        p.mode = @saved[3]
        p.anchor_tuple = @saved[4]
        @saved = nil
      end

      # What the component reads: blocks until the test sends something.
      def read_more
        @mutex.synchronize do
          while @chunks.empty? && !@closed
            @idle = true
            @cv.broadcast
            @cv.wait(@mutex)
          end
          @chunks.shift
        end
      end

      def write(data)
        @mutex.synchronize { @out << data }
      end

      # Sends msg, waits until the component waits for input again
      # (answering its task-id requests) and returns what it sent.
      def send_message(msg, id = nil)
        raise 'the harness is closed' if @closed

        out = Outcome.new(id)
        pending = ["#{JSON.generate(msg)}\nend\n"]
        deadline = Storm.now + @timeout
        until pending.empty?
          data = @mutex.synchronize do
            @chunks.concat(pending)
            pending = []
            @idle = false
            @cv.broadcast
            until (@idle && @chunks.empty?) || @done
              left = deadline - Storm.now
              raise ComponentTimeout, "the #{@kind} did not finish handling #{short(msg)} within #{@timeout}s" if left <= 0

              @cv.wait(@mutex, left)
            end
            d = @out
            @out = String.new
            d
          end
          data.split("\nend\n").each do |part|
            next if part.strip.empty?

            m = JSON.parse(part)
            out.add(m)
            @total.add(m)
            if m['command'] == 'emit' && !m.key?('task') && m['need_task_ids'] != false
              pending << "#{JSON.generate(answer(out.emits.last))}\nend\n"
            elsif @fake_state && m['command'].to_s.start_with?('state_')
              @fake_state.answer(m).each { |r| pending << "#{JSON.generate(r)}\nend\n" }
            end
          end
          crashed(msg, out) if @done
        end
        out
      end

      def answer(emit)
        (@task_ids.respond_to?(:call) ? @task_ids.call(emit) : @task_ids).to_a
      end

      def crashed(msg, out)
        e = @exit
        code = e.is_a?(SystemExit) ? e.status : 1
        if code.zero?
          raise ComponentCrashed.new("the #{@kind}'s run loop returned while handling #{short(msg)}", 0)
        end

        cause = e.is_a?(SystemExit) && e.cause ? e.cause : e
        text = out.errors.empty? ? cause.inspect : out.errors.last.lines.first.to_s.strip
        begin
          raise cause
        rescue Exception # rubocop:disable Lint/RescueException
          raise ComponentCrashed.new("the #{@kind} crashed (exit status #{code}) while handling #{short(msg)}: #{text}", code)
        end
      end

      def short(msg)
        text = JSON.generate(msg)
        text.length <= 120 ? text : "#{text[0, 117]}..."
      end
    end

    # Runs a Bolt or BasicBolt: process hands it one input tuple. conf is
    # merged over topology.name and storm.id; context over a minimal task
    # context; task_ids is what the host answers an emit that asks for task
    # ids (an array, or a proc of the Emit).
    #
    # A StatefulBolt (or any bolt given state:) gets a fake host state
    # (FakeState) holding state (a Hash) and the handshake of a component
    # declared `state:`, caching at most cache_max_keys values: state is
    # the Hash, state_round_trips counts the bolt's reads, commit_state and
    # rollback_state play a checkpoint and a rollback.
    class BoltHarness < Harness
      def initialize(bolt, component_id: 'bolt', state: nil, cache_max_keys: 100_000, context: {}, **opts)
        @next_id = 0
        if !state.nil? || (defined?(Storm::StatefulBolt) && bolt.is_a?(Storm::StatefulBolt))
          @fake_state = FakeState.new(state || {})
          squall = { 'protocol' => 1, 'state' => { 'cache_max_keys' => cache_max_keys } }
          context = { 'squall' => squall }.merge(context)
        end
        super('bolt', bolt, component_id: component_id, context: context, **opts)
      end

      # The bolt's state as the host holds it (a Hash; the bolt's cache
      # does not see changes made here until rollback_state).
      def state
        @fake_state.data
      end

      # How many state reads (state_get, state_items) the bolt sent.
      def state_round_trips
        @fake_state.round_trips
      end

      # Keeps the state as it is now, as a checkpoint's commit does.
      def commit_state
        @fake_state.committed = @fake_state.data.dup
      end

      # Rolls the state back to the last commit_state (empty if none), as
      # the host does after a failed checkpoint, and tells the bolt
      # (state_reset: its cache is emptied, on_state_reset runs).
      def rollback_state(txid: 1)
        @fake_state.data = @fake_state.committed.dup
        send_message({ 'command' => 'state_reset', 'txid' => txid })
      end

      # Hands the bolt a tuple of values; returns what it did in answer.
      def process(values, stream: 'default', component: 'source', task: 2, id: nil)
        id ||= (@next_id += 1).to_s
        send_message({ 'id' => id, 'comp' => component, 'stream' => stream, 'task' => task, 'tuple' => values }, id)
      end

      # Hands the bolt a tick tuple.
      def tick(freq_secs = 1)
        id = (@next_id += 1).to_s
        send_message({ 'id' => id, 'comp' => '__system', 'stream' => '__tick', 'task' => -1, 'tuple' => [freq_secs] }, id)
      end

      # Sends a heartbeat; the adapter answers it with sync.
      def heartbeat
        send_message({ 'id' => '-1', 'comp' => nil, 'stream' => '__heartbeat', 'task' => -1, 'tuple' => [] })
      end
    end

    # The host's side of a StatefulBolt's state in a BoltHarness: answers
    # the bolt's state commands from a Hash, data (keys as JSON decodes
    # them: Strings, Integers, Floats, true, false), and counts the reads
    # that cost the bolt a round trip. state_items streams items_per_reply
    # at a time.
    class FakeState
      attr_accessor :data, :committed, :round_trips, :items_per_reply

      def initialize(data = {}, items_per_reply: 1000)
        @data = data.to_h { |k, v| [k.is_a?(Symbol) ? k.to_s : k, v] }
        @committed = {}
        @round_trips = 0
        @items_per_reply = items_per_reply
      end

      # Applies one state command; returns the host's replies to it.
      def answer(msg)
        case msg['command']
        when 'state_get'
          @round_trips += 1
          [{ 'command' => 'state_values', 'items' => msg['keys'].select { |k| @data.key?(k) }.map { |k| [k, @data[k]] } }]
        when 'state_put'
          msg['items'].each { |k, v| @data[k] = v }
          []
        when 'state_delete'
          msg['keys'].each { |k| @data.delete(k) }
          []
        when 'state_items'
          @round_trips += 1
          parts = @data.to_a.each_slice(@items_per_reply).map { |s| { 'command' => 'state_items', 'items' => s, 'more' => true } }
          parts = [{ 'command' => 'state_items', 'items' => [] }] if parts.empty?
          parts.last.delete('more')
          parts
        else
          []
        end
      end
    end

    # Runs a Spout: each method sends one command and returns what the
    # spout did before its sync.
    class SpoutHarness < Harness
      def initialize(spout, component_id: 'spout', **opts)
        super('spout', spout, component_id: component_id, **opts)
      end

      def next
        command('next')
      end

      def ack(id)
        command('ack', id)
      end

      def fail(id)
        command('fail', id)
      end

      def activate
        command('activate')
      end

      def deactivate
        command('deactivate')
      end

      private

      def command(name, id = '')
        out = send_message({ 'command' => name, 'id' => id })
        raise "the spout did not end its answer to #{name} with sync: #{out.messages.inspect}" unless out.messages.last == { 'command' => 'sync' }

        out
      end
    end
  end
end
