package cli

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"
)

// envAsSquall makes the test binary the squall command: dev-cluster runs
// its daemons, and the supervisor its workers, from os.Executable.
const envAsSquall = "SQUALL_CLI_TEST_AS_SQUALL"

func TestMain(m *testing.M) {
	if os.Getenv(envAsSquall) != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}
