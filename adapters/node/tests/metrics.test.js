'use strict';

// Tests of storm.metrics' argument checks; what it sends is checked with
// the real host by the worker's TestAdapterMetricHelpers.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const path = require('node:path');

const storm = require(path.resolve(__dirname, '..', 'storm.js'));

test('bad metric values throw before anything is sent', () => {
  for (const call of [
    () => storm.metrics.counter('', 1),
    () => storm.metrics.counter(3, 1),
    () => storm.metrics.counter('c', -1),
    () => storm.metrics.counter('c', 1.5),
    () => storm.metrics.gauge('g', NaN),
    () => storm.metrics.gauge('g', '3'),
    () => storm.metrics.histogram('h', -0.1),
    () => storm.metrics.histogram('h', []),
    () => storm.metrics.histogram('h', new Array(1001).fill(1)),
    () => storm.metrics.histogram('h', [1, -1]),
  ]) {
    assert.throws(call, (err) => err instanceof TypeError || err instanceof RangeError);
  }
});
