package auth

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAuditRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	a, closer, err := OpenAuditLog(path)
	if err != nil {
		t.Fatal(err)
	}
	p := Principal{Name: "alice", Groups: []string{"devs"}, Method: MethodToken, Via: ViaNimbus, Forwarder: "nimbus-b", Remote: "10.0.0.9:41000"}
	a.Record(t.Context(), AuditEntry{Principal: p, Operation: OpKillTopology, Topology: "wc-1-1", Result: ResultOK})
	a.Record(t.Context(), AuditEntry{Principal: Principal{Name: "bob", Method: MethodMTLS}, Operation: OpSubmitTopology, Result: ResultDenied, Err: errors.New("nope")})
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode %v, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d audit lines, want 2:\n%s", len(lines), data)
	}
	var first, second map[string]any
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[1]), &second)
	want := map[string]any{"msg": "audit", "who": "alice", "auth": "token", "via": "nimbus", "forwarder": "nimbus-b",
		"remote": "10.0.0.9:41000", "op": "killTopology", "topology": "wc-1-1", "result": "ok", "level": "INFO"}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("audit line %s = %v, want %v (line %s)", k, first[k], v, lines[0])
		}
	}
	if first["time"] == nil || first["error"] != nil {
		t.Errorf("audit line %s: want a time and no error", lines[0])
	}
	if second["result"] != "denied" || second["error"] != "nope" || second["level"] != "WARN" || second["op"] != "submitTopology" {
		t.Errorf("denied audit line = %s", lines[1])
	}
	NewAudit(nil).Record(t.Context(), AuditEntry{}) // nowhere, no panic
}
