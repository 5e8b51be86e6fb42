package topology

import (
	"maps"
	"slices"
	"strings"
)

// Why squall ignores some of Storm's topology keys.
const (
	whySerialization = "squall serializes tuple values itself (JSON-like values, or MessagePack); there are no Java classes to register or serializers to choose"
	whyJVM           = "squall workers are Go processes, not JVMs"
	whyClasspath     = "squall runs no Java, so there is no classpath"
	whyRAS           = "squall's scheduler spreads executors evenly over free slots; Storm's resource-aware scheduling is not implemented"
	whyTrident       = "Trident and transactional topologies are not supported"
)

// ignoredKeys are Storm topology keys that squall accepts and knows, but
// that have no effect, with the reason. Lint lists them as ignored, so a
// Storm user does not expect an effect.
var ignoredKeys = map[string]string{
	"topology.kryo.register":                   whySerialization,
	"topology.kryo.decorators":                 whySerialization,
	"topology.kryo.factory":                    whySerialization,
	"topology.skip.missing.kryo.registrations": whySerialization,
	"topology.state.kryo.register":             whySerialization,
	"topology.fall.back.on.java.serialization": whySerialization,
	"topology.tuple.serializer":                whySerialization,
	"topology.testing.always.try.serialize":    whySerialization,
	"storm.meta.serialization.delegate":        whySerialization,

	"topology.worker.childopts":               whyJVM,
	"topology.worker.gc.childopts":            whyJVM,
	"topology.worker.logwriter.childopts":     whyJVM,
	"topology.worker.max.heap.size.mb":        whyJVM,
	"worker.childopts":                        whyJVM,
	"worker.gc.childopts":                     whyJVM,
	"worker.heap.memory.mb":                   whyJVM,
	"worker.profiler.enabled":                 whyJVM,
	"worker.profiler.childopts":               whyJVM,
	"worker.profiler.command":                 whyJVM,
	"java.library.path":                       whyJVM,
	"topology.multilang.log.handler":          "it names a Java ShellLogHandler class; squall writes a child's log commands to its task's log",
	"topology.worker.shared.thread.pool.size": "it sizes a Java thread pool for worker hooks, which squall does not have",
	"topology.auto-credentials":               "it lists Java credential plugins",

	"topology.classpath":                         whyClasspath,
	"topology.classpath.beginning":               whyClasspath,
	"storm.topology.classpath.beginning.enabled": whyClasspath,

	"topology.component.resources.onheap.memory.mb":         whyRAS,
	"topology.component.resources.offheap.memory.mb":        whyRAS,
	"topology.component.resources.map":                      whyRAS,
	"topology.component.cpu.pcore.percent":                  whyRAS,
	"topology.acker.resources.onheap.memory.mb":             whyRAS,
	"topology.acker.resources.offheap.memory.mb":            whyRAS,
	"topology.acker.cpu.pcore.percent":                      whyRAS,
	"topology.metrics.consumer.resources.onheap.memory.mb":  whyRAS,
	"topology.metrics.consumer.resources.offheap.memory.mb": whyRAS,
	"topology.metrics.consumer.cpu.pcore.percent":           whyRAS,
	"topology.scheduler.strategy":                           whyRAS,
	"topology.scheduler.favored.nodes":                      whyRAS,
	"topology.scheduler.unfavored.nodes":                    whyRAS,
	"topology.ras.constraints":                              whyRAS,
	"topology.ras.constraint.max.state.search":              whyRAS,
	"topology.ras.constraint.max.time.secs":                 whyRAS,
	"topology.ras.one.executor.per.worker":                  whyRAS,
	"topology.ras.one.component.per.worker":                 whyRAS,
	"topology.ras.acker.executors.per.worker":               whyRAS,
	"topology.ras.order.executors.by.proximity.needs":       whyRAS,
	"topology.priority":                                     whyRAS,

	"topology.backpressure.enable": "Storm 2 removed it; squall's backpressure is always on",

	"topology.trident.batch.emit.interval.millis":  whyTrident,
	"topology.trident.windowing.cache.tuple.limit": whyTrident,
	"topology.transactional.id":                    whyTrident,
	"transactional.zookeeper.root":                 whyTrident,
	"transactional.zookeeper.servers":              whyTrident,
	"transactional.zookeeper.port":                 whyTrident,
}

// fluxHintKeys are Flux component keys squall reads and ignores.
const whyFluxHint = "Flux's resource-aware scheduling hint; " + whyRAS

