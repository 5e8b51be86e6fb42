# frozen_string_literal: true

# Test bolt: metered.py in Ruby.
require 'storm'

class Metered < Storm::BasicBolt
  def process(tup)
    n = tup.values[0].length
    Storm::Metrics.counter('seen', 2)
    Storm::Metrics.histogram('length', n)
    Storm::Metrics.gauge('last', n)
  end
end

Metered.new.run
