// Package multilang is the codec of Storm's multilang protocol: the messages
// a host and a child process exchange over the child's stdin and stdout, and
// their framing. It holds no goroutines and does no I/O of its own beyond the
// reader and writer it is given.
//
// The JSON framing is one JSON value followed by a line "end". Reading is
// lenient as the spec asks (multi-line JSON, stray non-JSON lines reported
// and skipped, invalid UTF-8 replaced) and bounded: a message larger than
// the configured cap is skipped without being buffered and reported as
// ErrTooLarge. Writing puts each JSON value on one line, LF only.
package multilang
