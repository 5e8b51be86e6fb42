package nimbus

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/squallstream/squall/api"
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

// maxOutlineBytes bounds a submitted outline; the whole definition is
// bounded by api.MaxDefinitionBytes already.
const maxOutlineBytes = 4 << 20

// binaryOutline returns the outline a Go binary's submitter sent with it
// (goBinaryOutline), after checking the binary is the one it was made for
// (goBinarySha256). nimbus never runs a submitted binary: its components
// are unknown to nimbus's registry, so the submitter, who runs it anyway,
// says what they are, and the workers check the binary agrees.
func binaryOutline(sub *api.SubmitTopologyRequest, bin io.ReaderAt, size int64) (submission.Outline, error) {
	text := sub.GetGoBinaryOutline()
	if strings.TrimSpace(text) == "" {
		return submission.Outline{}, invalidf("goBinaryOutline: a Go binary comes with its topology's outline, " +
			"which `BINARY validate` prints and squall submit sends: nimbus does not run submitted code")
	}
	if len(text) > maxOutlineBytes {
		return submission.Outline{}, invalidf("goBinaryOutline: %d bytes, more than %d", len(text), maxOutlineBytes)
	}
	if bin != nil {
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(bin, 0, size)); err != nil {
			return submission.Outline{}, err
		}
		got := hex.EncodeToString(h.Sum(nil))
		if want := strings.ToLower(strings.TrimSpace(sub.GetGoBinarySha256())); want != got {
			return submission.Outline{}, invalidf("goBinarySha256: %.64q does not match the Go binary received (sha256 %s)", sub.GetGoBinarySha256(), got)
		}
	}
	o, err := submission.ParseOutline([]byte(text))
	if err != nil {
		return submission.Outline{}, invalidf("goBinaryOutline: %v", err)
	}
	return o, nil
}