// squallKeys are the configuration keys squall's packages read that are
// neither Storm's (stormKeys) nor in KnownKeys. Lint knows them, so it does
// not call them unknown; TestLintKnowsEveryKeySquallReads fails when a
// package reads a key missing from all three lists.
var squallKeys = map[string]bool{
	// shell
	"topology.multilang.startup.timeout.secs": true,
	"topology.multilang.stderr.lines.per.sec": true,
	"topology.shellbolt.max.held":             true,
	"topology.state.cache.max.keys":           true,
	// internal/depenv: interpreters and dependency installs
	"topology.multilang.python":       true,
	"topology.multilang.node":         true,
	"topology.multilang.ruby":         true,
	"topology.multilang.node.scripts": true,
	"topology.multilang.deps.network": true,
	// supervisor: removal of environments no worker uses (internal/depenv)
	"supervisor.envs.cleanup.age.mins": true,
	// nimbus: submission and HTTP limits
	"nimbus.package.max.files":          true,
	"nimbus.package.max.ratio":          true,
	"nimbus.package.max.unpacked.bytes": true,
	"nimbus.submit.max.bytes":           true,
	"nimbus.submit.max.concurrent":      true,
	"nimbus.submit.timeout.secs":        true,
	"nimbus.submit.idle.timeout.secs":   true,
	"nimbus.http.read.timeout.secs":     true,
	"nimbus.http.idle.timeout.secs":     true,
	// supervisor: the address its logviewer binds
	"logviewer.host": true,
	// auth
	"ui.https.key.path":                          true,
	"ui.https.cert.path":                         true,
	"ui.https.ca.path":                           true,
	"storm.messaging.netty.tls.key.path":         true,
	"storm.messaging.netty.tls.cert.path":        true,
	"storm.messaging.netty.tls.ca.path":          true,
	"supervisor.run.worker.as.user.min.uid":      true,
	"supervisor.run.worker.as.user.banned.users": true,
	"nimbus.tls.key.path":                        true,
	"nimbus.tls.cert.path":                       true,
	"nimbus.tls.ca.path":                         true,
	"nimbus.tls.client.auth.required":            true,
	"nimbus.client.use.tls":                      true,
	"nimbus.client.tls.server.name":              true,
	"nimbus.client.tls.key.path":                 true,
	"nimbus.client.tls.cert.path":                true,
	"nimbus.client.tls.ca.path":                  true,
	"nimbus.client.token.file":                   true,
	"nimbus.auth.tokens.file":                    true,
	"nimbus.audit.log":                           true,
	"ui.actions.enabled":                         true,
	"nimbus.bind.host":                           true,
	"worker.bind.host":                           true,
	// sec3: run-as-user, logviewer HTTPS, DRPC TLS and topologies' DRPC credentials
	"supervisor.run.worker.as.user.allowed.system.users": true,
	"logviewer.https.cert.path":                          true,
	"logviewer.https.key.path":                           true,
	"logviewer.https.ca.path":                            true,
	"drpc.tls.cert.path":                                 true,
	"drpc.tls.key.path":                                  true,
	"drpc.tls.ca.path":                                   true,
	"drpc.tls.client.auth.required":                      true,
	"drpc.client.use.tls":                                true,
	"drpc.client.tls.ca.path":                            true,
	"drpc.client.tls.cert.path":                          true,
	"drpc.client.tls.key.path":                           true,
	"drpc.client.token.file":                             true,
	// metrics
	"topology.user.metrics.max.names": true,
	// state and windows
	"topology.state.exactly.once":               true,
	"topology.state.exactly.once.max.ids":       true,
	"topology.state.exactly.once.retain.secs":   true,
	"topology.state.max.buffered.tuples":        true,
	"topology.bolts.tuple.timestamp.field.name": true,
	"topology.bolts.window.max.tuples":          true,
	// drpc
	"drpc.host":                     true,
	"drpc.max.outstanding.requests": true,
}

// stormNamespaces are the first segments of Storm's and squall's keys. A key
// in one of them that no list knows is reported as unknown; other keys are
// the topology's own settings (Storm passes them to components unchanged)
// and are reported only when they look like a typo of a known key.
var stormNamespaces = []string{
	"topology", "storm", "nimbus", "supervisor", "worker", "task", "drpc", "ui",
	"logviewer", "transactional", "pacemaker", "dev", "java", "blobstore",
	"scheduler", "resource", "multitenant", "blacklist", "isolation", "client",
}

// knownKeyNames returns every key lint knows, sorted: suggestions for
// unknown keys come from these.
func knownKeyNames() []string {
	names := make(map[string]bool, len(stormKeys)+len(KnownKeys)+len(squallKeys))
	for k := range stormKeys {
		names[k] = true
	}
	for k := range KnownKeys {
		names[k] = true
	}
	for k := range squallKeys {
		names[k] = true
	}
	return slices.Sorted(maps.Keys(names))
}

// inStormNamespace reports whether key starts with one of stormNamespaces.
func inStormNamespace(key string) bool {
	first, _, _ := strings.Cut(key, ".")
	return slices.Contains(stormNamespaces, first)
}
