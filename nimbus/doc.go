// Package nimbus is squall's master daemon, Storm's nimbus: it serves the
// squall.v1.Nimbus gRPC API and its REST gateway, validates and stores
// submitted topologies, assigns their executors to the supervisors' worker
// slots, moves executors whose workers or supervisors stop heartbeating,
// and runs Storm's topology state machine (activate, deactivate,
// rebalance, kill).
//
// Several nimbuses may share one cluster state (cluster.State, ZooKeeper).
// Each registers under nimbuses/ and campaigns for leadership. The leader
// runs the leader loop (leader.go), the one goroutine that writes topology
// records and assignments and owns the kill and rebalance timers. It is
// started when the election is won and stopped, and waited for, when the
// leadership is lost. Followers answer reads from the cluster state,
// forward writes to the leader over gRPC, and copy every stored package
// from the leader so that they can take over.
//
// The pure cores are elsewhere: scheduling in nimbus/scheduler, the state
// machine in nimbus/lifecycle. This package is the I/O shell around them.
package nimbus
