// Package cluster is squall's coordination state: what nimbus, supervisors
// and workers share, as Storm shares it through ZooKeeper. It offers typed
// reads, writes and watches of that state behind one interface, State, with
// two implementations:
//
//   - ZooKeeper (NewZooKeeper) keeps the state in ZooKeeper under a root path
//     (storm.zookeeper.root, default /squall), laid out as Storm lays it out:
//
//     storms/<topology-id>                     TopologyRecord
//     assignments/<topology-id>                Assignment
//     supervisors/<supervisor-id>              SupervisorInfo (ephemeral)
//     workerbeats/<topology-id>/<node>-<port>  WorkerHeartbeat
//     errors/<topology-id>/<component>/e<seq>  ErrorInfo (last 10 kept)
//     nimbuses/<host:port>                     NimbusInfo (ephemeral)
//     leader-lock/<candidate>                  NimbusInfo (ephemeral, sequential)
//
//     Values are JSON, so zkCli shows them. Names that are not safe as a
//     ZooKeeper node name are percent-encoded.
//
//   - Memory (NewMemory) keeps the same state in process, for local mode and
//     tests. Each Memory.Session is one State, the counterpart of one
//     ZooKeeper session: closing or expiring it removes its ephemeral entries
//     and ends its leadership.
//
// Both implementations follow the same contract, checked by one test suite.
package cluster
