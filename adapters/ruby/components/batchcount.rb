# frozen_string_literal: true

# Reference component batchcount: a Bolt with the finish hook of a DRPC
# chain. See multilang/testdata/transcripts/README.md.

require 'storm'

class BatchCount < Storm::Bolt
  def prepare(_conf, _context)
    @counts = Hash.new(0)
  end

  def process(tup)
    @counts[tup.values[0]] += 1 unless tup.tick?
    ack(tup)
  end

  def finish_batch(request)
    raise ArgumentError, 'boom: the finish hook raised' if request == 'boom'

    emit([request, @counts.delete(request) || 0])
  end
end

BatchCount.new.run
