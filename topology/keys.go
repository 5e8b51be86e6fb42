package topology

// Configuration keys squall reads, under Storm's names. Keys marked
// "squall" are squall's own.
const (
	KeyTopologyName                = "topology.name"
	KeyStormID                     = "storm.id"
	KeyWorkers                     = "topology.workers"
	KeyAckerExecutors              = "topology.acker.executors"
	KeyMaxSpoutPending             = "topology.max.spout.pending"
	KeyMessageTimeoutSecs          = "topology.message.timeout.secs"
	KeyEnableMessageTimeouts       = "topology.enable.message.timeouts"
	KeyTickTupleFreqSecs           = "topology.tick.tuple.freq.secs"
	KeyDebug                       = "topology.debug"
	KeyShellBoltMaxPending         = "topology.shellbolt.max.pending"
	KeySubprocessTimeoutSecs       = "topology.subprocess.timeout.secs"
	KeyWorkerTimeoutSecs           = "supervisor.worker.timeout.secs"
	KeyMultilangSerializer         = "topology.multilang.serializer"
	KeyMultilangMaxMessageBytes    = "topology.multilang.max.message.bytes" // squall
	KeyExecutorReceiveBufferSize   = "topology.executor.receive.buffer.size"
	KeyTransferBufferSize          = "topology.transfer.buffer.size"
	KeyProducerBatchSize           = "topology.producer.batch.size"
	KeyErrorThrottleIntervalSecs   = "topology.error.throttle.interval.secs"
	KeyMaxErrorReportPerInterval   = "topology.max.error.report.per.interval"
	KeySleepSpoutWaitStrategyMs    = "topology.sleep.spout.wait.strategy.time.ms"
	KeyDisableLoadAwareMessaging   = "topology.disable.loadaware.messaging"
	KeyTopologyEnvironment         = "topology.environment"
	KeyStatsSampleRate             = "topology.stats.sample.rate"
	KeyZookeeperServers            = "storm.zookeeper.servers"
	KeyZookeeperPort               = "storm.zookeeper.port"
	KeyZookeeperRoot               = "storm.zookeeper.root"
	KeyZookeeperSessionTimeout     = "storm.zookeeper.session.timeout"
	KeyLocalDir                    = "storm.local.dir"
	KeyNimbusSeeds                 = "nimbus.seeds"
	KeyNimbusTaskTimeoutSecs       = "nimbus.task.timeout.secs"
	KeyNimbusSupervisorTimeoutSecs = "nimbus.supervisor.timeout.secs"
	KeyNimbusMonitorFreqSecs       = "nimbus.monitor.freq.secs"
	KeySupervisorSlotsPorts        = "supervisor.slots.ports"
	KeySupervisorWorkerStartSecs   = "supervisor.worker.start.timeout.secs"
	KeySupervisorMonitorFreqSecs   = "supervisor.monitor.frequency.secs"
	KeyWorkerHeartbeatFreqSecs     = "worker.heartbeat.frequency.secs"
	KeyTaskHeartbeatFreqSecs       = "task.heartbeat.frequency.secs"
	KeyLocalHostname               = "storm.local.hostname"
	KeyNimbusGRPCPort              = "nimbus.grpc.port" // squall: nimbus's gRPC API
	KeyUIPort                      = "ui.port"          // the REST API, on Storm's UI port
	KeyLogCleanupAgeMins           = "logviewer.cleanup.age.mins"
	KeyLogCleanupIntervalSecs      = "logviewer.cleanup.interval.secs"
	KeyLogMaxSumSizeMB             = "logviewer.max.sum.worker.logs.size.mb"

	// The DRPC keys package drpc reads (drpc.ConfigFrom, drpc.Secure and
	// its components): type-checked here so that a topology or daemon
	// configuration with a bad one is refused when it is loaded, not when
	// a worker or server reads it.
	KeyDRPCServers            = "drpc.servers"
	KeyDRPCPort               = "drpc.port"
	KeyDRPCInvocationsPort    = "drpc.invocations.port"
	KeyDRPCHTTPPort           = "drpc.http.port"
	KeyDRPCRequestTimeoutSecs = "drpc.request.timeout.secs"
	KeyDRPCMaxBufferSize      = "drpc.max_buffer_size"
	KeyDRPCMaxOutstanding     = "drpc.max.outstanding.requests" // squall
	KeyDRPCHost               = "drpc.host"                     // squall: the address a DRPC server binds
	KeyDRPCAuthorizer         = "drpc.authorizer"
	KeyDRPCWorkerTokens       = "drpc.worker.tokens" // squall: a server accepts topologies' worker tokens
	KeyWorkerTokenLifeHours   = "storm.worker.token.life.time.hours"
)

