package supervisor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"google.golang.org/grpc"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/cluster"
)

// This file is the loop's side of package downloads: starting them,
// recording their end, reaching nimbus, reporting refusals.

// downloadTimeout bounds one package download.
const downloadTimeout = 10 * time.Minute

// reportComponent is the component the supervisor reports a topology's
// errors under (State.ReportError), such as a refused package.
const reportComponent = "__supervisor"

// download starts downloading a topology's package, unless it is being
// downloaded, was refused, or failed too recently.
func (l *loop) download(stormID string, now time.Time) {
	digest, known := l.digests[stormID]
	if !known || l.downloads[stormID] {
		return
	}
	if refused, ok := l.refused[stormID]; ok && refused == digest {
		return
	}
	if r := l.dlBackoff[stormID]; r != nil && !r.due(now) {
		return
	}
	client, addr, err := l.client()
	if err != nil {
		l.downloaded(downloadedEvent{stormID: stormID, digest: digest, err: err}, now)
		return
	}
	l.downloads[stormID] = true
	l.log.Info("downloading package", "topology", stormID, "digest", digest, "nimbus", addr)
	lim := packageLimits{maxBytes: l.cfg.MaxPackageBytes, extract: l.cfg.PackageLimits}
	ctx, localDir := l.ctx, l.cfg.LocalDir
	l.wg.Go(func() {
		ctx, cancel := context.WithTimeout(ctx, downloadTimeout)
		defer cancel()
		start := time.Now()
		got, err := fetchPackage(ctx, client, localDir, stormID, digest, lim)
		l.send(downloadedEvent{stormID: stormID, digest: got, took: time.Since(start), err: err})
	})
}

// downloaded records the end of a download.
func (l *loop) downloaded(ev downloadedEvent, now time.Time) {
	switch {
	case ev.err == nil:
		delete(l.dlBackoff, ev.stormID)
		l.dists[ev.stormID] = ev.digest
		l.log.Info("downloaded package", "topology", ev.stormID, "digest", ev.digest, "took", ev.took.Round(time.Millisecond))
	case errors.Is(ev.err, ErrPackageRefused):
		digest := l.digests[ev.stormID]
		l.refused[ev.stormID] = digest
		l.log.Error("package refused", "topology", ev.stormID, "digest", digest, "err", ev.err)
		l.report(ev.stormID, fmt.Sprintf("supervisor %s refused the package (digest %s): %v", l.nodeID, digest, ev.err))
	default:
		r := l.dlBackoff[ev.stormID]
		if r == nil {
			r = l.newRestartTracker()
			l.dlBackoff[ev.stormID] = r
		}
		delay := r.failed(now, 0)
		if l.ctx.Err() == nil {
			l.log.Warn("package download failed", "topology", ev.stormID, "err", ev.err, "attempts", r.failures(), "retry_in", delay)
		}
	}
}

// report records a topology error in the cluster state, where the API
// shows it.
func (l *loop) report(stormID, msg string) {
	port := 0
	for _, d := range l.desired {
		if d.StormID == stormID && (port == 0 || d.Port < port) {
			port = d.Port
		}
	}
	err := l.state.ReportError(l.ctx, stormID, cluster.ErrorInfo{
		Component: reportComponent,
		Host:      l.cfg.Host,
		Port:      port,
		Time:      time.Now(),
		Message:   msg,
	})
	if err != nil && l.ctx.Err() == nil {
		l.log.Warn("reporting an error", "topology", stormID, "err", err)
	}
}

// client returns a client of the leading nimbus, dialing it if needed.
func (l *loop) client() (api.NimbusClient, string, error) {
	leader, ok, err := l.state.Leader(l.ctx)
	if err != nil {
		return nil, "", fmt.Errorf("find nimbus: %w", err)
	}
	if !ok {
		return nil, "", fmt.Errorf("find nimbus: %w", ErrNoLeader)
	}
	addr := leader.Addr()
	if len(l.downloads) == 0 {
		for a, c := range l.conns { // a former leader's
			if a != addr {
				c.Close()
				delete(l.conns, a)
			}
		}
	}
	conn := l.conns[addr]
	if conn == nil {
		opts := l.cfg.DialOptions
		if opts == nil {
			// Per address: a token goes without TLS to loopback only.
			if opts, err = l.cfg.Credentials.DialOptions(addr); err != nil {
				return nil, "", fmt.Errorf("dial nimbus %s: %w", addr, err)
			}
		}
		opts = append(slices.Clip(opts), grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(api.MaxMessageBytes(l.cfg.MaxPackageBytes))))
		if conn, err = grpc.NewClient(addr, opts...); err != nil {
			return nil, "", fmt.Errorf("dial nimbus %s: %w", addr, err)
		}
		l.conns[addr] = conn
	}
	return api.NewNimbusClient(conn), addr, nil
}

func (l *loop) closeConns() {
	for a, c := range l.conns {
		c.Close()
		delete(l.conns, a)
	}
}
