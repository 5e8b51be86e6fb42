package drpc

import "github.com/squallstream/squall/topology"

// Registry names of the DRPC components.
const (
	SpoutName         = "squall.DRPCSpout"
	ReturnResultsName = "squall.ReturnResults"
)

// Storm's class names for them, so that Flux files naming them run.
const (
	StormDRPCSpout     = "org.apache.storm.drpc.DRPCSpout"
	StormReturnResults = "org.apache.storm.drpc.ReturnResults"
)

// Register adds squall.DRPCSpout and squall.ReturnResults, and Storm's
// class names for them, to r, with squall.PrepareRequest and
// squall.JoinResult, which the `drpc:` section of the topology format
// wires in:
//
//	spouts:
//	  - id: drpc
//	    go: squall.DRPCSpout
//	    args: {function: exclamation}          # servers: [host:port] optional
//	bolts:
//	  - id: return
//	    go: squall.ReturnResults
//
// It panics if a name is already registered.
// The components dial with the topology's drpc.client.* credentials
// (TopologyCredentials).
func Register(r *topology.Registry) { RegisterWith(r, Options{Credentials: TopologyCredentials}) }

// Options configure the registered components.
type Options struct {
	// Credentials, if set, gives the components' dial options: the
	// security layer's.
	Credentials Credentials
}

// RegisterWith is Register with options.
func RegisterWith(r *topology.Registry, o Options) {
	r.RegisterSpout(SpoutName, func(a topology.Args) (topology.Spout, error) {
		a.Require("function")
		c := SpoutConfig{
			Function:    a.String("function", ""),
			Servers:     a.Strings("servers", nil),
			Prefetch:    a.Int("prefetch", 0),
			Credentials: o.Credentials,
		}
		if err := a.Err(); err != nil {
			return nil, err
		}
		return NewSpout(c)
	})
	r.RegisterBolt(ReturnResultsName, func(a topology.Args) (topology.Bolt, error) {
		return NewReturnResults(ReturnResultsConfig(o)), nil
	})
	r.RegisterBolt(PrepareRequestName, func(a topology.Args) (topology.Bolt, error) {
		return &PrepareRequest{}, a.Err()
	})
	r.RegisterBolt(JoinResultName, func(a topology.Args) (topology.Bolt, error) {
		return &JoinResult{}, a.Err()
	})
	r.RegisterClass(StormDRPCSpout, SpoutName, "function")
	r.RegisterClass(StormReturnResults, ReturnResultsName)
}
