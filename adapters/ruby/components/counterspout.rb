# frozen_string_literal: true

# Reference component counterspout: a reliable spout emitting 0, 1, 2, ...
# with replay. See multilang/testdata/transcripts/README.md.

require 'storm'

class CounterSpout < Storm::Spout
  def open(conf, _context)
    @limit = conf.fetch('squall.test.limit', 3)
    @next_number = 0
    @replay = []
  end

  def nextTuple
    if !@replay.empty?
      n = @replay.shift
    elsif @next_number < @limit
      n = @next_number
      @next_number += 1
    else
      return
    end
    emit([n], id: n)
  end

  def ack(id); end

  def fail(id)
    @replay.push(id)
  end

  def activate
    logInfo('activated')
  end

  def deactivate
    logInfo('deactivated')
  end
end

CounterSpout.new.run if $PROGRAM_NAME == __FILE__
