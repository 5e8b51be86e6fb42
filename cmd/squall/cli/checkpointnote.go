package cli

import (
	"fmt"
	"io"
	"time"
)

// checkpointStallNote is what list and monitor say about a stateful
// topology whose checkpoint has not committed for 10 checkpoint intervals
// (nimbus decides, from the checkpoint spout's metrics); "" otherwise.
func checkpointStallNote(stalled bool, txid, ageSecs *int64) string {
	if !stalled || txid == nil || ageSecs == nil {
		return ""
	}
	age := time.Duration(*ageSecs) * time.Second
	if *txid < 0 {
		return fmt.Sprintf("CHECKPOINT STALLED: no checkpoint committed yet, for %v (10 checkpoint intervals or more); its state is not advancing", age)
	}
	return fmt.Sprintf("CHECKPOINT STALLED: the last checkpoint (txid %d) committed %v ago (10 checkpoint intervals or more); its state is not advancing", *txid, age)
}

// checkpointWatch prints a topology's checkpoint stall when it begins and
// when it ends.
type checkpointWatch struct {
	name    string
	out     io.Writer
	stalled bool
}

func (w *checkpointWatch) update(stalled bool, txid, ageSecs *int64) {
	switch {
	case stalled && !w.stalled:
		fmt.Fprintf(w.out, "%s: %s\n", w.name, checkpointStallNote(stalled, txid, ageSecs))
	case !stalled && w.stalled && txid != nil:
		fmt.Fprintf(w.out, "%s: checkpoints commit again (txid %d)\n", w.name, *txid)
	}
	w.stalled = stalled
}
