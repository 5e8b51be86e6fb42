// Package topology is squall's model of a Storm topology: components (spouts
// and bolts, written in Go or run as multilang child processes), the streams
// they declare, the groupings that join them, and configuration under Storm's
// key names.
//
// A Topology is built either from YAML (the native form or Flux's, see
// LoadFile) or with the Go Builder, and is always validated before anything
// runs. Go components implement Spout or Bolt and talk to the runtime through
// a SpoutCollector or BoltCollector; a Registry maps the names YAML uses to
// Go constructors, explicitly, with no init-time side effects.
package topology
