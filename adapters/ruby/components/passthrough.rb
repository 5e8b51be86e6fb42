# frozen_string_literal: true

# Reference component passthrough: a Bolt that emits every tuple unchanged,
# anchored, and acks it. See multilang/testdata/transcripts/README.md.

require 'storm'

class Passthrough < Storm::Bolt
  def process(tup)
    emit(tup.values, anchor: tup)
    ack(tup)
  end
end

Passthrough.new.run if $PROGRAM_NAME == __FILE__
