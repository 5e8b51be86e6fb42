# frozen_string_literal: true

# Reference component reference: a Bolt exercising every bolt command by
# tuple[0]. See multilang/testdata/transcripts/README.md.

require 'storm'

class Reference < Storm::Bolt
  LOGGERS = %i[logTrace logDebug logInfo logWarn logError].freeze

  def process(tup)
    if tup.tick?
      ack(tup)
      return
    end
    op, *args = tup.values
    case op
    when 'emit'
      emit([args[0]], anchor: tup)
    when 'ids'
      task_ids = emit([args[0]], anchor: tup, need_task_ids: true)
      emit([task_ids], anchor: tup)
    when 'direct'
      emit_direct(args[0], [args[1]], stream: 'direct', anchor: tup)
    when 'stream'
      emit([args[1]], stream: args[0], anchor: tup)
    when 'fail'
      fail(tup)
      return
    when 'log'
      send(LOGGERS.fetch(args[0]), args[1])
    when 'error'
      reportError(args[0])
    when 'metric'
      rpcMetrics(args[0], args[1])
    when 'print'
      puts args[0]
    else
      raise ArgumentError, "unknown operation #{op.inspect}"
    end
    ack(tup)
  end
end

Reference.new.run if $PROGRAM_NAME == __FILE__
