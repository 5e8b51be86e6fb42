package drpc

import (
	"errors"
	"fmt"

	"github.com/squallstream/squall/api/drpcpb"
)

// Errors of a request that reached its function and got no result: each
// *ExecutionError is one of these (errors.Is), after Storm's
// DRPCExceptionType.
var (
	// ErrFailed: the topology failed the request (FAILED_REQUEST).
	ErrFailed = errors.New("request failed")
	// ErrTimeout: no result within drpc.request.timeout.secs
	// (SERVER_TIMEOUT).
	ErrTimeout = errors.New("timed out")
	// ErrShutdown: the server stopped first (SERVER_SHUTDOWN).
	ErrShutdown = errors.New("server shutting down")
	// ErrInternal: the server failed (INTERNAL_ERROR).
	ErrInternal = errors.New("internal error")
)

// Errors of a request refused before it was queued.
var (
	// ErrBadRequest: no function, a function name that is too long or not
	// UTF-8, or arguments that are not UTF-8.
	ErrBadRequest = errors.New("bad request")
	// ErrTooLarge: arguments (or a result) larger than
	// drpc.max_buffer_size.
	ErrTooLarge = errors.New("too large")
	// ErrBusy: drpc.max_buffer_size bytes of requests are queued, or
	// drpc.max.outstanding.requests requests are outstanding.
	ErrBusy = errors.New("server busy")
	// ErrDenied: the authorizer refused the caller.
	ErrDenied = errors.New("not authorized")
	// ErrUnauthenticated: the caller must authenticate first.
	ErrUnauthenticated = errors.New("not authenticated")
)

// ErrUnavailable means a client could not reach a DRPC server.
var ErrUnavailable = errors.New("drpc server unavailable")

// ExecutionError is a request that reached the server and got no result:
// Storm's DRPCExecutionException. errors.Is matches it with the sentinel
// of its type (ErrFailed, ErrTimeout, ErrShutdown, ErrInternal).
type ExecutionError struct {
	Type drpcpb.ErrorType
	// Msg says what happened, for a person.
	Msg string
}

// Storm's messages for its execution errors.
const (
	msgTimedOut = "Timed Out"
	msgShutdown = "Server Shutting Down"
	msgFailed   = "Request failed"
)

func (e *ExecutionError) Error() string {
	return fmt.Sprintf("drpc %s: %s", e.Type, e.Msg)
}

// Is reports whether target is the sentinel of e's type.
func (e *ExecutionError) Is(target error) bool {
	return target == e.sentinel()
}

func (e *ExecutionError) sentinel() error {
	switch e.Type {
	case drpcpb.ErrorType_FAILED_REQUEST:
		return ErrFailed
	case drpcpb.ErrorType_SERVER_TIMEOUT:
		return ErrTimeout
	case drpcpb.ErrorType_SERVER_SHUTDOWN:
		return ErrShutdown
	}
	return ErrInternal
}

func executionError(t drpcpb.ErrorType, msg string) *ExecutionError {
	return &ExecutionError{Type: t, Msg: msg}
}
