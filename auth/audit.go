package auth

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// Audit writes the audit log: one line per state-changing operation
// (submit, activate, deactivate, rebalance, kill), whatever its result,
// and one per refused request of any kind: who (principal, how it
// authenticated, how the request came, from where), what (operation,
// topology), when (the line's time) and the result. Its methods are safe
// for concurrent use.
type Audit struct {
	log *slog.Logger
}

// NewAudit returns an audit log writing to log (nil: nowhere).
func NewAudit(log *slog.Logger) *Audit {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Audit{log: log}
}

// OpenAuditLog opens path (created 0600, appended to) as a JSON-lines
// audit log. Close the returned closer after the last Record.
func OpenAuditLog(path string) (*Audit, io.Closer, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("audit log: %w", err)
	}
	return NewAudit(slog.New(slog.NewJSONHandler(f, nil))), f, nil
}

// AuditEntry is one audited request.
type AuditEntry struct {
	Principal Principal
	Operation Operation
	// Topology is the topology's id (or name, when the request gave only
	// that); for a submission, the new topology's id once known.
	Topology string
	// Result is "ok", "denied", "unauthenticated", or the gRPC code of
	// the failure ("NotFound", "FailedPrecondition").
	Result string
	// Err is why it failed, nil on success.
	Err error
}

// Audit results that are not gRPC codes.
const (
	ResultOK              = "ok"
	ResultDenied          = "denied"
	ResultUnauthenticated = "unauthenticated"
)

// Record writes e as one line.
func (a *Audit) Record(ctx context.Context, e AuditEntry) {
	p := e.Principal
	attrs := []slog.Attr{
		slog.String("who", p.Name),
		slog.String("auth", string(p.Method)),
		slog.String("via", string(p.Via)),
		slog.String("remote", p.Remote),
		slog.String("op", e.Operation.String()),
		slog.String("topology", e.Topology),
		slog.String("result", e.Result),
	}
	if len(p.Groups) > 0 {
		attrs = append(attrs, slog.Any("groups", p.Groups))
	}
	if p.Forwarder != "" {
		attrs = append(attrs, slog.String("forwarder", p.Forwarder))
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("error", e.Err.Error()))
	}
	level := slog.LevelInfo
	if e.Result == ResultDenied || e.Result == ResultUnauthenticated {
		level = slog.LevelWarn
	}
	a.log.LogAttrs(ctx, level, "audit", attrs...)
}
