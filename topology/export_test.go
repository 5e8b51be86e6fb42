package topology

import (
	"go/scanner"
	"go/token"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// StormAccepts reports whether Storm's ConfigValidation accepts v for key.
func StormAccepts(key string, v any) bool {
	rule, ok := stormKeys[key]
	return ok && rule.accepts(v)
}

// LintKnows reports whether Lint knows key (Storm's, squall's own, or in
// KnownKeys).
func LintKnows(key string) bool {
	_, storm := stormKeys[key]
	_, known := KnownKeys[key]
	return storm || known || squallKeys[key]
}

// KeyLiteral is a string literal in Go source that looks like a
// configuration key.
type KeyLiteral struct {
	Key, Where string
}

// keyLiteral matches Storm-style keys; file names (topology.yaml,
// storm.py, worker.log) are left out by their extension.
var (
	keyLiteral  = regexp.MustCompile(`^(topology|storm|nimbus|supervisor|worker|task|drpc|ui|logviewer|transactional|pacemaker)(\.[a-z0-9_-]+)+$`)
	fileLiteral = regexp.MustCompile(`\.(ya?ml|json|py|rb|js|log|pem|key|crt|properties|txt|err|out|[0-9]+)$`)
)

// KeyLiterals returns the key-like string literals of the Go files in
// fsys, test files and generated code aside, sorted by key.
func KeyLiterals(fsys fs.FS) ([]KeyLiteral, error) {
	var out []KeyLiteral
	seen := map[string]bool{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); p != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return fs.SkipDir
			}
			return nil
		}
		if path.Ext(p) != ".go" || strings.HasSuffix(p, "_test.go") || strings.HasSuffix(p, ".pb.go") || strings.HasSuffix(p, ".pb.gw.go") {
			return nil
		}
		src, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		var s scanner.Scanner
		fset := token.NewFileSet()
		s.Init(fset.AddFile(p, -1, len(src)), src, nil, 0) // comments skipped
		for {
			at, tok, lit := s.Scan()
			if tok == token.EOF {
				break
			}
			if tok != token.STRING {
				continue
			}
			v, err := strconv.Unquote(lit)
			if err != nil || !keyLiteral.MatchString(v) || fileLiteral.MatchString(v) || seen[v] {
				continue
			}
			seen[v] = true
			out = append(out, KeyLiteral{Key: v, Where: fset.Position(at).String()})
		}
		return nil
	})
	slices.SortFunc(out, func(a, b KeyLiteral) int { return strings.Compare(a.Key, b.Key) })
	return out, err
}
