package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Errors of the package stream (SendPackage, ReceivePackage).
var (
	// ErrPackageStream means a DownloadPackage stream broke its contract:
	// no manifest first, parts out of order, or sizes that do not match the
	// manifest.
	ErrPackageStream = errors.New("malformed package stream")
)

// HTTPStatus returns the HTTP status the REST gateway answers a gRPC status
// code with. FailedPrecondition (an operation the topology's status
// forbids, such as activating a killed topology) is 409 Conflict: the
// request was well formed and may succeed once the state changes, which is
// what 409 says and 400 does not.
func HTTPStatus(c codes.Code) int {
	switch c {
	case codes.OK:
		return http.StatusOK
	case codes.InvalidArgument:
		return http.StatusBadRequest
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.FailedPrecondition:
		return http.StatusConflict
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// ErrorBody is the JSON body of every REST error, as Storm's UI writes it:
// {"error": "404 Not Found", "errorMessage": "topology \"x\" not found"}.
type ErrorBody struct {
	// Error is the HTTP status code and its text, "404 Not Found".
	Error string `json:"error"`
	// ErrorMessage says what went wrong, for a person. Never a stack trace.
	ErrorMessage string `json:"errorMessage"`
}

// NewErrorBody returns the error body for an HTTP status and a message.
func NewErrorBody(httpStatus int, message string) ErrorBody {
	return ErrorBody{
		Error:        fmt.Sprintf("%d %s", httpStatus, http.StatusText(httpStatus)),
		ErrorMessage: message,
	}
}

// CLIError returns err as a command-line tool should show it: for a gRPC
// status error, nimbus's message, prefixed with what the code means when
// the message alone would not say (nimbus unreachable, not authorised, an
// internal failure). It returns nil for nil and other errors unchanged. The
// result still carries the status: status.Code(CLIError(err)) is the code
// of err, and errors.Is/As see through it.
func CLIError(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	msg := st.Message()
	prefix := ""
	switch st.Code() {
	case codes.Unavailable:
		prefix = "nimbus unavailable"
	case codes.DeadlineExceeded:
		prefix = "nimbus did not answer in time"
	case codes.Canceled:
		prefix = "canceled"
	case codes.Unauthenticated:
		prefix = "not authenticated"
	case codes.PermissionDenied:
		prefix = "permission denied"
	case codes.Unimplemented:
		prefix = "nimbus does not support this request (is it an older squall?)"
	case codes.Internal, codes.Unknown, codes.DataLoss:
		prefix = "nimbus error"
	case codes.ResourceExhausted:
		if strings.Contains(msg, "larger than max") {
			prefix = "request too large for nimbus"
		}
	}
	switch {
	case msg == "" && prefix == "":
		msg = strings.ToLower(st.Code().String())
	case msg == "":
		msg = prefix
	case prefix != "" && !strings.HasPrefix(msg, prefix):
		msg = prefix + ": " + msg
	}
	return &cliError{msg: msg, st: st, err: err}
}

// cliError is CLIError's result.
type cliError struct {
	msg string
	st  *status.Status
	err error
}

func (e *cliError) Error() string              { return e.msg }
func (e *cliError) Unwrap() error              { return e.err }
func (e *cliError) GRPCStatus() *status.Status { return e.st }
