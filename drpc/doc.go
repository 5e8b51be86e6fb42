// Package drpc is Storm's distributed RPC for squall: a client calls a
// function with an argument string, a topology computes the result, and
// the result comes back to the caller.
//
// Server is the DRPC server (`squall drpc`). It serves the
// squall.drpc.v1.DistributedRPC gRPC service to clients on drpc.port, the
// DistributedRPCInvocations service to topologies on
// drpc.invocations.port, and Storm's HTTP forms (POST /drpc/{function},
// GET /drpc/{function}/{args}, GET /drpc/{function}) on drpc.http.port;
// all on loopback unless drpc.host says otherwise. Requests queue per
// function within drpc.max_buffer_size bytes and time out after
// drpc.request.timeout.secs; an Authorizer decides who may call and who
// may serve a function.
//
// Client calls a server's functions (Storm's DRPCClient).
//
// Spout (squall.DRPCSpout) and ReturnResults (squall.ReturnResults) are
// the built-in Go components of a DRPC topology, registered by Register:
// the spout takes a function's requests from every DRPC server as the
// servers push them, and ReturnResults sends each result back to the
// server its request came from.
package drpc
