package topology

import (
	"fmt"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"
)

// parser reads yaml.Nodes of one file, recording every problem as an
// *Error with the node's line and the component being read.
type parser struct {
	file string
	errs *[]*Error
	// comp is the id of the component being read, for error labels.
	comp string
	// reg resolves Flux class names in messages; it may be nil.
	reg *Registry
}

func (p *parser) fail(n *yaml.Node, err error) {
	e := &Error{File: p.file, Component: p.comp, Err: err}
	if n != nil {
		e.Line = n.Line
	}
	*p.errs = append(*p.errs, e)
}

func (p *parser) failf(n *yaml.Node, sentinel error, format string, args ...any) {
	p.fail(n, fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...)))
}

// unsupported reports a Flux feature squall cannot honour, by its Flux
// name so that a Storm user knows what to change: feature reads like
// "Flux factories are", the message "Flux factories are not supported by
// squall: why".
func (p *parser) unsupported(n *yaml.Node, feature, format string, args ...any) {
	p.fail(n, fmt.Errorf("%s %w: %s", feature, ErrUnsupported, fmt.Sprintf(format, args...)))
}

// deref follows YAML aliases (*name) to the anchored node.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// kv is one entry of a YAML mapping.
type kv struct {
	key string
	k   *yaml.Node
	v   *yaml.Node
}

// mapping returns the entries of a mapping node, reporting a node of
// another kind (what names it) and repeated keys.
func (p *parser) mapping(n *yaml.Node, what string) ([]kv, bool) {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		if isNull(n) {
			return nil, true
		}
		p.failf(n, ErrBadValue, "%s must be a mapping (key: value)", what)
		return nil, false
	}
	out := make([]kv, 0, len(n.Content)/2)
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.failf(k, ErrBadValue, "%s has a key that is not a plain value", what)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.failf(k, ErrSyntax, "key %q appears twice in %s (first at line %d)", k.Value, what, first)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, kv{key: k.Value, k: k, v: v})
	}
	return out, true
}

// str reads a non-null scalar as text (so `id: 42` is the id "42").
func (p *parser) str(n *yaml.Node, what string) (string, bool) {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode || isNull(n) {
		p.failf(n, ErrBadValue, "%s must be a string", what)
		return "", false
	}
	return n.Value, true
}

// integer reads an integer, also from a quoted numeric string (what a
// substituted "${n}" gives).
func (p *parser) integer(n *yaml.Node, what string) (int, bool) {
	n = deref(n)
	if n != nil && n.Kind == yaml.ScalarNode {
		var i int
		if err := n.Decode(&i); err == nil {
			return i, true
		}
		if i, err := strconv.Atoi(n.Value); err == nil {
			return i, true
		}
	}
	p.failf(n, ErrBadValue, "%s must be an integer, not %s", what, describe(n))
	return 0, false
}

// boolean reads a boolean, also from a quoted "true" or "false".
func (p *parser) boolean(n *yaml.Node, what string) (bool, bool) {
	n = deref(n)
	if n != nil && n.Kind == yaml.ScalarNode {
		var b bool
		if err := n.Decode(&b); err == nil {
			return b, true
		}
		if b, err := strconv.ParseBool(n.Value); err == nil {
			return b, true
		}
	}
	p.failf(n, ErrBadValue, "%s must be true or false, not %s", what, describe(n))
	return false, false
}

// strList reads a list of non-null scalars as text.
func (p *parser) strList(n *yaml.Node, what string) ([]string, bool) {
	n = deref(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		p.failf(n, ErrBadValue, "%s must be a list of strings, like [a, b], not %s", what, describe(n))
		return nil, false
	}
	out := make([]string, 0, len(n.Content))
	for _, e := range n.Content {
		e = deref(e)
		if e.Kind != yaml.ScalarNode || isNull(e) {
			p.failf(e, ErrBadValue, "%s must be a list of strings, but it holds %s", what, describe(e))
			return nil, false
		}
		out = append(out, e.Value)
	}
	return out, true
}

// value decodes any node into plain Go values: maps, lists, numbers,
// strings, bools and nil.
func (p *parser) value(n *yaml.Node, what string) (any, bool) {
	var v any
	if err := n.Decode(&v); err != nil {
		p.failf(n, ErrBadValue, "%s: %v", what, err)
		return nil, false
	}
	return v, true
}

// describe names a node's kind for messages.
func describe(n *yaml.Node) string {
	n = deref(n)
	switch {
	case n == nil || isNull(n):
		return "nothing"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "something else"
}

// yamlLine extracts the line number from a yaml.v3 syntax error, whose only
// structured form is its message ("yaml: line 3: ...").
var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?`)

// syntaxError turns a yaml.v3 syntax error into an *Error with its line.
func syntaxError(file string, err error) *Error {
	msg := err.Error()
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	return &Error{File: file, Line: line, Err: fmt.Errorf("%w: %s", ErrSyntax, msg)}
}