// Storm 2's wait strategies: how a spout with nothing to emit, a bolt with
// nothing to execute and a producer facing a full queue idle. Each
// situation has the same settings under its own prefix; a key is a
// prefix followed by a setting.
const (
	WaitSpout        = "topology.spout.wait."
	WaitBolt         = "topology.bolt.wait."
	WaitBackpressure = "topology.backpressure.wait."

	WaitStrategy       = "strategy"
	WaitParkMicrosec   = "park.microsec"
	WaitLevel1Count    = "progressive.level1.count"
	WaitLevel2Count    = "progressive.level2.count"
	WaitLevel3SleepMs  = "progressive.level3.sleep.millis"
	WaitProgressive    = "org.apache.storm.policy.WaitStrategyProgressive"
	WaitPark           = "org.apache.storm.policy.WaitStrategyPark"
	WaitSleepSpoutWait = "org.apache.storm.spout.SleepSpoutWaitStrategy" // Storm 1's, spouts only
)

// ValueKind is the type a known configuration key must have.
type ValueKind int

const (
	KindInt ValueKind = iota + 1
	KindNumber
	KindBool
	KindString
	KindStringList
	KindIntList
	KindMap
)

// KeySpec describes a known configuration key: its type and Storm's default
// (nil when Storm's default is null).
type KeySpec struct {
	Kind    ValueKind
	Default any
}

