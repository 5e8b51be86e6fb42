package cluster

import "fmt"

// checkID rejects an empty id.
func checkID(what, id string) error {
	if id == "" {
		return fmt.Errorf("empty %s id: %w", what, ErrInvalid)
	}
	return nil
}

// checkBeat validates a worker heartbeat's address.
func checkBeat(topologyID, nodeID string, port int) error {
	if topologyID == "" || nodeID == "" || port <= 0 {
		return fmt.Errorf("topology %q node %q port %d: %w", topologyID, nodeID, port, ErrInvalid)
	}
	return nil
}
