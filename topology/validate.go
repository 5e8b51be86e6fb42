package topology

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameBytes bounds a topology name: it names ZooKeeper nodes, files
// and URL path segments.
const MaxNameBytes = 255

// CheckName reports why name cannot name a topology, wrapping ErrBadName,
// or nil: Storm's rule (none of / . : \\), and, because the name is shown
// in terminals and logs and names nodes and files, valid UTF-8 of
// printable characters only (no control characters, no NUL, no
// bidirectional marks, which reorder what a terminal shows), at most
// MaxNameBytes bytes, no leading or trailing space.
func CheckName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: the topology has no name", ErrBadName)
	case len(name) > MaxNameBytes:
		return fmt.Errorf("%w %.40q...: it is %d bytes long, at most %d are allowed", ErrBadName, name, len(name), MaxNameBytes)
	}
	return checkNameChars(name)
}

// maxIDBytes bounds a topology id, name-counter-timestamp.
const maxIDBytes = MaxNameBytes + 48

// CheckID reports why id cannot be a topology's id (its name followed by
// "-counter-timestamp"), wrapping ErrBadName, or nil. Ids come from
// clients: one that cannot exist is refused before it is looked up.
func CheckID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: no topology id", ErrBadName)
	case len(id) > maxIDBytes:
		return fmt.Errorf("%w: id %.40q... is %d bytes long, no id is longer than %d", ErrBadName, id, len(id), maxIDBytes)
	}
	return checkNameChars(id)
}

