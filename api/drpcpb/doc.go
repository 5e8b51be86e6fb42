// Package drpcpb is the generated Go code of squall's DRPC API
// (squall/drpc/v1/drpc.proto): the DistributedRPC service that clients
// call and the DistributedRPCInvocations service that topologies call.
// Package drpc serves and calls them; api/generate.sh makes this code.
package drpcpb
