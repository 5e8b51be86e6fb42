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
// class names for them, to r:
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
func Register(r *topology.Registry) {
	r.RegisterSpout(SpoutName, func(a topology.Args) (topology.Spout, error) {
		a.Require("function")
		c := SpoutConfig{
			Function: a.String("function", ""),
			Servers:  a.Strings("servers", nil),
			Prefetch: a.Int("prefetch", 0),
		}
		if err := a.Err(); err != nil {
			return nil, err
		}
		return NewSpout(c)
	})
	r.RegisterBolt(ReturnResultsName, func(a topology.Args) (topology.Bolt, error) {
		return NewReturnResults(), nil
	})
	r.RegisterClass(StormDRPCSpout, SpoutName, "function")
	r.RegisterClass(StormReturnResults, ReturnResultsName)
}
