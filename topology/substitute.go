package topology

import (
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// placeholder matches Flux's ${...} substitutions.
var (
	placeholder = regexp.MustCompile(`\$\{([^{}]+)\}`)
	listIndex   = regexp.MustCompile(`^(.+)\[(\d+)\]$`)
)

// substituter replaces Flux placeholders, as Flux's --filter and
// --env-filter do:
//
//   - ${ENV-NAME} becomes the environment variable NAME, when env is set;
//   - ${key} becomes the property key;
//   - ${key[i]} becomes element i of a property written as a list,
//     ["a", "b"];
//   - a placeholder with no value is left as it is, as Flux leaves it.
//
// Flux substitutes in the text before parsing; squall substitutes in each
// scalar after parsing, so line numbers stay right, and then re-reads a
// changed unquoted scalar as YAML, so `parallelism: ${p}` becomes a number
// and a property holding `[a, b]` becomes a list, as in Flux.
type substituter struct {
	props map[string]string
	env   func(string) (string, bool)
}

func (s *substituter) enabled() bool { return s.props != nil || s.env != nil }

func (s *substituter) replace(text string) (string, bool) {
	if !strings.Contains(text, "${") {
		return text, false
	}
	changed := false
	out := placeholder.ReplaceAllStringFunc(text, func(m string) string {
		name := m[2 : len(m)-1]
		if v, ok := s.lookup(name); ok {
			changed = true
			return v
		}
		return m
	})
	return out, changed
}

func (s *substituter) lookup(name string) (string, bool) {
	if env, ok := strings.CutPrefix(name, "ENV-"); ok && s.env != nil {
		return s.env(env)
	}
	if v, ok := s.props[name]; ok {
		return v, true
	}
	if m := listIndex.FindStringSubmatch(name); m != nil {
		list, ok := s.props[m[1]]
		if !ok {
			return "", false
		}
		i, _ := strconv.Atoi(m[2])
		return listElement(list, i)
	}
	return "", false
}

// listElement returns element i of a property value written as a list,
// `["a", "b"]`, trimmed and unquoted, as Flux does.
func listElement(list string, i int) (string, bool) {
	list = strings.TrimSpace(list)
	if len(list) < 2 || list[0] != '[' || list[len(list)-1] != ']' {
		return "", false
	}
	elems := strings.Split(list[1:len(list)-1], ",")
	if i >= len(elems) {
		return "", false
	}
	e := strings.TrimSpace(elems[i])
	if len(e) >= 2 && (e[0] == '"' || e[0] == '\'') && e[len(e)-1] == e[0] {
		e = e[1 : len(e)-1]
	}
	return e, true
}

// walk substitutes in every scalar under n.
func (s *substituter) walk(n *yaml.Node) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			s.walk(c)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if v, ok := s.replace(n.Content[i].Value); ok {
				n.Content[i].Value = v
			}
			s.walk(n.Content[i+1])
		}
	case yaml.ScalarNode:
		s.scalar(n)
	}
}

func (s *substituter) scalar(n *yaml.Node) {
	v, ok := s.replace(n.Value)
	if !ok {
		return
	}
	n.Value = v
	if n.Style != 0 {
		// Quoted, block or explicitly tagged: the value stays a string (or
		// keeps its tag).
		return
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(v), &doc); err != nil || len(doc.Content) != 1 {
		n.Tag = "!!str"
		return
	}
	r := doc.Content[0]
	switch {
	case r.Kind == yaml.ScalarNode && r.Style == 0:
		n.Tag = r.Tag
	case (r.Kind == yaml.SequenceNode || r.Kind == yaml.MappingNode) && r.Style&yaml.FlowStyle != 0:
		line, col := n.Line, n.Column
		*n = *r
		setPos(n, line, col)
	default:
		n.Tag = "!!str"
	}
}

func setPos(n *yaml.Node, line, col int) {
	n.Line, n.Column = line, col
	for _, c := range n.Content {
		setPos(c, line, col)
	}
}
