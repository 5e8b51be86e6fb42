package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/cmd/squall/cli"
)

// TestKafkaFake starts the fake broker with a topic loaded from a file and
// tails it: every line comes back, keyed by its number.
func TestKafkaFake(t *testing.T) {
	file := filepath.Join(t.TempDir(), "lines.txt")
	if err := os.WriteFile(file, []byte("one\ntwo\nthree\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, []string{"kafka-fake", "--port", "0", "--topic", "lines:2", "--load", "lines=" + file, "--tail", "lines"}, &stdout, &stderr)
	}()
	for strings.Count(stdout.String(), "\n") < 3 {
		select {
		case code := <-done:
			t.Fatalf("kafka-fake exited with %d\n%s", code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if ctx.Err() != nil {
			t.Fatalf("no records tailed\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("kafka-fake exited with %d after cancel\n%s", code, stderr.String())
	}
	for _, want := range []string{`lines/\d@\d 1: one`, `lines/\d@\d 2: two`, `lines/\d@\d 3: three`} {
		if !regexp.MustCompile(want).MatchString(stdout.String()) {
			t.Errorf("tail printed\n%s\nwant a line matching %s", stdout.String(), want)
		}
	}
	if !strings.Contains(stderr.String(), "a test tool") || !regexp.MustCompile(`on 127\.0\.0\.1:\d+`).MatchString(stderr.String()) {
		t.Errorf("stderr = %q, want the address and the test-tool warning", stderr.String())
	}
}

func TestKafkaFakeBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"kafka-fake", "--port", "0", "--topic", "t:zero"},
		{"kafka-fake", "--port", "0", "--topic", ":3"},
		{"kafka-fake", "--port", "0", "--load", "nosuch=file"},
		{"kafka-fake", "--port", "0", "--topic", "t", "--load", "t"},
	} {
		var stdout, stderr syncBuffer
		if code := cli.Main(context.Background(), args, &stdout, &stderr); code == 0 {
			t.Errorf("squall %v succeeded, want a usage error", args)
		}
	}
}
