package workerd

import "time"

// A young worker reports its statistics every youngStatsEvery for its
// first youngFor, whatever task.heartbeat.frequency.secs says, so that a
// topology's first tuples show in the API within a second of being
// processed rather than at the next regular heartbeat (3 s by default).
// Shell components' interpreters can take seconds to start, hence the
// margin.
const (
	youngFor        = 30 * time.Second
	youngStatsEvery = 500 * time.Millisecond
)

// statsEvery returns the wait before the next statistics heartbeat of a
// worker up for up, whose regular interval is every.
func statsEvery(up, every time.Duration) time.Duration {
	if up < youngFor {
		return min(every, youngStatsEvery)
	}
	return every
}
