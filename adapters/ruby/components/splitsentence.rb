# frozen_string_literal: true

# Reference component splitsentence: a BasicBolt that emits every word of a
# sentence. See multilang/testdata/transcripts/README.md.

require 'storm'

class SplitSentence < Storm::BasicBolt
  def process(tup)
    return if tup.tick?

    sentence = tup.values[0]
    raise ArgumentError, 'empty sentence' if sentence.empty?

    sentence.split(' ').each { |word| emit([word]) }
  end
end

SplitSentence.new.run if $PROGRAM_NAME == __FILE__
