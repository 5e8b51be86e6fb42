package nimbus

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Sentinel errors. nimbus's methods return errors wrapping them; the gRPC
// boundary (grpcError) turns each into its status code. Test them with
// errors.Is.
var (
	// ErrNotFound: no topology, or no component, has the id or name asked
	// for (NotFound).
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the request is malformed: a definition that does not
	// validate, an unsafe package, a Go binary for another platform, a
	// negative wait time, a rebalance of an unknown component
	// (InvalidArgument).
	ErrInvalid = errors.New("invalid request")
	// ErrNameInUse: a topology of that name exists already
	// (AlreadyExists).
	ErrNameInUse = errors.New("topology name in use")
	// ErrRefused: the topology's status forbids the operation, as
	// activating a killed topology (FailedPrecondition).
	ErrRefused = errors.New("not allowed in the topology's status")
	// ErrUnavailable: this nimbus cannot serve the request now: no nimbus
	// leads, the leadership changed during the request, a package is not
	// copied here yet, or the cluster state is unreachable (Unavailable).
	ErrUnavailable = errors.New("unavailable")
)

// kindError is an error of one of the sentinel kinds whose message is its
// cause's alone, so that the status message says what went wrong without
// a generic prefix.
type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

// withKind marks err as being of kind.
func withKind(kind, err error) error { return &kindError{kind: kind, err: err} }

func invalidf(format string, args ...any) error {
	return withKind(ErrInvalid, fmt.Errorf(format, args...))
}

func notFoundf(format string, args ...any) error {
	return withKind(ErrNotFound, fmt.Errorf(format, args...))
}

func unavailablef(format string, args ...any) error {
	return withKind(ErrUnavailable, fmt.Errorf(format, args...))
}

// grpcError is the one place where nimbus's errors become gRPC statuses.
// Statuses (errors a leader answered a forwarded request with) pass
// unchanged.
func grpcError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codes.Internal
	switch {
	case errors.Is(err, ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, ErrInvalid):
		code = codes.InvalidArgument
	case errors.Is(err, ErrNameInUse):
		code = codes.AlreadyExists
	case errors.Is(err, ErrRefused):
		code = codes.FailedPrecondition
	case errors.Is(err, ErrUnavailable):
		code = codes.Unavailable
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	}
	msg := err.Error()
	if code == codes.Internal {
		// A failure of nimbus's own (a full disk) is reported, but not
		// where nimbus keeps its files.
		msg = withoutDirs(msg)
	}
	return status.Error(code, msg)
}

// absDirs matches the directories of an absolute path in a message.
var absDirs = regexp.MustCompile(`(^|[\s"'(=\[])(/[^\s"'/]+)+/`)

// withoutDirs removes the directories of the absolute paths in msg,
// keeping their last element: "open /var/lib/squall/x/y.tar: no space"
// becomes "open y.tar: no space".
func withoutDirs(msg string) string { return absDirs.ReplaceAllString(msg, "$1") }
