package shell

import "time"

// lineLimiter lets lines through at rate a second on average, in bursts of
// at most burst, and counts the lines it holds back. It is pure: time
// comes in as an argument. It is not safe for concurrent use.
type lineLimiter struct {
	rate, burst float64
	tokens      float64
	last        time.Time
	dropped     int64
}

func newLineLimiter(rate float64, burst int) *lineLimiter {
	return &lineLimiter{rate: rate, burst: float64(burst), tokens: float64(burst)}
}

// allow reports whether a line may pass at now. When it may, dropped is
// the number of lines held back since the last one that passed, for the
// caller to say so first.
func (l *lineLimiter) allow(now time.Time) (ok bool, dropped int64) {
	if !l.last.IsZero() {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
	if l.tokens < 1 {
		l.dropped++
		return false, 0
	}
	l.tokens--
	dropped, l.dropped = l.dropped, 0
	return true, dropped
}

// flush returns the lines held back since the last one that passed, and
// forgets them.
func (l *lineLimiter) flush() int64 {
	n := l.dropped
	l.dropped = 0
	return n
}
