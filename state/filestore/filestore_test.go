package filestore_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/squallstream/squall/state"
	"github.com/squallstream/squall/state/filestore"
)

// The test binary is also the child that is killed: with
// FILESTORE_TEST_CHILD set to a file path, it commits transactions to it
// forever, printing the id of each once it is committed.
func TestMain(m *testing.M) {
	if path := os.Getenv("FILESTORE_TEST_CHILD"); path != "" {
		if err := commitForever(path); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	os.Exit(m.Run())
}

// keys is how many keys the child's transactions cycle through.
const keys = 100

// commitForever commits transactions from the one after the last
// committed, transaction tx setting n = tx and k<tx%keys> = tx, and prints
// each id once committed: a kill lands in the middle of a write, or
// between a prepare and its commit.
func commitForever(path string) error {
	store, err := filestore.Open(path, filestore.Options{})
	if err != nil {
		return err
	}
	s, err := state.Open(store.Backend("wc/count-1"))
	if err != nil {
		return err
	}
	if err := s.Rollback(); err != nil {
		return err
	}
	out := bufio.NewWriter(os.Stdout)
	for tx := s.Committed() + 1; ; tx++ {
		v := []byte(strconv.FormatInt(tx, 10))
		if err := s.Put("n", v); err != nil {
			return err
		}
		if err := s.Put(fmt.Sprint("k", tx%keys), v); err != nil {
			return err
		}
		if err := s.PrepareCommit(tx); err != nil {
			return err
		}
		if err := s.Commit(tx); err != nil {
			return err
		}
		fmt.Fprintln(out, tx)
		if err := out.Flush(); err != nil {
			return err
		}
	}
}

func get(t *testing.T, s *state.State, key string) int64 {
	t.Helper()
	v, ok, err := s.Get(key)
	if err != nil || !ok {
		t.Fatalf("Get(%s) = %q, %v, %v", key, v, ok, err)
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		t.Fatalf("Get(%s) = %q: %v", key, v, err)
	}
	return n
}

// A worker killed with SIGKILL while it commits leaves the last
// transaction it reported committed (or a later one), whole.
func TestKill9WhileCommitting(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "worker.db")
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "FILESTORE_TEST_CHILD="+path)
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Let it commit a varying number of transactions, then kill it.
		lines := bufio.NewScanner(stdout)
		reported := int64(-1)
		for n := 0; n < 20+round*37 && lines.Scan(); n++ {
			reported, _ = strconv.ParseInt(lines.Text(), 10, 64)
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		if reported < 0 {
			t.Fatalf("round %d: the child reported no commit", round)
		}

		store, err := filestore.Open(path, filestore.Options{})
		if err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		s, err := state.Open(store.Backend("wc/count-1"))
		if err != nil {
			t.Fatal(err)
		}
		committed := s.Committed()
		if committed < reported {
			t.Fatalf("round %d: committed %d, but the child reported %d committed", round, committed, reported)
		}
		// Recovery rolls back what was only prepared.
		if err := s.Rollback(); err != nil {
			t.Fatal(err)
		}
		if n := get(t, s, "n"); n != committed {
			t.Fatalf("round %d: n = %d, want the committed txid %d", round, n, committed)
		}
		for k := range int64(keys) {
			// The last transaction before committed that wrote k.
			want := committed - (committed-k)%keys
			if want < 0 || committed < k {
				continue
			}
			if got := get(t, s, fmt.Sprint("k", k)); got != want {
				t.Fatalf("round %d: k%d = %d, want %d", round, k, got, want)
			}
		}
		// The next round's child goes on from here.
		if err := store.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// A second process cannot open a file a worker holds: it gets an error
// after the lock timeout instead of corrupting it.
func TestLocked(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "worker.db")
	a, err := filestore.Open(path, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	_, err = filestore.Open(path, filestore.Options{LockTimeout: 100 * time.Millisecond})
	if !errors.Is(err, bolterrors.ErrTimeout) {
		t.Fatalf("second Open: err = %v, want a lock timeout", err)
	}
}
