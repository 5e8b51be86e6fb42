# frozen_string_literal: true

# Tests of Storm::Metrics' argument checks; what it sends is checked with
# the real host by the worker's TestAdapterMetricHelpers.

require 'minitest/autorun'
$LOAD_PATH.unshift(File.expand_path('..', __dir__))
require 'storm'

class MetricsArgumentsTest < Minitest::Test
  def test_bad_values_raise_before_sending
    [
      -> { Storm::Metrics.counter('', 1) },
      -> { Storm::Metrics.counter(:c, 1) },
      -> { Storm::Metrics.counter('c', -1) },
      -> { Storm::Metrics.counter('c', 1.5) },
      -> { Storm::Metrics.gauge('g', Float::NAN) },
      -> { Storm::Metrics.gauge('g', '3') },
      -> { Storm::Metrics.histogram('h', -0.1) },
      -> { Storm::Metrics.histogram('h', []) },
      -> { Storm::Metrics.histogram('h', [1] * 1001) },
      -> { Storm::Metrics.histogram('h', [1, -1]) }
    ].each { |call| assert_raises(ArgumentError) { call.call } }
  end
end
