// Package workerd is the worker process a supervisor launches for one slot
// of one topology: it reads its assignment and the topology's package,
// runs package worker's engine on its executors, serves the transfer port
// for the topology's other workers, keeps the heartbeat file its
// supervisor watches and the heartbeats with statistics that nimbus reads
// from the cluster state, records component errors there, and follows
// activation and reassignment.
//
// The engine (executors, queues, routing, acker, transfer) knows nothing
// of ZooKeeper, packages or supervisors; this package is where those meet.
package workerd
