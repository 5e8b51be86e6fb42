'use strict';

// Preloaded into every Node child (NODE_OPTIONS=--require) by squall.
// Scripts written for Apache Storm load its adapter from beside them,
// require('./storm'), because a Storm jar holds storm.js there. When no such
// file exists, that one load gets squall's adapter instead; every other
// resolution, and this one when the file exists, is Node's own, errors
// included (only this function shows in their stacks).

const Module = require('module');
const path = require('path');

const adapter = path.join(__dirname, '..', 'node', 'storm.js');
const requests = new Set(['./storm', './storm.js']);
const resolve = Module._resolveFilename;

Module._resolveFilename = function resolveStormBeside(request, ...rest) {
  if (!requests.has(request)) return resolve.call(this, request, ...rest);
  try {
    return resolve.call(this, request, ...rest);
  } catch (err) {
    if (err.code === 'MODULE_NOT_FOUND') return adapter;
    throw err;
  }
};
