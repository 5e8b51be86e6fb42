// Package api is squall's nimbus API: the squall.v1.Nimbus gRPC service
// (squall/v1/nimbus.proto, with its generated messages, client and server
// in this package) and the REST gateway that serves it on the paths of
// Storm's UI REST API (gateway.yaml, Gateway).
//
// nimbus implements NimbusServer and serves it over gRPC; it serves REST
// with NewGatewayHandler, in front of its own server (ForServer) or of a
// gRPC client connection (ForClient). The CLI, supervisors and follower
// nimbuses use NewNimbusClient; package downloads go through SendPackage
// and ReceivePackage; CLIError makes gRPC errors readable at a terminal.
//
// The generated files (*.pb.go, *_grpc.pb.go, *.pb.gw.go) are committed;
// generate.sh makes them again (see docs/api.md).
package api

//go:generate sh generate.sh
