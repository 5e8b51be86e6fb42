package api

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestFormatUptime(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{-time.Second, "0s"},
		{999 * time.Millisecond, "0s"},
		{5 * time.Second, "5s"},
		{60 * time.Second, "1m 0s"},
		{1759 * time.Second, "29m 19s"},
		{3600 * time.Second, "1h 0m 0s"},
		{86400 * time.Second, "1d 0h 0m 0s"},
		{(400*86400 + 3*3600 + 9) * time.Second, "400d 3h 0m 9s"},
	}
	for _, tt := range tests {
		if got := FormatUptime(tt.d); got != tt.want {
			t.Errorf("FormatUptime(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestWindowHint(t *testing.T) {
	for in, want := range map[string]string{
		"": "All time", ":all-time": "All time", "600": "10m 0s", "10800": "3h 0m 0s", "86400": "1d 0h 0m 0s", "later": "later",
	} {
		if got := WindowHint(in); got != want {
			t.Errorf("WindowHint(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatStat(t *testing.T) {
	for in, want := range map[float64]string{0: "0.000", 0.0484: "0.048", 2.1125: "2.112", 1234.5: "1234.500"} {
		if got := FormatStat(in); got != want {
			t.Errorf("FormatStat(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestEncodeID(t *testing.T) {
	for in, want := range map[string]string{
		"wordcount-1-2": "wordcount-1-2", "a b/c": "a%20b%2Fc", "50%": "50%25", "a?b#c": "a%3Fb%23c",
	} {
		if got := EncodeID(in); got != want {
			t.Errorf("EncodeID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTruncateError(t *testing.T) {
	short := strings.Repeat("é", MaxLastErrorChars)
	if got := TruncateError(short); got != short {
		t.Errorf("TruncateError of %d characters changed it", MaxLastErrorChars)
	}
	long := strings.Repeat("é", MaxLastErrorChars) + "tail"
	if got := TruncateError(long); got != short {
		t.Errorf("TruncateError(long) = %q, want the first %d characters", got, MaxLastErrorChars)
	}
}

func TestHTTPStatus(t *testing.T) {
	want := map[codes.Code]int{
		codes.OK: 200, codes.InvalidArgument: 400, codes.NotFound: 404, codes.AlreadyExists: 409,
		codes.FailedPrecondition: 409, codes.Unauthenticated: 401, codes.PermissionDenied: 403,
		codes.Unavailable: 503, codes.Internal: 500, codes.Unknown: 500, codes.DeadlineExceeded: 500,
	}
	for c, w := range want {
		if got := HTTPStatus(c); got != w {
			t.Errorf("HTTPStatus(%v) = %d, want %d", c, got, w)
		}
	}
}

func TestCLIError(t *testing.T) {
	plain := errors.New("plain")
	tests := []struct {
		err  error
		want string
	}{
		{status.Error(codes.NotFound, `topology "wc" not found`), `topology "wc" not found`},
		{status.Error(codes.AlreadyExists, `topology name "wc" is taken`), `topology name "wc" is taken`},
		{status.Error(codes.Unavailable, "connection refused"), "nimbus unavailable: connection refused"},
		{status.Error(codes.DeadlineExceeded, "context deadline exceeded"), "nimbus did not answer in time: context deadline exceeded"},
		{status.Error(codes.Unauthenticated, "no token"), "not authenticated: no token"},
		{status.Error(codes.PermissionDenied, "user bob may not kill wc"), "permission denied: user bob may not kill wc"},
		{status.Error(codes.PermissionDenied, "permission denied"), "permission denied"},
		{status.Error(codes.Internal, "store: disk full"), "nimbus error: store: disk full"},
		{status.Error(codes.Unimplemented, "unknown method GetErrors"), "nimbus does not support this request (is it an older squall?): unknown method GetErrors"},
		{status.Error(codes.ResourceExhausted, "trying to send message larger than max (300 vs. 200)"), "request too large for nimbus: trying to send message larger than max (300 vs. 200)"},
		{status.Error(codes.FailedPrecondition, ""), "failedprecondition"},
		{status.Error(codes.Unavailable, ""), "nimbus unavailable"},
		{plain, "plain"},
	}
	for _, tt := range tests {
		got := CLIError(tt.err)
		if got.Error() != tt.want {
			t.Errorf("CLIError(%v) = %q, want %q", tt.err, got, tt.want)
		}
		if status.Code(got) != status.Code(tt.err) {
			t.Errorf("status.Code(CLIError(%v)) = %v, want %v", tt.err, status.Code(got), status.Code(tt.err))
		}
		if !errors.Is(got, tt.err) {
			t.Errorf("CLIError(%v) does not wrap it", tt.err)
		}
	}
	if CLIError(nil) != nil {
		t.Errorf("CLIError(nil) != nil")
	}
	wrapped := fmt.Errorf("kill: %w", context.Canceled)
	if got := CLIError(wrapped); !errors.Is(got, context.Canceled) {
		t.Errorf("CLIError(%v) = %v, lost context.Canceled", wrapped, got)
	}
}

func TestParseConfigValue(t *testing.T) {
	tests := map[string]string{
		"3": "3", "1.5": "1.5", "true": "true", "null": "null", `"quoted"`: `"quoted"`,
		"[1, \"a\"]": `[1,"a"]`, `{"k": 1}`: `{"k":1}`, "word count": `"word count"`, "": `""`, "{bad": `"{bad"`,
	}
	for in, want := range tests {
		v, err := ParseConfigValue(in)
		if err != nil {
			t.Errorf("ParseConfigValue(%q): %v", in, err)
			continue
		}
		got, err := marshalJSON(v)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("ParseConfigValue(%q) = %s, want %s", in, got, want)
		}
	}
}
