# Lowercases each word.
require 'storm'

class Lowercase < Storm::BasicBolt
  def process(tup)
    emit([tup.values[0].downcase])
  end
end

Lowercase.new.run
