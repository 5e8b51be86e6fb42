package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/internal/layout"
	"github.com/squallstream/squall/internal/tarball"
)

// Prefixes of the temporary entries of the stormdist directory; storm ids
// never start with a dot.
const (
	downloadPrefix = ".download-"
	replacedPrefix = ".replaced-"
)

// validStormID reports whether id can name a directory of its own under
// the stormdist directory: a single path element, not hidden.
func validStormID(id string) bool {
	return id != "" && id != "." && id != ".." && !strings.HasPrefix(id, ".") &&
		!strings.ContainsAny(id, "/\\\x00")
}

// packageLimits bound a download.
type packageLimits struct {
	// maxBytes bounds the resources archive and the Go binary together.
	maxBytes int64
	// extract bounds the unpacked resources.
	extract tarball.Limits
}

// fetchPackage downloads topology stormID's package at digest (any digest
// if empty) from nimbus and installs it at layout.StormDist(localDir,
// stormID): it is received and unpacked into a temporary directory next to
// it, then renamed into place, so a stormdist directory is always complete.
// It returns the digest installed. A package that is unsafe, too large or
// not the one asked for is refused with an error wrapping
// ErrPackageRefused.
func fetchPackage(ctx context.Context, client api.NimbusClient, localDir, stormID, digest string, lim packageLimits) (string, error) {
	root := layout.StormDistRoot(localDir)
	// Packages are the topologies' code and configuration: readable by
	// the supervisor's user (and the workers it runs) only.
	if err := os.MkdirAll(root, 0o700); err != nil {
		return "", fmt.Errorf("download package %s: %w", stormID, err)
	}
	tmp, err := os.MkdirTemp(root, downloadPrefix+stormID+"-")
	if err != nil {
		return "", fmt.Errorf("download package %s: %w", stormID, err)
	}
	defer os.RemoveAll(tmp) // gone already once renamed into place
	got, err := receivePackage(ctx, client, tmp, stormID, digest, lim)
	if err != nil {
		return "", fmt.Errorf("download package %s: %w", stormID, err)
	}
	if err := install(tmp, layout.StormDist(localDir, stormID)); err != nil {
		return "", fmt.Errorf("install package %s: %w", stormID, err)
	}
	return got, nil
}

// receivePackage downloads and unpacks a package into dir, laid out as a
// stormdist directory.
func receivePackage(ctx context.Context, client api.NimbusClient, dir, stormID, digest string, lim packageLimits) (string, error) {
	archivePath := filepath.Join(dir, "package.tar.gz")
	archive, err := os.OpenFile(archivePath, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", err
	}
	defer archive.Close()
	binPath := layout.GoBinary(dir)
	if err := os.MkdirAll(filepath.Dir(binPath), 0o700); err != nil {
		return "", err
	}
	bin, err := os.OpenFile(binPath, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o700)
	if err != nil {
		return "", err
	}
	defer bin.Close()

	stream, err := client.DownloadPackage(ctx, &api.DownloadPackageRequest{TopologyId: stormID, Digest: digest})
	if err != nil {
		return "", err
	}
	budget := &budget{left: lim.maxBytes}
	m, err := api.ReceivePackage(stream, budget.writer(archive), budget.writer(bin))
	if errors.Is(err, errTooLarge) {
		return "", fmt.Errorf("%w: larger than %d bytes", ErrPackageRefused, lim.maxBytes)
	}
	if err != nil {
		return "", err
	}
	switch {
	case m.GetTopologyId() != stormID:
		return "", fmt.Errorf("%w: nimbus sent the package of topology %q", ErrPackageRefused, m.GetTopologyId())
	case digest != "" && m.GetDigest() != digest:
		return "", fmt.Errorf("%w: nimbus sent digest %q, not %q", ErrPackageRefused, m.GetDigest(), digest)
	}
	if err := archive.Close(); err != nil {
		return "", err
	}
	if err := bin.Close(); err != nil {
		return "", err
	}
	if m.GetGoBinarySize() == 0 {
		if err := os.RemoveAll(filepath.Dir(binPath)); err != nil {
			return "", err
		}
	}

	resources := layout.ResourcesDir(dir)
	if m.GetPackageSize() == 0 {
		err = os.Mkdir(resources, 0o700)
	} else {
		err = extract(archivePath, resources, lim.extract)
	}
	if errors.Is(err, tarball.ErrUnsafe) {
		return "", fmt.Errorf("%w: %w", ErrPackageRefused, err)
	}
	if err != nil {
		return "", err
	}
	if err := os.Remove(archivePath); err != nil {
		return "", err
	}

	sub, err := protojson.Marshal(m.GetSubmission())
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(layout.SubmissionFile(dir), append(sub, '\n'), 0o600); err != nil {
		return "", err
	}
	if err := os.WriteFile(layout.DigestFile(dir), []byte(m.GetDigest()+"\n"), 0o600); err != nil {
		return "", err
	}
	return m.GetDigest(), nil
}

func extract(archivePath, dir string, lim tarball.Limits) error {
	f, err := os.Open(archivePath)
	if err != nil {
		return err
	}
	defer f.Close()
	return tarball.Extract(f, dir, lim)
}

// install renames the complete package directory tmp to dist, replacing
// an older package there.
func install(tmp, dist string) error {
	if _, err := os.Lstat(dist); err == nil {
		old, err := os.MkdirTemp(filepath.Dir(dist), replacedPrefix+filepath.Base(dist)+"-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(old)
		// Move the old package inside old, so renaming it is atomic too.
		if err := os.Rename(dist, filepath.Join(old, "dist")); err != nil {
			return err
		}
	}
	return os.Rename(tmp, dist)
}

// readDigest returns the digest a stormdist directory was installed at.
func readDigest(dist string) (string, error) {
	b, err := os.ReadFile(layout.DigestFile(dist))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

var errTooLarge = errors.New("package too large")

// budget bounds what several writers write together.
type budget struct{ left int64 }

func (b *budget) writer(w io.Writer) io.Writer { return budgetWriter{b, w} }

type budgetWriter struct {
	b *budget
	w io.Writer
}

func (bw budgetWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > bw.b.left {
		return 0, errTooLarge
	}
	bw.b.left -= int64(len(p))
	return bw.w.Write(p)
}
