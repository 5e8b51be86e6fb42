package topology

// Request coordination, Storm's CoordinatedBolt: the bolts of a `drpc:`
// chain learn when they have seen every tuple of a request, so a bolt that
// aggregates (Storm's IBatchBolt) can emit its answer for that request.

// System names of request coordination. Like every "__" name they never
// collide with a user's.
const (
	// CoordStream is the direct stream on which a coordinated bolt's task
	// tells each task of the next bolt how many tuples of a request it
	// sent it: [request, count].
	CoordStream = "__coord"
	// CoordinatorComponent and FinishBatchStream name the source of the
	// tuple a shell bolt declared with finishBatch receives when a request
	// is complete: [request].
	CoordinatorComponent = "__coordinator"
	FinishBatchStream    = "__finish_batch"
)

// Coordination says how a bolt's tasks know that a request is complete,
// for the bolts of a `drpc:` chain. The first value of every tuple they
// receive and emit is the request id.
type Coordination struct {
	// Source is the coordinated bolt before this one, "" for the first of
	// the chain: its tasks report on CoordStream how many tuples of each
	// request they sent.
	Source string
	// SourceReports is how many reports a task waits for per request: 1
	// when only one task of Source handles a request (Storm's
	// SourceArgs.single, for the second bolt), the number of Source's
	// tasks otherwise (SourceArgs.all).
	SourceReports SourceReports
	// IDFrom, when set, is the component whose IDStream a task must also
	// receive a request's id on before the request is complete: the last
	// bolt of a chain that finishes batches, so that only the task
	// holding a request's id answers it.
	IDFrom string
	// FinishBatch is set when the bolt wants to hear that a request is
	// complete: a Go bolt implementing BatchFinisher, or a shell bolt
	// declared with finishBatch, whose child then receives a tuple on
	// FinishBatchStream.
	FinishBatch bool
}

// SourceReports is how many coordination reports a bolt waits for.
type SourceReports int

const (
	// ReportsNone: the first bolt of a chain waits for none; a request is
	// complete once its one tuple is acked.
	ReportsNone SourceReports = iota
	// ReportsSingle: one task of the source reports.
	ReportsSingle
	// ReportsAll: every task of the source reports.
	ReportsAll
)

// IDStream is the stream of squall.PrepareRequest that carries [request]
// to the last bolt of a chain that finishes batches.
const IDStream = "id"

// BatchFinisher is implemented by Go bolts of a `drpc:` chain that want
// to know when they have seen every tuple of a request (Storm's
// FinishedCallback and IBatchBolt.finishBatch). FinishBatch is called
// from the task's executor goroutine, after the last Execute of the
// request; what it emits without anchors is anchored to the request.
type BatchFinisher interface {
	FinishBatch(requestID any)
}
