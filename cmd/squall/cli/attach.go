package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/squallstream/squall/shell"
	"github.com/squallstream/squall/worker"
)

// attachment is the terminal one task of squall local --attach gets for
// a debugger: what the child prints there goes to the user, and every
// line the user types goes to it.
type attachment struct {
	component string
	task      int // 0 until resolved: the component's first task
	term, tty *os.File
	// Times (unix ns) of the child's last output on the terminal and of
	// the user's last line.
	lastTTY, lastTyped atomic.Int64
}

// openAttachment opens the terminal for --attach COMPONENT[:TASK].
func openAttachment(spec string) (*attachment, error) {
	a := &attachment{component: spec}
	if comp, task, ok := strings.Cut(spec, ":"); ok {
		n, err := strconv.Atoi(task)
		if err != nil || n <= 0 || comp == "" {
			return nil, fmt.Errorf("--attach %q: want COMPONENT or COMPONENT:TASK (a task id)", spec)
		}
		a.component, a.task = comp, n
	}
	var err error
	if a.term, a.tty, err = shell.OpenTerminal(); err != nil {
		return nil, err
	}
	return a, nil
}

// resolve checks the component and task against the worker's tasks.
func (a *attachment) resolve(w *worker.Worker) error {
	tasks := w.Tasks().Tasks(a.component)
	if len(tasks) == 0 {
		return fmt.Errorf("--attach: no component %q in the topology", a.component)
	}
	if a.task == 0 {
		a.task = tasks[0]
		return nil
	}
	for _, t := range tasks {
		if t == a.task {
			return nil
		}
	}
	return fmt.Errorf("--attach: %q has tasks %v, not %d", a.component, tasks, a.task)
}

// terminal is shell.Options.Attach.
func (a *attachment) terminal(component string, task int) *shell.Terminal {
	if component != a.component || task != a.task {
		return nil
	}
	return &shell.Terminal{TTY: a.tty, Holding: a.holding}
}

// holding: the child printed on its terminal (a debugger's prompt) after
// the user's last line.
func (a *attachment) holding() bool { return a.lastTTY.Load() > a.lastTyped.Load() }

// serve copies the terminal to out and the user's lines from in to it,
// until the terminal is closed.
func (a *attachment) serve(in io.Reader, out io.Writer) {
	go func() {
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			a.lastTyped.Store(time.Now().UnixNano())
			if _, err := a.term.Write([]byte(sc.Text() + "\n")); err != nil {
				return
			}
		}
	}()
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := a.term.Read(buf)
			if n > 0 {
				a.lastTTY.Store(time.Now().UnixNano())
				out.Write(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
}

func (a *attachment) close() {
	a.term.Close()
	a.tty.Close()
}
