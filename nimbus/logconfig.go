package nimbus

import (
	"context"
	"errors"
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/loglevel"
)

// maxLoggers bounds the loggers of one logconfig request.
const maxLoggers = 16

// SetLogConfig is Storm's set_log_level: it records the topology's log
// levels in its record, which the workers follow, and answers the levels
// now set.
func (n *Nimbus) SetLogConfig(ctx context.Context, req *api.SetLogConfigRequest) (*api.LogConfigResponse, error) {
	if err := n.writable(); err != nil {
		return nil, grpcError(err)
	}
	l := n.currentLeader()
	if l == nil {
		return forward(ctx, n, func(c api.NimbusClient, ctx context.Context) (*api.LogConfigResponse, error) {
			return c.SetLogConfig(ctx, req)
		})
	}
	levels := req.GetNamedLoggerLevels()
	if len(levels) == 0 {
		return nil, grpcError(invalidf("namedLoggerLevels: no logger given"))
	}
	if len(levels) > maxLoggers {
		return nil, grpcError(invalidf("namedLoggerLevels: %d loggers, more than %d", len(levels), maxLoggers))
	}
	now := n.clock.Now()
	set, clear := map[string]loglevel.Setting{}, map[string]bool{}
	names := sortedKeys(levels)
	for _, name := range names {
		v := levels[name]
		target := strings.ToUpper(v.GetTargetLevel())
		if target == "" || target == "CLEAR" {
			clear[name] = true
			continue
		}
		s := loglevel.Setting{Target: target}
		switch t := v.GetTimeout(); {
		case t < 0 || t > loglevel.MaxTimeoutSecs:
			return nil, grpcError(invalidf("namedLoggerLevels[%.80q].timeout %d: want 0 (no timeout) to %d seconds", name, t, loglevel.MaxTimeoutSecs))
		case t > 0:
			s.ResetAt = now.Add(time.Duration(t) * time.Second)
		}
		if err := loglevel.Check(name, s); err != nil {
			return nil, grpcError(invalidf("namedLoggerLevels: %v", err))
		}
		set[name] = s
	}
	id, err := n.freshView(ctx).resolve(req.GetId(), req.GetName())
	if err != nil {
		return nil, grpcError(err)
	}
	var out cluster.TopologyRecord
	err = l.do(ctx, func(ctx context.Context) error {
		for attempt := 0; ; attempt++ {
			rec, err := n.state.GetTopology(ctx, id)
			if errors.Is(err, cluster.ErrNotFound) {
				return notFoundf("topology %q not found", id)
			}
			if err != nil {
				return unavailablef("read topology %s: %v", id, err)
			}
			conf := maps.Clone(rec.LogConfig)
			if conf == nil {
				conf = map[string]loglevel.Setting{}
			}
			maps.Copy(conf, set)
			for name := range clear {
				delete(conf, name)
			}
			rec.LogConfig = conf
			out, err = n.state.SetTopology(ctx, rec)
			if errors.Is(err, cluster.ErrVersionConflict) && attempt < 10 {
				continue
			}
			if err != nil {
				return unavailablef("write topology %s: %v", id, err)
			}
			n.log.Info("log levels set", "topology", id, "loggers", strings.Join(names, ","))
			return nil
		}
	})
	if err != nil {
		return nil, grpcError(err)
	}
	return logConfigResponse(out.LogConfig, now), nil
}

// GetLogConfig answers the topology's log levels now set.
func (n *Nimbus) GetLogConfig(ctx context.Context, req *api.GetLogConfigRequest) (*api.LogConfigResponse, error) {
	v := n.newView(ctx)
	id, err := v.resolve(req.GetId(), req.GetName())
	if err != nil {
		return nil, grpcError(err)
	}
	rec, err := v.topology(id)
	if err != nil {
		return nil, grpcError(err)
	}
	v.finish()
	return logConfigResponse(rec.LogConfig, n.clock.Now()), nil
}

// logConfigResponse lists the settings still in force at now.
func logConfigResponse(conf map[string]loglevel.Setting, now time.Time) *api.LogConfigResponse {
	resp := &api.LogConfigResponse{NamedLoggerLevels: map[string]*api.NamedLoggerLevel{}}
	names := make([]string, 0, len(conf))
	for name := range conf {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s := conf[name]
		if !s.ResetAt.IsZero() && !now.Before(s.ResetAt) {
			continue // expired: the workers are back at their own level
		}
		l := &api.NamedLoggerLevel{TargetLevel: s.Target}
		if !s.ResetAt.IsZero() {
			l.Timeout = int32((s.ResetAt.Sub(now) + time.Second - 1) / time.Second)
			l.TimeoutEpoch = s.ResetAt.Unix()
		}
		resp.NamedLoggerLevels[name] = l
	}
	return resp
}