// KnownKeys lists the keys squall reads with their types and defaults.
// Validation type-checks these; other keys pass through untouched.
var KnownKeys = map[string]KeySpec{
	KeyTopologyName:                {KindString, nil},
	KeyStormID:                     {KindString, nil},
	KeyWorkers:                     {KindInt, 1},
	KeyAckerExecutors:              {KindInt, nil}, // null: one per worker
	KeyMaxSpoutPending:             {KindInt, nil}, // null: unlimited
	KeyMessageTimeoutSecs:          {KindInt, 30},
	KeyEnableMessageTimeouts:       {KindBool, true},
	KeyTickTupleFreqSecs:           {KindNumber, nil},
	KeyDebug:                       {KindBool, false},
	KeyShellBoltMaxPending:         {KindInt, 100},
	KeySubprocessTimeoutSecs:       {KindInt, nil}, // null: supervisor.worker.timeout.secs
	KeyWorkerTimeoutSecs:           {KindInt, 30},
	KeyMultilangSerializer:         {KindString, "json"},
	KeyMultilangMaxMessageBytes:    {KindInt, 16 << 20},
	KeyExecutorReceiveBufferSize:   {KindInt, 32768},
	KeyTransferBufferSize:          {KindInt, 1000},
	KeyProducerBatchSize:           {KindInt, 1},
	KeyErrorThrottleIntervalSecs:   {KindInt, 10},
	KeyMaxErrorReportPerInterval:   {KindInt, 5},
	KeySleepSpoutWaitStrategyMs:    {KindInt, 1},
	KeyDisableLoadAwareMessaging:   {KindBool, false},
	KeyTopologyEnvironment:         {KindMap, nil},
	KeyStatsSampleRate:             {KindNumber, 0.05},
	KeyZookeeperServers:            {KindStringList, nil},
	KeyZookeeperPort:               {KindInt, 2181},
	KeyZookeeperRoot:               {KindString, "/squall"},
	KeyZookeeperSessionTimeout:     {KindInt, 20000},
	KeyLocalDir:                    {KindString, "squall-local"},
	KeyNimbusSeeds:                 {KindStringList, nil},
	KeyNimbusTaskTimeoutSecs:       {KindInt, 30},
	KeyNimbusSupervisorTimeoutSecs: {KindInt, 60},
	KeyNimbusMonitorFreqSecs:       {KindInt, 10},
	KeySupervisorSlotsPorts:        {KindIntList, []any{6700, 6701, 6702, 6703}},
	KeySupervisorWorkerStartSecs:   {KindInt, 120},
	KeySupervisorMonitorFreqSecs:   {KindInt, 3},
	KeyWorkerHeartbeatFreqSecs:     {KindInt, 1},
	KeyTaskHeartbeatFreqSecs:       {KindInt, 3},
	KeyLocalHostname:               {KindString, nil},
	KeyNimbusGRPCPort:              {KindInt, 6627},
	KeyUIPort:                      {KindInt, 8080},
	KeyLogCleanupAgeMins:           {KindInt, 10080},
	KeyLogCleanupIntervalSecs:      {KindInt, 600},
	KeyLogMaxSumSizeMB:             {KindInt, 4096},
	// DRPC: null defaults, the server's and the components' own defaults
	// (drpc.DefaultConfig) apply, and a topology's configuration does not
	// grow by the keys of a server it may never use.
	KeyDRPCServers:            {KindStringList, nil},
	KeyDRPCPort:               {KindInt, nil},
	KeyDRPCInvocationsPort:    {KindInt, nil},
	KeyDRPCHTTPPort:           {KindInt, nil},
	KeyDRPCRequestTimeoutSecs: {KindInt, nil},
	KeyDRPCMaxBufferSize:      {KindInt, nil},
	KeyDRPCMaxOutstanding:     {KindInt, nil},
	KeyDRPCHost:               {KindString, nil},
	KeyDRPCAuthorizer:         {KindString, nil},
	KeyDRPCWorkerTokens:       {KindBool, nil},
	KeyWorkerTokenLifeHours:   {KindInt, nil}, // null: 24 (auth.DefaultWorkerTokenLife)
	// Storm 2's defaults for its wait strategies, but for level 2 of bolts
	// and producers: Storm parks 1 ns a thousand times before it sleeps;
	// squall's nearest, a yield, costs CPU on shared cores and gained
	// nothing in its benchmarks (docs/performance.md), and its bolts and
	// producers are woken when there is work, rather than sleeping.
	WaitSpout + WaitStrategy:             {KindString, WaitProgressive},
	WaitSpout + WaitParkMicrosec:         {KindNumber, 100},
	WaitSpout + WaitLevel1Count:          {KindInt, 0},
	WaitSpout + WaitLevel2Count:          {KindInt, 0},
	WaitSpout + WaitLevel3SleepMs:        {KindNumber, 1},
	WaitBolt + WaitStrategy:              {KindString, WaitProgressive},
	WaitBolt + WaitParkMicrosec:          {KindNumber, 100},
	WaitBolt + WaitLevel1Count:           {KindInt, 1},
	WaitBolt + WaitLevel2Count:           {KindInt, 0},
	WaitBolt + WaitLevel3SleepMs:         {KindNumber, 1},
	WaitBackpressure + WaitStrategy:      {KindString, WaitProgressive},
	WaitBackpressure + WaitParkMicrosec:  {KindNumber, 100},
	WaitBackpressure + WaitLevel1Count:   {KindInt, 1},
	WaitBackpressure + WaitLevel2Count:   {KindInt, 0},
	WaitBackpressure + WaitLevel3SleepMs: {KindNumber, 1},
}

// Defaults returns a Config holding every known key that has a non-null
// default: the base that topology configs are merged over.
func Defaults() Config {
	c := make(Config, len(KnownKeys))
	for k, s := range KnownKeys {
		if s.Default != nil {
			c[k] = s.Default
		}
	}
	return c
}
