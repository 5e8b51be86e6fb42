package nimbus

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/internal/procgroup"
	"github.com/squallstream/squall/internal/submission"
)

// elfMachines maps Go architectures to their ELF machine.
var elfMachines = map[string]elf.Machine{
	"386":      elf.EM_386,
	"amd64":    elf.EM_X86_64,
	"arm":      elf.EM_ARM,
	"arm64":    elf.EM_AARCH64,
	"loong64":  elf.EM_LOONGARCH,
	"mips":     elf.EM_MIPS,
	"mipsle":   elf.EM_MIPS,
	"mips64":   elf.EM_MIPS,
	"mips64le": elf.EM_MIPS,
	"ppc64":    elf.EM_PPC64,
	"ppc64le":  elf.EM_PPC64,
	"riscv64":  elf.EM_RISCV,
	"s390x":    elf.EM_S390,
}

// elfOSABIs maps Go operating systems to the ELF OS ABIs their binaries
// carry (Go writes ELFOSABI_NONE for Linux).
var elfOSABIs = map[string][]elf.OSABI{
	"linux":   {elf.ELFOSABI_NONE, elf.ELFOSABI_LINUX},
	"freebsd": {elf.ELFOSABI_FREEBSD, elf.ELFOSABI_NONE},
	"netbsd":  {elf.ELFOSABI_NETBSD, elf.ELFOSABI_NONE},
	"openbsd": {elf.ELFOSABI_OPENBSD, elf.ELFOSABI_NONE},
}

// checkExecutable reports why bin cannot run on this nimbus's OS and
// architecture: it must be an ELF executable for both. Supervisors run
// the same binary, and a cluster is expected to be of one platform.
func checkExecutable(bin io.ReaderAt) error {
	f, err := elf.NewFile(bin)
	if err != nil {
		return fmt.Errorf("not an ELF executable (%v); build it with GOOS=%s GOARCH=%s", err, runtime.GOOS, runtime.GOARCH)
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("not an executable: ELF type %v", f.Type)
	}
	if want, ok := elfMachines[runtime.GOARCH]; ok && f.Machine != want {
		return fmt.Errorf("built for %v, but the cluster runs %s/%s", f.Machine, runtime.GOOS, runtime.GOARCH)
	}
	if abis, ok := elfOSABIs[runtime.GOOS]; ok {
		match := false
		for _, a := range abis {
			match = match || f.OSABI == a
		}
		if !match {
			return fmt.Errorf("built for OS ABI %v, but the cluster runs %s/%s", f.OSABI, runtime.GOOS, runtime.GOARCH)
		}
	}
	return nil
}

// maxValidateOutput bounds what nimbus reads of a validating binary's
// output.
const maxValidateOutput = 4 << 20

// validateGrace is how long a validating binary that timed out gets to
// exit after SIGTERM.
const validateGrace = time.Second

// runValidate runs `bin validate` in dir (the unpacked resources) with
// sub, without its bytes, as protojson on stdin. It returns the outline
// the binary printed as a JSON object on stdout, or ok false if it
// printed none (a validate that prints only a message). A binary that
// refuses the submission (exit status 1) gives an error wrapping
// ErrInvalid with the binary's message.
func runValidate(ctx context.Context, bin, dir string, sub *api.SubmitTopologyRequest, timeout time.Duration) (o submission.Outline, ok bool, err error) {
	work, err := os.MkdirTemp("", "squall-validate-")
	if err != nil {
		return o, false, err
	}
	defer os.RemoveAll(work)
	in, err := protojson.Marshal(sub)
	if err != nil {
		return o, false, err
	}
	files := make([]*os.File, 3)
	for i, name := range []string{"stdin", "stdout", "stderr"} {
		if files[i], err = os.Create(filepath.Join(work, name)); err != nil {
			return o, false, err
		}
		defer files[i].Close()
	}
	if _, err := files[0].Write(in); err != nil {
		return o, false, err
	}
	if _, err := files[0].Seek(0, io.SeekStart); err != nil {
		return o, false, err
	}
	cmd := exec.Command(bin, "validate")
	cmd.Dir = dir
	cmd.Env = os.Environ()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = files[0], files[1], files[2]
	p, err := procgroup.Start(cmd)
	if err != nil {
		return o, false, invalidf("go binary: run validate: %v", err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.Done():
	case <-timer.C:
		p.Stop(validateGrace)
		return o, false, invalidf("go binary: validate did not finish within %v", timeout)
	case <-ctx.Done():
		p.Stop(validateGrace)
		return o, false, ctx.Err()
	}
	st := p.Status()
	stdout, err := readHead(files[1])
	if err != nil {
		return o, false, err
	}
	if !st.Success() {
		stderr, err := readHead(files[2])
		if err != nil {
			return o, false, err
		}
		msg := strings.TrimSpace(string(stderr))
		if msg == "" {
			msg = strings.TrimSpace(string(stdout))
		}
		// The squall CLI prints errors as "squall: <error>"; file names
		// are better without nimbus's temporary directory.
		msg = strings.TrimPrefix(msg, "squall: ")
		msg = strings.ReplaceAll(msg, dir+string(filepath.Separator), "")
		if st.Code == 1 && msg != "" {
			return o, false, withKind(ErrInvalid, errors.New(msg))
		}
		return o, false, invalidf("go binary: validate: %v: %s", st, msg)
	}
	if out := bytes.TrimSpace(stdout); len(out) == 0 || out[0] != '{' {
		return o, false, nil // a validate that prints no outline
	}
	o, err = submission.ParseOutline(stdout)
	if err != nil {
		return o, false, invalidf("go binary: validate printed a bad outline: %v", err)
	}
	return o, true, nil
}

// readHead reads f from its start, up to maxValidateOutput bytes.
func readHead(f *os.File) ([]byte, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(f, maxValidateOutput))
}
