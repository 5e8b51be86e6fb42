# Splits each sentence into words. `require 'storm'` finds squall's Ruby
# adapter without copying it here.
require 'storm'

class SplitSentence < Storm::BasicBolt
  def process(tup)
    tup.values[0].split.each { |word| emit([word]) }
  end
end

SplitSentence.new.run
