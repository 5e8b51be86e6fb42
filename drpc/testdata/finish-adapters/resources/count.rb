# Counts the tuples of a request and answers the count in finish_batch.
require 'storm'

class Count < Storm::Bolt
  def prepare(_conf, _context)
    @counts = Hash.new(0)
  end

  def process(tup)
    @counts[tup.values[0]] += 1
    ack(tup)
  end

  def finish_batch(request_id)
    emit([request_id, "ruby:#{@counts.delete(request_id) || 0}"])
  end
end

Count.new.run
