package topology

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// The `drpc:` section: Storm's LinearDRPCTopologyBuilder in YAML. It names
// a DRPC function and a chain of bolts; loading expands it into the spout,
// the request bookkeeping bolts, the coordinated chain and ReturnResults
// (see docs/drpc.md).
//
//	drpc:
//	  function: reach
//	  bolts:
//	    - id: tweeters
//	      shell: {command: [python3, tweeters.py], fields: [id, tweeter]}
//	    - id: count
//	      go: squall.Sum
//	      grouping: {type: FIELDS, args: [id]}

// Ids of the components a `drpc:` section adds around its chain.
const (
	DRPCSpoutID      = "drpc-spout"
	PrepareRequestID = "prepare-request"
	JoinResultID     = "join-result"
	ReturnResultsID  = "return-results"
)

// Registry names of the Go components the section uses; package drpc
// registers them.
const (
	drpcSpoutName      = "squall.DRPCSpout"
	prepareRequestName = "squall.PrepareRequest"
	joinResultName     = "squall.JoinResult"
	returnResultsName  = "squall.ReturnResults"
)

// Streams of squall.PrepareRequest: [request, args] on the default
// stream, [request, return] on ReturnStream and [request] on IDStream.
const ReturnStream = "ret"

// maxDRPCBolts bounds the chain, so a mistaken file cannot ask for a huge
// topology.
const maxDRPCBolts = 64

var drpcKeys = []string{"function", "servers", "parallelism", "bolts"}

// drpcDef is a parsed `drpc:` section.
type drpcDef struct {
	pos         pos
	function    string
	servers     []string
	parallelism int
	bolts       []*drpcBolt
}

// drpcBolt is one bolt of the chain: a component plus how it subscribes
// to the one before.
type drpcBolt struct {
	comp *compDef
	// input is the subscription to the previous bolt (or to
	// prepare-request); nil for the default.
	input       *streamDef
	finishBatch bool
	finishPos   *yaml.Node
}

func (p *parser) drpcSection(n *yaml.Node) *drpcDef {
	entries, ok := p.mapping(n, "drpc")
	if !ok {
		return nil
	}
	d := &drpcDef{pos: pos{p.file, deref(n).Line}, parallelism: 1}
	before := len(*p.errs)
	haveBolts := false
	for _, e := range entries {
		switch e.key {
		case "function":
			d.function, _ = p.str(e.v, "the function of drpc")
		case "servers":
			d.servers, _ = p.strList(e.v, "the servers of drpc (host:port invocation addresses)")
		case "parallelism":
			if d.parallelism, ok = p.integer(e.v, "the parallelism of drpc"); ok && d.parallelism < 1 {
				p.failf(e.v, ErrBadParallelism, "the parallelism of drpc is %d, it must be at least 1", d.parallelism)
			}
		case "bolts":
			haveBolts = true
			d.bolts = p.drpcBolts(e.v)
		default:
			p.failf(e.k, ErrUnknownKey, "%q in drpc (known: function, servers, parallelism, bolts)%s", e.key, suggest(e.key, drpcKeys))
		}
	}
	switch {
	case d.function == "" && len(*p.errs) == before:
		p.failf(n, ErrMissingKey, "drpc needs a function: the DRPC function the topology serves")
	case !haveBolts:
		p.failf(n, ErrMissingKey, "drpc needs bolts: the chain that computes the function's result")
	}
	if len(*p.errs) > before {
		return nil
	}
	return d
}

