# frozen_string_literal: true

# Reference component statecount: a StatefulBolt that counts words in its
# state. See multilang/testdata/transcripts/README.md.

require 'storm'

class StateCount < Storm::StatefulBolt
  def process(tup)
    op, arg = tup.values
    case op
    when 'count'
      state[arg] = state.fetch(arg, 0) + 1
      emit([arg, state[arg]])
    when 'delete'
      state.delete(arg)
    when 'prefetch'
      state.prefetch(arg)
    when 'items'
      emit(['items', state.map { |k, v| [k, v] }])
    end
  end
end

StateCount.new.run if $PROGRAM_NAME == __FILE__
