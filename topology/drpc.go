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

// expandDRPC adds the components of a `drpc:` section to t.
func (l *loader) expandDRPC(d *drpcDef, t *Topology, src *sources, flux *fluxResolver) {
	chain := drpcChain{function: d.function, servers: d.servers, parallelism: d.parallelism, line: d.pos.line}
	bolts := make(map[*Component]*drpcBolt, len(d.bolts))
	for _, b := range d.bolts {
		c, err := l.component(b.comp, flux)
		if err != nil {
			l.errs = append(l.errs, &Error{File: b.comp.pos.file, Line: b.comp.pos.line, Component: b.comp.id, Err: err})
		}
		cb := chainBolt{c: c, finishBatch: b.finishBatch, broken: err != nil}
		if b.finishPos != nil {
			cb.finishLine = b.finishPos.Line
		}
		if b.input != nil {
			cb.input = &Input{Stream: b.input.stream, Grouping: b.input.grouping, Line: b.input.pos.line}
		}
		chain.bolts = append(chain.bolts, cb)
		bolts[c] = b
	}
	comps := chain.wire(l.opts.Registry, func(line int, comp string, err error) {
		l.errs = append(l.errs, &Error{File: d.pos.file, Line: line, Component: comp, Err: err})
	})
	for _, c := range comps {
		t.Components = append(t.Components, c)
		b := bolts[c]
		if b == nil {
			src.comps[c] = &compSource{file: d.pos.file}
			continue
		}
		cs := &compSource{file: b.comp.pos.file, config: b.comp.configPos}
		for _, in := range c.Inputs {
			cs.inputs = append(cs.inputs, pos{b.comp.pos.file, in.Line})
		}
		src.comps[c] = cs
	}
}

// drpcChain is a DRPC function and its chain of bolts, resolved: what the
// `drpc:` section and LinearDRPCBuilder both wire.
type drpcChain struct {
	function    string
	servers     []string
	parallelism int
	// line is where the chain is defined (YAML), 0 in Go.
	line  int
	bolts []chainBolt
}

// chainBolt is one bolt of a chain.
type chainBolt struct {
	// c is the resolved bolt, without its inputs.
	c *Component
	// input is its subscription to the previous bolt (From is filled in);
	// nil for the default.
	input       *Input
	finishBatch bool
	finishLine  int
	// broken is set when c could not be resolved (already reported).
	broken bool
}

// wire returns every component of the chain, as Storm's
// LinearDRPCTopologyBuilder.createTopology does: the spout, the request
// bookkeeping, the chain's bolts with their inputs and coordination, the
// join and ReturnResults. Problems go to fail.
func (d *drpcChain) wire(reg *Registry, fail func(line int, comp string, err error)) []*Component {
	var comps []*Component
	goComp := func(id, name string, kind Kind, args map[string]any) *Component {
		c := &Component{ID: id, Kind: kind, Parallelism: 1, Line: d.line}
		if reg == nil {
			fail(d.line, id, fmt.Errorf("drpc: %w: %q (the squall binary registers the DRPC components; pass its registry)", ErrNotRegistered, name))
			return stub(c)
		}
		var spec *GoSpec
		var outs []Stream
		var err error
		if kind == KindSpout {
			spec, outs, err = reg.newSpoutSpec(name, args)
		} else {
			spec, outs, err = reg.newBoltSpec(name, args)
		}
		if err != nil {
			fail(d.line, id, fmt.Errorf("drpc: %w", err))
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
	prepare := goComp(PrepareRequestID, prepareRequestName, KindBolt, nil)
	prepare.Parallelism = d.parallelism
	prepare.Inputs = []Input{{From: DRPCSpoutID, Stream: DefaultStream, Grouping: Grouping{Type: None}, Line: d.line}}
	comps = append(comps, spout, prepare)

	prev := PrepareRequestID
	var last *chainBolt
	for i := range d.bolts {
		b := &d.bolts[i]
		c := b.c
		coord := &Coordination{}
		switch {
		case i == 1:
			coord.Source, coord.SourceReports = prev, ReportsSingle
		case i > 1:
			coord.Source, coord.SourceReports = prev, ReportsAll
		}
		coord.FinishBatch = b.finishBatch
		if c.Go != nil && c.Go.NewBolt != nil && !b.broken {
			finisher := false
			if inst, err := callFactory(c.Go.NewBolt); err == nil {
				_, finisher = inst.(BatchFinisher)
			}
			if b.finishBatch && !finisher {
				fail(b.finishLine, c.ID, fmt.Errorf("%w: finishBatch is set but Go bolt %q does not implement FinishBatch(requestID)", ErrBadComponent, c.ID))
			}
			coord.FinishBatch = finisher
		}
		if i == len(d.bolts)-1 && coord.FinishBatch {
			coord.IDFrom = PrepareRequestID
		}
		c.Coordination = coord

		in := Input{Stream: DefaultStream, Grouping: Grouping{Type: Shuffle}, Line: c.Line}
		if i == 0 {
			in.Grouping.Type = None
			if coord.IDFrom != "" {
				// A one-bolt chain that finishes batches: its request's
				// tuple must reach the task that gets the request's id.
				in.Grouping = Grouping{Type: FieldsGrouping, Fields: []string{"request"}}
			}
		}
		if b.input != nil {
			in = *b.input
		}
		in.From = prev
		c.Inputs = append(c.Inputs, in)
		if i > 0 {
			c.Inputs = append(c.Inputs, Input{From: prev, Stream: CoordStream, Grouping: Grouping{Type: Direct}, Line: c.Line})
		}
		if coord.IDFrom != "" {
			c.Inputs = append(c.Inputs, Input{From: PrepareRequestID, Stream: IDStream, Grouping: Grouping{Type: FieldsGrouping, Fields: []string{"request"}}, Line: c.Line})
		}
		if i < len(d.bolts)-1 {
			c.Outputs = append(c.Outputs, Stream{ID: CoordStream, Fields: []string{"id", "count"}, Direct: true})
		}
		comps = append(comps, c)
		prev, last = c.ID, b
	}
	if last == nil {
		return comps
	}

	// Storm's rule: the last bolt declares one stream of [id, result].
	lc := last.c
	if len(lc.Outputs) != 1 || len(lc.Outputs[0].Fields) != 2 {
		if !last.broken {
			fail(lc.Line, lc.ID, fmt.Errorf("%w: the last bolt of a drpc chain must declare exactly one stream of exactly two fields, [request id, result]; it declares %s", ErrBadStream, describeOutputs(lc.Outputs)))
		}
		return comps
	}
	out := lc.Outputs[0]
	join := goComp(JoinResultID, joinResultName, KindBolt, nil)
	join.Inputs = []Input{
		{From: lc.ID, Stream: out.ID, Grouping: Grouping{Type: FieldsGrouping, Fields: []string{out.Fields[0]}}, Line: d.line},
		{From: PrepareRequestID, Stream: ReturnStream, Grouping: Grouping{Type: FieldsGrouping, Fields: []string{"request"}}, Line: d.line},
	}
	ret := goComp(ReturnResultsID, returnResultsName, KindBolt, nil)
	ret.Inputs = []Input{{From: JoinResultID, Stream: DefaultStream, Grouping: Grouping{Type: None}, Line: d.line}}
	return append(comps, join, ret)
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