func (p *parser) drpcBolts(n *yaml.Node) []*drpcBolt {
	n = deref(n)
	if n == nil || n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		p.failf(n, ErrBadValue, "the bolts of drpc must be a non-empty list of bolts, each starting with `- id: name`")
		return nil
	}
	if len(n.Content) > maxDRPCBolts {
		p.failf(n, ErrBadValue, "drpc lists %d bolts, at most %d are allowed", len(n.Content), maxDRPCBolts)
		return nil
	}
	var out []*drpcBolt
	for _, item := range n.Content {
		item = deref(item)
		if item == nil || item.Kind != yaml.MappingNode {
			p.failf(item, ErrBadValue, "a drpc bolt must be a mapping starting with `- id: name`")
			continue
		}
		// grouping and finishBatch are the chain's own keys; the rest is
		// an ordinary bolt.
		b := &drpcBolt{}
		rest := *item
		rest.Content = nil
		var grouping *yaml.Node
		for i := 0; i+1 < len(item.Content); i += 2 {
			k, v := item.Content[i], item.Content[i+1]
			switch deref(k).Value {
			case "grouping":
				grouping = v
			case "finishBatch":
				b.finishBatch, _ = p.boolean(v, "finishBatch")
				b.finishPos = k
			default:
				rest.Content = append(rest.Content, k, v)
			}
		}
		b.comp = p.component(&rest, KindBolt)
		if b.comp == nil {
			continue
		}
		if grouping != nil {
			p.comp = b.comp.id
			s := &streamDef{pos: pos{p.file, deref(grouping).Line}, stream: DefaultStream, to: b.comp.id}
			before := len(*p.errs)
			p.grouping(grouping, s)
			p.comp = ""
			if len(*p.errs) > before {
				continue
			}
			b.input = s
		}
		out = append(out, b)
	}
	return out
}

