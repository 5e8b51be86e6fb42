// Package builtin holds squall's stock Go components: spouts for tests,
// demos and benchmarks (random sentences, Storm's test word spout, lines of
// a file), simple bolts (count, log, null, identity) and a custom grouping,
// plus the aliases that let Storm's own Flux example files use them under
// their Java class names.
//
// Nothing registers itself: call Register with the program's Registry to
// make them available to YAML (`go: squall.Count`), or use the factory
// functions (RandomSentences, Count, ...) with the Go Builder.
//
// The components are on the hot path of squall's benchmarks, so they avoid
// per-tuple allocations where they can: fixed values are allocated once,
// and every bolt acks every input, as a bolt must.
package builtin
