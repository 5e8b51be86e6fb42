package drpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/squallstream/squall/api/drpcpb"
)

// maxHeaderBytes bounds an HTTP request's header, and with it the
// arguments of the GET form.
const maxHeaderBytes = 64 << 10

// HTTPHandler returns Storm's HTTP forms of DRPC:
//
//	POST /drpc/{function}          the body is the arguments
//	GET  /drpc/{function}/{args}   the arguments in the path (percent-encoded)
//	GET  /drpc/{function}          empty arguments
//
// Each answers 200 with the result as the body. Errors are JSON,
// {"error": ..., "errorMessage": ...}, with Storm's statuses for a request
// that got no result: 400 FAILED_REQUEST, 504 SERVER_TIMEOUT, 503
// SERVER_SHUTDOWN, 500 INTERNAL_ERROR; and for one refused at the door: 400
// (bad name or not UTF-8), 413 (too large), 503 (busy, with Retry-After),
// 401 and 403.
func (s *Server) HTTPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /drpc/{function}", s.httpPost)
	mux.HandleFunc("GET /drpc/{function}", s.httpGet)
	mux.HandleFunc("GET /drpc/{function}/{args...}", s.httpGet)
	if s.cfg.WrapHTTP != nil {
		return s.cfg.WrapHTTP(mux)
	}
	return mux
}

func (s *Server) httpPost(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(s.cfg.MaxBufferSize)))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			err = fmt.Errorf("%w: arguments of more than %s (%d bytes)", ErrTooLarge, KeyMaxBufferSize, s.cfg.MaxBufferSize)
		} else {
			err = fmt.Errorf("%w: reading the arguments: %v", ErrBadRequest, err)
		}
		writeHTTPError(w, err)
		return
	}
	s.httpExecute(w, r, string(body))
}

func (s *Server) httpGet(w http.ResponseWriter, r *http.Request) {
	s.httpExecute(w, r, r.PathValue("args"))
}

func (s *Server) httpExecute(w http.ResponseWriter, r *http.Request, args string) {
	result, err := s.Execute(r.Context(), r.PathValue("function"), args)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return // the client left
		}
		writeHTTPError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, result)
}

// httpErrorBody is the JSON of an error, as Storm's DRPC server writes it.
type httpErrorBody struct {
	Error        string `json:"error"`
	ErrorMessage string `json:"errorMessage"`
}

// writeHTTPError answers with err's status and body.
func writeHTTPError(w http.ResponseWriter, err error) {
	code, body := httpError(err)
	if code == http.StatusServiceUnavailable && errors.Is(err, ErrBusy) {
		w.Header().Set("Retry-After", "1")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

// httpError returns the HTTP status and body of an error of Execute: an
// execution error carries its type, as Storm's DRPCExceptionMapper writes
// it; a refusal carries the status, as Storm's UI writes errors.
func httpError(err error) (int, httpErrorBody) {
	var ee *ExecutionError
	if errors.As(err, &ee) {
		code := http.StatusInternalServerError
		switch ee.Type {
		case drpcpb.ErrorType_FAILED_REQUEST:
			code = http.StatusBadRequest
		case drpcpb.ErrorType_SERVER_SHUTDOWN:
			code = http.StatusServiceUnavailable
		case drpcpb.ErrorType_SERVER_TIMEOUT:
			code = http.StatusGatewayTimeout
		}
		return code, httpErrorBody{Error: ee.Type.String(), ErrorMessage: ee.Msg}
	}
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrBadRequest):
		code = http.StatusBadRequest
	case errors.Is(err, ErrTooLarge):
		code = http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrBusy):
		code = http.StatusServiceUnavailable
	case errors.Is(err, ErrDenied):
		code = http.StatusForbidden
	case errors.Is(err, ErrUnauthenticated):
		code = http.StatusUnauthorized
	}
	return code, httpErrorBody{Error: fmt.Sprintf("%d %s", code, http.StatusText(code)), ErrorMessage: err.Error()}
}