// expandDRPC adds the components of a `drpc:` section to t, as Storm's
// LinearDRPCTopologyBuilder.createTopology does.
func (l *loader) expandDRPC(d *drpcDef, t *Topology, src *sources, flux *fluxResolver) {
	fail := func(line int, comp string, err error) {
		l.errs = append(l.errs, &Error{File: d.pos.file, Line: line, Component: comp, Err: err})
	}
	add := func(c *Component, file string) {
		t.Components = append(t.Components, c)
		src.comps[c] = &compSource{file: file}
	}
	goComp := func(id, name string, kind Kind, args map[string]any) *Component {
		c := &Component{ID: id, Kind: kind, Parallelism: 1, Line: d.pos.line}
		if l.opts.Registry == nil {
			fail(d.pos.line, id, fmt.Errorf("drpc: %w: %q (the squall binary registers the DRPC components; pass its registry)", ErrNotRegistered, name))
			return stub(c)
		}
		var spec *GoSpec
		var outs []Stream
		var err error
		if kind == KindSpout {
			spec, outs, err = l.opts.Registry.newSpoutSpec(name, args)
		} else {
			spec, outs, err = l.opts.Registry.newBoltSpec(name, args)
		}
		if err != nil {
			fail(d.pos.line, id, fmt.Errorf("drpc: %w", err))
			return stub(c)
		}
		c.Go, c.Outputs = spec, outs
		return c
	}

	spoutArgs := map[string]any{"function": d.function}
	if len(d.servers) > 0 {
		servers := make([]any, len(d.servers))
		for i, s := range d.servers {
			servers[i] = s
		}
		spoutArgs["servers"] = servers
	}
	spout := goComp(DRPCSpoutID, drpcSpoutName, KindSpout, spoutArgs)
	spout.Parallelism = d.parallelism
	add(spout, d.pos.file)
	prepare := goComp(PrepareRequestID, prepareRequestName, KindBolt, nil)
	prepare.Parallelism = d.parallelism
	prepare.Inputs = []Input{{From: DRPCSpoutID, Stream: DefaultStream, Grouping: Grouping{Type: None}, Line: d.pos.line}}
	add(prepare, d.pos.file)

	prev := PrepareRequestID
	var last *Component
	lastBroken := false
	for i, b := range d.bolts {
		c, err := l.component(b.comp, flux)
		if err != nil {
			fail(b.comp.pos.line, b.comp.id, err)
		}
		lastBroken = err != nil
		coord := &Coordination{}
		switch {
		case i == 1:
			coord.Source, coord.SourceReports = prev, ReportsSingle
		case i > 1:
			coord.Source, coord.SourceReports = prev, ReportsAll
		}
		coord.FinishBatch = b.finishBatch
		if c.Go != nil && c.Go.NewBolt != nil && err == nil {
			finisher := false
			if inst, err := c.Go.NewBolt(); err == nil {
				_, finisher = inst.(BatchFinisher)
			}
			if b.finishBatch && !finisher {
				fail(b.finishPos.Line, c.ID, fmt.Errorf("%w: finishBatch is set but Go bolt %q does not implement FinishBatch(requestID)", ErrBadComponent, c.Go.Name))
			}
			coord.FinishBatch = finisher
		}
		if i == len(d.bolts)-1 && coord.FinishBatch {
			coord.IDFrom = PrepareRequestID
		}
		c.Coordination = coord

		in := Input{From: prev, Stream: DefaultStream, Grouping: Grouping{Type: Shuffle}, Line: b.comp.pos.line}
		if i == 0 {
			in.Grouping.Type = None
			if coord.IDFrom != "" {
				// A one-bolt chain that finishes batches: its request's
				// tuple must reach the task that gets the request's id.
				in.Grouping = Grouping{Type: FieldsGrouping, Fields: []string{"request"}}
			}
		}
		if b.input != nil {
			in.Stream, in.Grouping, in.Line = b.input.stream, b.input.grouping, b.input.pos.line
		}
		c.Inputs = append(c.Inputs, in)
		if i > 0 {
			c.Inputs = append(c.Inputs, Input{From: prev, Stream: CoordStream, Grouping: Grouping{Type: Direct}, Line: b.comp.pos.line})
		}
		if coord.IDFrom != "" {
			c.Inputs = append(c.Inputs, Input{From: PrepareRequestID, Stream: IDStream, Grouping: Grouping{Type: FieldsGrouping, Fields: []string{"request"}}, Line: b.comp.pos.line})
		}
		if i < len(d.bolts)-1 {
			c.Outputs = append(c.Outputs, Stream{ID: CoordStream, Fields: []string{"id", "count"}, Direct: true})
		}
		cs := &compSource{file: b.comp.pos.file, config: b.comp.configPos}
		for _, in := range c.Inputs {
			cs.inputs = append(cs.inputs, pos{b.comp.pos.file, in.Line})
		}
		t.Components = append(t.Components, c)
		src.comps[c] = cs
		prev, last = c.ID, c
	}
	if last == nil {
		return
	}

	// Storm's rule: the last bolt declares one stream of [id, result].
	if len(last.Outputs) != 1 || len(last.Outputs[0].Fields) != 2 {
		if !lastBroken {
			fail(last.Line, last.ID, fmt.Errorf("%w: the last bolt of a drpc chain must declare exactly one stream of exactly two fields, [request id, result]; it declares %s", ErrBadStream, describeOutputs(last.Outputs)))
		}
		return
	}
	out := last.Outputs[0]
	join := goComp(JoinResultID, joinResultName, KindBolt, nil)
	join.Inputs = []Input{
		{From: last.ID, Stream: out.ID, Grouping: Grouping{Type: FieldsGrouping, Fields: []string{out.Fields[0]}}, Line: d.pos.line},
		{From: PrepareRequestID, Stream: ReturnStream, Grouping: Grouping{Type: FieldsGrouping, Fields: []string{"request"}}, Line: d.pos.line},
	}
	add(join, d.pos.file)
	ret := goComp(ReturnResultsID, returnResultsName, KindBolt, nil)
	ret.Inputs = []Input{{From: JoinResultID, Stream: DefaultStream, Grouping: Grouping{Type: None}, Line: d.pos.line}}
	add(ret, d.pos.file)
}

func describeOutputs(outs []Stream) string {
	if len(outs) == 0 {
		return "no streams"
	}
	s := ""
	for i, o := range outs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%q %v", o.ID, o.Fields)
	}
	return s
}
