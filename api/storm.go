package api

import (
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Values the API's string fields take, as Storm spells them.
const (
	// StatusSuccess is TopologyOperationResponse.Status and
	// SubmitTopologyResponse.Status.
	StatusSuccess = "success"

	// TopologyOperationResponse.TopologyOperation values, and
	// SubmitTopologyResponse's.
	OperationActivate   = "activate"
	OperationDeactivate = "deactivate"
	OperationRebalance  = "rebalance"
	OperationKill       = "kill"
	OperationSubmit     = "submit"

	// NimbusSummary.Status values.
	NimbusLeader    = "Leader"
	NimbusNotLeader = "Not a Leader"
	NimbusOffline   = "Offline"

	// GetComponentResponse.ComponentType values.
	ComponentSpout = "spout"
	ComponentBolt  = "bolt"

	// WindowAllTime is the metrics window covering everything since the
	// topology started, the default of the window query parameter.
	WindowAllTime = ":all-time"

	// MaxLastErrorChars is how much of a component's last error the topology
	// page shows (SpoutSummary.LastError, BoltSummary.LastError), as Storm.
	MaxLastErrorChars = 200
)

// OperationResponse returns Storm's answer to a topology operation:
// {"topologyOperation": op, "topologyId": id, "status": "success"}.
func OperationResponse(op, id string) *TopologyOperationResponse {
	return &TopologyOperationResponse{TopologyOperation: op, TopologyId: id, Status: StatusSuccess}
}

// FormatUptime writes a duration as Storm's UI does, whole seconds in
// days, hours, minutes and seconds without leading zero units:
// "1d 0h 3m 9s", "29m 19s", "5s". Zero (or less) is "0s".
func FormatUptime(d time.Duration) string {
	return FormatUptimeSecs(int64(d / time.Second))
}

// FormatUptimeSecs is FormatUptime for a number of seconds.
func FormatUptimeSecs(secs int64) string {
	if secs <= 0 {
		return "0s"
	}
	units := []struct {
		suffix string
		size   int64
	}{{"s", 60}, {"m", 60}, {"h", 24}, {"d", 0}}
	var parts []string
	for _, u := range units {
		if secs <= 0 {
			break
		}
		if u.size == 0 {
			parts = append(parts, strconv.FormatInt(secs, 10)+u.suffix)
			break
		}
		parts = append(parts, strconv.FormatInt(secs%u.size, 10)+u.suffix)
		secs /= u.size
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, " ")
}

// FormatStat writes a latency or capacity as Storm's UI does: three
// decimals, "0.048".
func FormatStat(v float64) string {
	return strconv.FormatFloat(v, 'f', 3, 64)
}

// WindowHint describes a metrics window as Storm's UI does: "All time" for
// ":all-time" (or ""), "10m 0s" for "600"; anything else unchanged.
func WindowHint(window string) string {
	if window == "" || window == WindowAllTime {
		return "All time"
	}
	secs, err := strconv.ParseInt(window, 10, 64)
	if err != nil {
		return window
	}
	return FormatUptimeSecs(secs)
}

// EncodeID escapes a topology or component id for one segment of an API
// path, the value of the encoded* fields: EncodeID("a b/c") is "a%20b%2Fc".
func EncodeID(id string) string {
	return url.PathEscape(id)
}

// TruncateError shortens an error text to MaxLastErrorChars characters, for
// the lastError fields.
func TruncateError(s string) string {
	if utf8.RuneCountInString(s) <= MaxLastErrorChars {
		return s
	}
	n := 0
	for i := range s {
		if n == MaxLastErrorChars {
			return s[:i]
		}
		n++
	}
	return s
}
