package nimbus

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/squallstream/squall/api"
)

// Files of a stored package, in its directory
// layout.NimbusPackages(LocalDir)/<topology-id>/.
const (
	// submissionFile is the accepted submission without its package and
	// Go binary, as protojson: the manifest of DownloadPackage.
	submissionFile = "submission.json"
	// resourcesFile is the resources archive, absent when empty.
	resourcesFile = "resources.tar.gz"
	// binaryFile is the topology's Go binary, absent when there is none.
	binaryFile = "topology"
	// digestFile holds the package digest (TopologyRecord.PackageDigest).
	digestFile = "digest"
	// stagingPrefix starts the directories of packages being written.
	stagingPrefix = ".staging-"
)

// packageStore keeps the packages of submitted topologies on disk, one
// directory per topology. A package is written to a staging directory,
// then renamed into place: a directory named after a topology id is
// always complete. It is safe for concurrent use.
type packageStore struct {
	root string
	// scratch is where submissions are received and validated: spooled
	// uploads, unpacked packages. It is emptied at start.
	scratch string

	// installing is held for reading from the moment a package is
	// installed until its topology record is written, and for writing by
	// prune, which removes packages without a record: so a package is
	// never pruned in between.
	installing sync.RWMutex
}

func newPackageStore(root string) *packageStore {
	return &packageStore{root: root, scratch: filepath.Join(filepath.Dir(root), "scratch")}
}

// Modes of the store: nimbus's user alone reads packages.
const (
	storeDirMode  = 0o700
	storeFileMode = 0o600
	storeExecMode = 0o700
)

// init creates the store's directories (only nimbus's user may enter
// them) and removes what an earlier run left being written.
func (s *packageStore) init() error {
	if err := os.RemoveAll(s.scratch); err != nil {
		return fmt.Errorf("package store: %w", err)
	}
	for _, dir := range []string{filepath.Dir(s.root), s.root, s.scratch} {
		if err := os.MkdirAll(dir, storeDirMode); err != nil {
			return fmt.Errorf("package store: %w", err)
		}
		// An older squall made them 0755.
		if err := os.Chmod(dir, storeDirMode); err != nil {
			return fmt.Errorf("package store: %w", err)
		}
	}
	entries, err := os.ReadDir(s.root)
	if err != nil {
		return fmt.Errorf("package store: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), stagingPrefix) {
			if err := os.RemoveAll(filepath.Join(s.root, e.Name())); err != nil {
				return fmt.Errorf("package store: %w", err)
			}
		}
	}
	return nil
}

