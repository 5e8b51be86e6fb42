package worker

import "testing"

// TestWaitReleaseAfterTheRelease: a spout whose emits a held task refused
// asks to wait for its release; if the release came in between, the wait
// is over at once. (It waited for the next release, which might never
// come: TestCongestedTaskHoldsOnlyItsOwnTuples stalled so under -race.)
func TestWaitReleaseAfterTheRelease(t *testing.T) {
	g := newGate(4)
	g.hold([]int32{2, 3})
	g.release(3)
	select {
	case <-g.waitRelease(3):
	default:
		t.Fatal("waiting for the release of task 3, released already, does not end")
	}
	wait := g.waitRelease(2)
	select {
	case <-wait:
		t.Fatal("the wait for task 2, still held, ended before its release")
	default:
	}
	g.release(2)
	select {
	case <-wait:
	default:
		t.Fatal("the wait for task 2 did not end at its release")
	}
}
