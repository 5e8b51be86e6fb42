# storm-starter's splitsentence.rb, anchoring and acking so that the spout
# sees every sentence through.
require "./storm"

class SplitSentenceBolt < Storm::Bolt
  def process(tup)
    tup.values[0].split(" ").each do |word|
      emit([word], :anchor => tup)
    end
    ack(tup)
  end
end

SplitSentenceBolt.new.run