// validID reports whether id can name a package directory: ids come from
// clients too (DownloadPackage), and must not leave the store.
func validID(id string) bool {
	return id != "" && !strings.HasPrefix(id, ".") && !strings.ContainsAny(id, `/\`) && !strings.ContainsRune(id, 0)
}

func (s *packageStore) dir(id string) string { return filepath.Join(s.root, id) }

// packageWriter writes one package into a staging directory. Only one
// goroutine uses it.
type packageWriter struct {
	dir      string
	res, bin *os.File
	resHash  hash.Hash
	binHash  hash.Hash
	resSize  int64
	binSize  int64
}

// create starts writing a package.
func (s *packageStore) create() (*packageWriter, error) {
	dir, err := os.MkdirTemp(s.root, stagingPrefix)
	if err != nil {
		return nil, fmt.Errorf("stage package: %w", err)
	}
	w := &packageWriter{dir: dir, resHash: sha256.New(), binHash: sha256.New()}
	if w.res, err = os.OpenFile(filepath.Join(dir, resourcesFile), os.O_CREATE|os.O_EXCL|os.O_WRONLY, storeFileMode); err == nil {
		w.bin, err = os.OpenFile(filepath.Join(dir, binaryFile), os.O_CREATE|os.O_EXCL|os.O_WRONLY, storeExecMode)
	}
	if err != nil {
		w.abort()
		return nil, fmt.Errorf("stage package: %w", err)
	}
	return w, nil
}

// resources returns the writer of the resources archive.
func (w *packageWriter) resources() io.Writer { return partWriter{w.res, w.resHash, &w.resSize} }

// binary returns the writer of the Go binary.
func (w *packageWriter) binary() io.Writer { return partWriter{w.bin, w.binHash, &w.binSize} }

type partWriter struct {
	f    *os.File
	h    hash.Hash
	size *int64
}

func (p partWriter) Write(b []byte) (int, error) {
	n, err := p.f.Write(b)
	p.h.Write(b[:n])
	*p.size += int64(n)
	return n, err
}

// stagedPackage is a complete package in a staging directory.
type stagedPackage struct {
	dir    string
	digest string
	// size is the size of the resources archive and the Go binary.
	size int64
}

// finish closes the parts, writes the submission (without its bytes) and
// the digest, and returns the staged package. On error the staging
// directory is removed.
func (w *packageWriter) finish(sub *api.SubmitTopologyRequest) (stagedPackage, error) {
	err := errors.Join(w.res.Close(), w.bin.Close())
	w.res, w.bin = nil, nil
	if err == nil && w.resSize == 0 {
		err = os.Remove(filepath.Join(w.dir, resourcesFile))
	}
	if err == nil && w.binSize == 0 {
		err = os.Remove(filepath.Join(w.dir, binaryFile))
	}
	var digest string
	if err == nil {
		digest, err = packageDigest(sub, w.resHash.Sum(nil), w.binHash.Sum(nil))
	}
	var data []byte
	if err == nil {
		data, err = protojson.MarshalOptions{Multiline: true}.Marshal(sub)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(w.dir, submissionFile), data, storeFileMode)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(w.dir, digestFile), []byte(digest+"\n"), storeFileMode)
	}
	if err != nil {
		w.abort()
		return stagedPackage{}, fmt.Errorf("stage package: %w", err)
	}
	return stagedPackage{dir: w.dir, digest: digest, size: w.resSize + w.binSize}, nil
}

// abort removes the staging directory.
func (w *packageWriter) abort() {
	for _, f := range []*os.File{w.res, w.bin} {
		if f != nil {
			f.Close()
		}
	}
	os.RemoveAll(w.dir)
}

// packageDigest identifies a package: the SHA-256 of the digests of its
// three parts (the submission in deterministic protobuf encoding, the
// resources archive, the Go binary), written "sha256:<hex>".
func packageDigest(sub *api.SubmitTopologyRequest, resSum, binSum []byte) (string, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(sub)
	if err != nil {
		return "", fmt.Errorf("package digest: %w", err)
	}
	subSum := sha256.Sum256(b)
	h := sha256.New()
	fmt.Fprintf(h, "squall package v1\nsubmission %x\nresources %x\nbinary %x\n", subSum, resSum, binSum)
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// install moves a staged package into place as topology id's, replacing
// any package left there without a record.
func (s *packageStore) install(p stagedPackage, id string) error {
	if !validID(id) {
		return fmt.Errorf("install package: bad topology id %q", id)
	}
	dst := s.dir(id)
	if err := os.RemoveAll(dst); err != nil {
		return fmt.Errorf("install package %s: %w", id, err)
	}
	if err := os.Rename(p.dir, dst); err != nil {
		return fmt.Errorf("install package %s: %w", id, err)
	}
	return nil
}

// discard removes a staged package that will not be installed.
func (s *packageStore) discard(p stagedPackage) { os.RemoveAll(p.dir) }

// remove deletes topology id's package, if any.
func (s *packageStore) remove(id string) error {
	if !validID(id) {
		return nil
	}
	if err := os.RemoveAll(s.dir(id)); err != nil {
		return fmt.Errorf("remove package %s: %w", id, err)
	}
	return nil
}

// digest returns the digest of topology id's package, or an error
// wrapping os.ErrNotExist if the store does not hold it.
func (s *packageStore) digest(id string) (string, error) {
	if !validID(id) {
		return "", fmt.Errorf("package %q: %w", id, os.ErrNotExist)
	}
	b, err := os.ReadFile(filepath.Join(s.dir(id), digestFile))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// has reports whether the store holds topology id's package with digest.
func (s *packageStore) has(id, digest string) bool {
	d, err := s.digest(id)
	return err == nil && d == digest
}

// list returns the ids of the stored packages.
func (s *packageStore) list() ([]string, error) {
	entries, err := os.ReadDir(s.root)
	if err != nil {
		return nil, fmt.Errorf("list packages: %w", err)
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && validID(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// prune removes the packages of the topologies that are not in the set
// live returns, which it calls with installing held, so that no package
// is installed and recorded meanwhile.
func (s *packageStore) prune(live func() (map[string]bool, error)) ([]string, error) {
	s.installing.Lock()
	defer s.installing.Unlock()
	keep, err := live()
	if err != nil {
		return nil, err
	}
	ids, err := s.list()
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, id := range ids {
		if keep[id] {
			continue
		}
		if err := s.remove(id); err != nil {
			return removed, err
		}
		removed = append(removed, id)
	}
	return removed, nil
}

// storedPackage is an opened package. Its files stay readable after the
// package is removed.
type storedPackage struct {
	digest     string
	submission *api.SubmitTopologyRequest
	// resources and binary are nil for empty parts.
	resources, binary *os.File
	resSize, binSize  int64
}

// open opens topology id's package; the error wraps os.ErrNotExist if the
// store does not hold it.
func (s *packageStore) open(id string) (*storedPackage, error) {
	digest, err := s.digest(id)
	if err != nil {
		return nil, err
	}
	dir := s.dir(id)
	data, err := os.ReadFile(filepath.Join(dir, submissionFile))
	if err != nil {
		return nil, err
	}
	sub := &api.SubmitTopologyRequest{}
	if err := protojson.Unmarshal(data, sub); err != nil {
		return nil, fmt.Errorf("package %s: %s: %w", id, submissionFile, err)
	}
	p := &storedPackage{digest: digest, submission: sub}
	if p.resources, p.resSize, err = openPart(filepath.Join(dir, resourcesFile)); err == nil {
		p.binary, p.binSize, err = openPart(filepath.Join(dir, binaryFile))
	}
	if err != nil {
		p.close()
		return nil, fmt.Errorf("package %s: %w", id, err)
	}
	return p, nil
}

// openPart opens one part of a package; an absent part is empty.
func openPart(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

func (p *storedPackage) close() {
	for _, f := range []*os.File{p.resources, p.binary} {
		if f != nil {
			f.Close()
		}
	}
}

// binaryPath returns the path of topology id's Go binary, or "" if it has
// none.
func (s *packageStore) binaryPath(id string) string {
	path := filepath.Join(s.dir(id), binaryFile)
	if _, err := os.Stat(path); err != nil {
		return ""
	}
	return path
}
