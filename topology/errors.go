package topology

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Sentinel causes of definition errors. Loading, building and validating
// return a *ValidationError whose entries are *Error values wrapping one of
// these, so callers test them with errors.Is and errors.As, never by text.
var (
	// ErrSyntax: the file is not well-formed YAML, holds several
	// documents, or repeats a key in one mapping.
	ErrSyntax = errors.New("syntax error")
	// ErrBadValue: a key's value has the wrong shape or type (a list where
	// a string is needed, a word where a number is needed, ...).
	ErrBadValue = errors.New("bad value")
	// ErrUnknownKey: a mapping holds a key the format does not define.
	ErrUnknownKey = errors.New("unknown key")
	// ErrMissingKey: a required key is absent.
	ErrMissingKey = errors.New("missing key")
	// ErrUnsupported: a Flux feature that only makes sense for Java
	// (components, topologySource, workerHooks, bean properties, classpath
	// includes, unknown config methods, ...).
	ErrUnsupported = errors.New("not supported by squall")
	// ErrUnknownClass: a Flux className that squall neither provides nor
	// maps to a registered Go component.
	ErrUnknownClass = errors.New("unknown class")
	// ErrNotRegistered: a `go:` component or CUSTOM grouping name that the
	// Registry does not hold (or no Registry was given).
	ErrNotRegistered = errors.New("not registered")
	// ErrBadArgs: a Go component's or grouping's arguments are wrong: a
	// value of the wrong type, a missing required argument, an argument the
	// constructor does not read.
	ErrBadArgs = errors.New("bad argument")
	// ErrConstruct: a Go component's or grouping's factory returned an
	// error when called at load or build time.
	ErrConstruct = errors.New("constructor")
	// ErrInclude: an included file could not be read.
	ErrInclude = errors.New("include")
	// ErrBadComponent: a component is not exactly one of shell, Go or a
	// known class, has an empty command, or is a spout where a bolt is
	// needed (or the reverse).
	ErrBadComponent = errors.New("bad component")
	// ErrBadName: the topology name is missing or does not match
	// ^[^/.:\\]+$.
	ErrBadName = errors.New("bad topology name")
	// ErrBadID: a component or stream id is empty or starts with "__".
	ErrBadID = errors.New("bad id")
	// ErrDuplicateID: two components share an id.
	ErrDuplicateID = errors.New("duplicate id")
	// ErrBadParallelism: parallelism < 1 or numTasks < parallelism.
	ErrBadParallelism = errors.New("bad parallelism")
	// ErrBadStream: a declared stream repeats a stream id or a field name,
	// or has an empty field name.
	ErrBadStream = errors.New("bad stream")
	// ErrUnknownComponent: a stream's from or to names no component.
	ErrUnknownComponent = errors.New("unknown component")
	// ErrUndeclaredStream: a bolt subscribes to a stream its source does
	// not declare.
	ErrUndeclaredStream = errors.New("undeclared stream")
	// ErrUnknownField: a FIELDS or PARTIAL_KEY grouping names a field the
	// stream does not have.
	ErrUnknownField = errors.New("unknown field")
	// ErrBadGrouping: an unknown grouping type, fields given to a grouping
	// that takes none, none given to one that needs some, or a CUSTOM
	// grouping without a name.
	ErrBadGrouping = errors.New("bad grouping")
	// ErrDirectMismatch: a direct stream subscribed without DIRECT, or a
	// stream subscribed both with DIRECT and without.
	ErrDirectMismatch = errors.New("direct stream mismatch")
	// ErrDuplicateInput: a bolt subscribes twice to the same stream of the
	// same component.
	ErrDuplicateInput = errors.New("duplicate subscription")
	// ErrSpoutInput: a spout is the target of a stream; only bolts
	// subscribe.
	ErrSpoutInput = errors.New("spouts cannot subscribe to streams")
	// ErrNoInputs: a bolt subscribes to nothing.
	ErrNoInputs = errors.New("bolt has no inputs")
	// ErrNoSpouts: the topology has no spout.
	ErrNoSpouts = errors.New("topology has no spouts")
	// ErrUnreachable: a bolt's inputs never lead back to a spout (for
	// example two bolts feeding only each other), so it would never get a
	// tuple.
	ErrUnreachable = errors.New("unreachable from any spout")
	// ErrBadConfig: a known configuration key has a value of the wrong
	// type. The entry wraps a *ConfigError naming the key.
	ErrBadConfig = errors.New("bad config")
)

// Sentinel causes of Lint findings that loading lets pass.
var (
	// ErrUnknownConfigKey: a configuration key neither Storm nor squall
	// knows, in Storm's namespaces or close to a known key (a typo).
	ErrUnknownConfigKey = errors.New("unknown config key")
	// ErrIgnoredConfigKey: a Storm key (or Flux hint) squall accepts but
	// that has no effect; the finding says why.
	ErrIgnoredConfigKey = errors.New("ignored by squall")
	// ErrStormRefuses: a value squall accepts but Storm's ConfigValidation
	// would refuse (the string "30" for an integer); the finding wraps a
	// *StormConfigError.
	ErrStormRefuses = errors.New("refused by Storm")
	// ErrMissingResource: a script or program a shell component runs, or
	// a file a Go component reads, is not where the task will look.
	ErrMissingResource = errors.New("missing resource")
)

// Error is one problem in a topology definition, located as precisely as
// the source allows.
type Error struct {
	// File is the YAML file the problem is in: the path given to LoadFile
	// or an include's path; empty for Load's own data and for the Builder.
	File string
	// Line is the 1-based line in File, 0 when unknown or built in Go.
	Line int
	// Component is the id of the component concerned, empty for
	// topology-level problems.
	Component string
	// Err wraps one of the sentinel errors above.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		b.WriteString(e.File + ":" + strconv.Itoa(e.Line) + ": ")
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		b.WriteString("line " + strconv.Itoa(e.Line) + ": ")
	}
	if e.Component != "" {
		fmt.Fprintf(&b, "component %q: ", e.Component)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ValidationError lists every problem found in a topology definition,
// sorted by file, line and component. errors.Is and errors.As see through
// it to each *Error and its sentinel.
type ValidationError struct {
	Errors []*Error
}

func (e *ValidationError) Error() string {
	if len(e.Errors) == 1 {
		return e.Errors[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems in topology:", len(e.Errors))
	for _, err := range e.Errors {
		b.WriteString("\n  " + err.Error())
	}
	return b.String()
}

func (e *ValidationError) Unwrap() []error {
	errs := make([]error, len(e.Errors))
	for i, err := range e.Errors {
		errs[i] = err
	}
	return errs
}

// newValidationError sorts errs and wraps them, or returns nil for none.
func newValidationError(errs []*Error) error {
	if len(errs) == 0 {
		return nil
	}
	slices.SortStableFunc(errs, func(a, b *Error) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Component, b.Component),
		)
	})
	return &ValidationError{Errors: errs}
}

// ConfigError is a known configuration key whose value has the wrong type.
// It wraps ErrBadConfig.
type ConfigError struct {
	Key   string
	Value any
	Want  ValueKind
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("%v: %s = %s is not %s", ErrBadConfig, e.Key, quoteValue(e.Value), e.Want)
}

func (e *ConfigError) Unwrap() error { return ErrBadConfig }

func quoteValue(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%v", v)
}

// suggest returns ` (did you mean "x"?)` when one of known is a likely
// typo of s, else "".
func suggest(s string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(s, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