func checkNameChars(name string) error {
	switch {
	case !utf8.ValidString(name):
		return fmt.Errorf("%w %q: it is not valid UTF-8", ErrBadName, name)
	case strings.ContainsAny(name, `/.:\`):
		return fmt.Errorf("%w %q: it may not contain '/', '.', ':' or '\\'", ErrBadName, name)
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("%w %q: it may not start or end with white space", ErrBadName, name)
	}
	for i, r := range name {
		switch {
		case unicode.Is(unicode.Bidi_Control, r):
			return fmt.Errorf("%w %q: it holds the bidirectional mark %U at byte %d", ErrBadName, name, r, i)
		case !unicode.IsPrint(r) && r != ' ':
			return fmt.Errorf("%w %q: it holds the unprintable character %U at byte %d", ErrBadName, name, r, i)
		}
	}
	return nil
}

// groupingTypes lists every grouping type, and whether it takes fields.
var groupingTypes = map[GroupingType]bool{
	Shuffle:        false,
	FieldsGrouping: true,
	All:            false,
	Global:         false,
	None:           false,
	Direct:         false,
	LocalOrShuffle: false,
	PartialKey:     true,
	Custom:         false,
}

// Validate checks t against every rule of a topology definition and
// returns a *ValidationError listing each violation, or nil. It does not
// modify t. Load, LoadFile and Builder.Build validate what they return, so
// this is for topologies assembled or changed by other means.
//
// It expects what Load and Build produce: components sorted by id, outputs
// sorted by stream id, NumTasks set, and a stream marked Direct exactly
// when it is declared direct or subscribed with DIRECT.
func (t *Topology) Validate() error {
	return newValidationError(validate(t, nil, nil))
}

// pos is where something was defined in YAML.
type pos struct {
	file string
	line int
}

// sources records, for a loaded topology, where each part came from, so
// validation errors point at the right file and line. nil for the Builder.
type sources struct {
	// file is the main file, for topology-level problems without a line.
	file   string
	name   pos
	config map[string]pos
	comps  map[*Component]*compSource
}

type compSource struct {
	file   string
	inputs []pos // parallel to Component.Inputs
	config map[string]pos
}

func (s *sources) comp(c *Component) *compSource {
	if s == nil || s.comps[c] == nil {
		return &compSource{}
	}
	return s.comps[c]
}

// normalize fills defaults and puts t into the canonical form Validate
// expects: NumTasks defaults to Parallelism, components are sorted by id,
// outputs by stream id, and streams with a DIRECT subscriber are Direct.
func normalize(t *Topology) {
	for _, c := range t.Components {
		if c.NumTasks == 0 {
			c.NumTasks = c.Parallelism
		}
		slices.SortStableFunc(c.Outputs, func(a, b Stream) int { return cmp.Compare(a.ID, b.ID) })
	}
	slices.SortStableFunc(t.Components, func(a, b *Component) int { return cmp.Compare(a.ID, b.ID) })
	byID := make(map[string]*Component, len(t.Components))
	for _, c := range t.Components {
		if _, dup := byID[c.ID]; !dup {
			byID[c.ID] = c
		}
	}
	for _, c := range t.Components {
		for _, in := range c.Inputs {
			if in.Grouping.Type != Direct {
				continue
			}
			if from := byID[in.From]; from != nil {
				for i := range from.Outputs {
					if from.Outputs[i].ID == in.Stream {
						from.Outputs[i].Direct = true
					}
				}
			}
		}
	}
}

type validator struct {
	t   *Topology
	src *sources
	// broken holds components whose definition already failed (a Go
	// factory that returned an error): their outputs are unknown, so
	// subscriptions to them are not checked further.
	broken map[string]bool
	errs   []*Error
	byID   map[string]*Component
}

func (v *validator) add(c *Component, line int, err error) {
	e := &Error{Line: line, Err: err}
	if c != nil {
		e.Component = c.ID
		e.File = v.src.comp(c).file
		if e.Line == 0 {
			e.Line = c.Line
		}
	}
	v.errs = append(v.errs, e)
}

func (v *validator) addAt(p pos, err error) {
	v.errs = append(v.errs, &Error{File: p.file, Line: p.line, Err: err})
}

func validate(t *Topology, src *sources, broken map[string]bool) []*Error {
	v := &validator{t: t, src: src, broken: broken, byID: make(map[string]*Component, len(t.Components))}
	var mainPos, namePos pos
	var configPos map[string]pos
	if src != nil {
		mainPos = pos{file: src.file}
		namePos, configPos = src.name, src.config
		if namePos.file == "" {
			namePos = mainPos
		}
	}
	if err := CheckName(t.Name); err != nil {
		v.addAt(namePos, err)
	}
	v.checkConfig(nil, t.Config, configPos)

	spouts := 0
	for _, c := range t.Components {
		if prev, dup := v.byID[c.ID]; dup {
			v.add(c, 0, fmt.Errorf("%w: %q is also the id of the %s%s", ErrDuplicateID, c.ID, prev.Kind, atLine(prev.Line)))
			continue
		}
		v.byID[c.ID] = c
		if c.Kind == KindSpout {
			spouts++
		}
	}
	// A duplicate is reported once; its other problems would be noise.
	for _, c := range t.Components {
		if v.byID[c.ID] == c {
			v.checkComponent(c)
		}
	}
	for _, c := range t.Components {
		if v.byID[c.ID] == c {
			v.checkInputs(c)
		}
	}
	if spouts == 0 {
		v.addAt(mainPos, ErrNoSpouts)
	} else {
		v.checkReachable()
	}
	v.checkCheckpointing()
	return v.errs
}

func atLine(line int) string {
	if line > 0 {
		return fmt.Sprintf(" at line %d", line)
	}
	return ""
}

func (v *validator) checkConfig(c *Component, cfg Config, lines map[string]pos) {
	for _, ce := range configErrors(cfg) {
		p := lines[ce.Key]
		if c == nil {
			v.addAt(p, ce)
			continue
		}
		ve := &Error{File: v.src.comp(c).file, Line: p.line, Component: c.ID, Err: ce}
		if p.file != "" {
			ve.File = p.file
		}
		if ve.Line == 0 {
			ve.Line = c.Line
		}
		v.errs = append(v.errs, ve)
	}
}

func (v *validator) checkComponent(c *Component) {
	switch {
	case c.ID == "":
		v.add(c, 0, fmt.Errorf("%w: a component has an empty id", ErrBadID))
	case strings.HasPrefix(c.ID, "__"):
		v.add(c, 0, fmt.Errorf("%w %q: ids starting with \"__\" are reserved for system components", ErrBadID, c.ID))
	}
	switch c.Kind {
	case KindSpout, KindBolt:
	default:
		v.add(c, 0, fmt.Errorf("%w: kind %d is neither spout nor bolt", ErrBadComponent, c.Kind))
	}
	switch {
	case (c.Shell == nil) == (c.Go == nil):
		v.add(c, 0, fmt.Errorf("%w: it must be exactly one of a shell or a Go component", ErrBadComponent))
	case c.Shell != nil && len(c.Shell.Command) == 0:
		v.add(c, 0, fmt.Errorf("%w: the shell command is empty", ErrBadComponent))
	case c.Go != nil && c.Kind == KindSpout && c.Go.NewSpout == nil:
		v.add(c, 0, fmt.Errorf("%w: a Go spout needs a spout factory", ErrBadComponent))
	case c.Go != nil && c.Kind == KindBolt && c.Go.NewBolt == nil:
		v.add(c, 0, fmt.Errorf("%w: a Go bolt needs a bolt factory", ErrBadComponent))
	}
	switch {
	case c.Parallelism < 1:
		v.add(c, 0, fmt.Errorf("%w: parallelism is %d, it must be at least 1", ErrBadParallelism, c.Parallelism))
	case c.NumTasks < c.Parallelism:
		v.add(c, 0, fmt.Errorf("%w: numTasks (%d) is less than parallelism (%d)", ErrBadParallelism, c.NumTasks, c.Parallelism))
	}
	for i, s := range c.Outputs {
		switch {
		case s.ID == "":
			v.add(c, 0, fmt.Errorf("%w: a declared stream has an empty id", ErrBadID))
		case strings.HasPrefix(s.ID, "__") && (s.ID != CoordStream || c.Coordination == nil):
			v.add(c, 0, fmt.Errorf("%w: stream %q: stream ids starting with \"__\" are reserved for system streams", ErrBadID, s.ID))
		case i > 0 && c.Outputs[i-1].ID == s.ID:
			v.add(c, 0, fmt.Errorf("%w: stream %q is declared twice", ErrBadStream, s.ID))
		}
		seen := make(map[string]bool, len(s.Fields))
		for _, f := range s.Fields {
			switch {
			case f == "":
				v.add(c, 0, fmt.Errorf("%w: stream %q has an empty field name", ErrBadStream, s.ID))
			case seen[f]:
				v.add(c, 0, fmt.Errorf("%w: stream %q declares field %q twice", ErrBadStream, s.ID, f))
			}
			seen[f] = true
		}
	}
	v.checkConfig(c, c.Config, v.src.comp(c).config)
	v.checkWindowAndState(c)
	if c.Kind == KindBolt && len(c.Inputs) == 0 {
		v.add(c, 0, ErrNoInputs)
	}
}

func (v *validator) inputLine(c *Component, i int) int {
	if line := c.Inputs[i].Line; line > 0 {
		return line
	}
	return c.Line
}

// addInput records an error about input i of c, at that input's place.
func (v *validator) addInput(c *Component, i int, err error) {
	e := &Error{Component: c.ID, File: v.src.comp(c).file, Line: v.inputLine(c, i), Err: err}
	if in := v.src.comp(c).inputs; i < len(in) && in[i].line > 0 {
		e.File = in[i].file
	}
	v.errs = append(v.errs, e)
}

func (v *validator) checkInputs(c *Component) {
	type key struct{ from, stream string }
	seen := make(map[key]bool, len(c.Inputs))
	for i, in := range c.Inputs {
		if c.Kind == KindSpout {
			v.addInput(c, i, fmt.Errorf("%w (stream from %q)", ErrSpoutInput, in.From))
			continue
		}
		k := key{in.From, in.Stream}
		if seen[k] {
			v.addInput(c, i, fmt.Errorf("%w: stream %q of %q is subscribed twice", ErrDuplicateInput, in.Stream, in.From))
			continue
		}
		seen[k] = true
		from := v.byID[in.From]
		if from == nil {
			v.addInput(c, i, fmt.Errorf("subscribes to %w %q%s", ErrUnknownComponent, in.From, suggest(in.From, v.ids())))
			continue
		}
		if v.broken[in.From] {
			continue
		}
		s, ok := from.Output(in.Stream)
		if !ok {
			v.addInput(c, i, fmt.Errorf("subscribes to %w %q of %q (it declares %s)", ErrUndeclaredStream, in.Stream, in.From, streamIDs(from)))
			continue
		}
		if err := v.checkGrouping(c, in, s); err != nil {
			v.addInput(c, i, err)
		}
	}
}

func (v *validator) ids() []string {
	ids := make([]string, 0, len(v.t.Components))
	for _, c := range v.t.Components {
		ids = append(ids, c.ID)
	}
	return ids
}

func streamIDs(c *Component) string {
	if len(c.Outputs) == 0 {
		return "no streams"
	}
	ids := make([]string, len(c.Outputs))
	for i, s := range c.Outputs {
		ids[i] = fmt.Sprintf("%q", s.ID)
	}
	return strings.Join(ids, ", ")
}

func (v *validator) checkGrouping(c *Component, in Input, s Stream) error {
	g := in.Grouping
	takesFields, known := groupingTypes[g.Type]
	if !known {
		names := make([]string, 0, len(groupingTypes))
		for t := range groupingTypes {
			names = append(names, string(t))
		}
		return fmt.Errorf("%w: unknown type %q%s", ErrBadGrouping, g.Type, suggest(string(g.Type), names))
	}
	switch {
	case takesFields && len(g.Fields) == 0:
		return fmt.Errorf("%w: %s grouping on %q of %q needs at least one field", ErrBadGrouping, g.Type, in.Stream, in.From)
	case !takesFields && len(g.Fields) > 0:
		return fmt.Errorf("%w: %s grouping takes no fields (got %q)", ErrBadGrouping, g.Type, g.Fields)
	case g.Type == Custom && g.Custom == "" && g.NewCustom == nil:
		return fmt.Errorf("%w: CUSTOM grouping on %q of %q names no registered grouping", ErrBadGrouping, in.Stream, in.From)
	case g.Type == Custom && g.NewCustom == nil:
		return fmt.Errorf("grouping %q: %w", g.Custom, ErrNotRegistered)
	case g.Type != Custom && (g.Custom != "" || g.NewCustom != nil):
		return fmt.Errorf("%w: %s grouping names custom grouping %q", ErrBadGrouping, g.Type, g.Custom)
	}
	seen := make(map[string]bool, len(g.Fields))
	for _, f := range g.Fields {
		if seen[f] {
			return fmt.Errorf("%w: field %q is listed twice", ErrBadGrouping, f)
		}
		seen[f] = true
		if !slices.Contains(s.Fields, f) {
			return fmt.Errorf("%s grouping on %w %q: stream %q of %q has fields %q", g.Type, ErrUnknownField, f, in.Stream, in.From, s.Fields)
		}
	}
	switch {
	case s.Direct && g.Type != Direct:
		var direct []string
		for _, sub := range v.t.Subscribers(in.From, in.Stream) {
			if sub.Grouping.Type == Direct {
				direct = append(direct, sub.Component)
			}
		}
		if len(direct) > 0 {
			return fmt.Errorf("%w: stream %q of %q is subscribed with DIRECT by %q, so every subscriber must use DIRECT, not %s", ErrDirectMismatch, in.Stream, in.From, direct, g.Type)
		}
		return fmt.Errorf("%w: stream %q of %q is declared direct and can only be subscribed with DIRECT, not %s", ErrDirectMismatch, in.Stream, in.From, g.Type)
	case !s.Direct && g.Type == Direct:
		return fmt.Errorf("%w: stream %q of %q is not direct but is subscribed with DIRECT", ErrDirectMismatch, in.Stream, in.From)
	}
	return nil
}

// checkReachable reports bolts whose inputs are all sound but never lead
// back to a spout.
func (v *validator) checkReachable() {
	reached := make(map[string]bool, len(v.t.Components))
	var queue []string
	for _, c := range v.t.Components {
		if c.Kind == KindSpout {
			reached[c.ID] = true
			queue = append(queue, c.ID)
		}
	}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, c := range v.t.Components {
			if reached[c.ID] || c.Kind != KindBolt {
				continue
			}
			for _, in := range c.Inputs {
				if in.From == id {
					reached[c.ID] = true
					queue = append(queue, c.ID)
					break
				}
			}
		}
	}
	for _, c := range v.t.Components {
		if reached[c.ID] || c.Kind != KindBolt || len(c.Inputs) == 0 || v.byID[c.ID] != c {
			continue
		}
		sound := true
		for _, in := range c.Inputs {
			if v.byID[in.From] == nil {
				sound = false
			}
		}
		if sound {
			v.add(c, 0, fmt.Errorf("%w: its inputs (%s) are fed by no spout", ErrUnreachable, inputNames(c)))
		}
	}
}

func inputNames(c *Component) string {
	var names []string
	for _, in := range c.Inputs {
		if !slices.Contains(names, in.From) {
			names = append(names, in.From)
		}
	}
	return strings.Join(names, ", ")
}
