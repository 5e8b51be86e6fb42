package nimbus

import (
	"net"
	"net/url"
	"strconv"

	"github.com/squallstream/squall/cluster"
)

// Storm's logviewer keys: where the supervisors' logviewers listen.
const (
	keyLogviewerPort      = "logviewer.port"
	keyLogviewerHTTPSPort = "logviewer.https.port"
	defaultLogviewerPort  = 8000
)

// logLinks makes Storm's log links: the address of a log on the logviewer
// of its node. A supervisor that advertises its logviewer's address
// (SupervisorInfo.Address) is reached there, its host name standing in for
// an unspecified bind address (0.0.0.0); others on their host and the
// cluster's logviewer.port.
type logLinks struct {
	scheme string
	port   int
	addrs  map[string]string // node id -> logviewer host:port, when advertised
	nodes  map[string]string // host -> node id, for errors, which name a host
}

func (n *Nimbus) logLinks(v *view) logLinks {
	// Links are a convenience: without the supervisors' records they fall
	// back to host and logviewer.port.
	sups, _ := v.supervisors()
	return n.logLinksOf(sups)
}

func (n *Nimbus) logLinksOf(sups []cluster.SupervisorInfo) logLinks {
	l := logLinks{scheme: "http", port: n.cfg.Cluster.Int(keyLogviewerPort, defaultLogviewerPort),
		addrs: map[string]string{}, nodes: map[string]string{}}
	if p, ok := n.cfg.Cluster.IntOK(keyLogviewerHTTPSPort); ok && p > 0 {
		l.scheme, l.port = "https", p
	}
	for _, s := range sups {
		l.nodes[s.Host] = s.ID
		if a := advertised(s); a != "" {
			l.addrs[s.ID] = a
		}
	}
	return l
}

// advertised returns the host:port a supervisor's logviewer is reached
// at, "" if it advertises none.
func advertised(s cluster.SupervisorInfo) string {
	host, port, err := net.SplitHostPort(s.Address)
	if err != nil || port == "" || port == "0" {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = s.Host
	}
	return net.JoinHostPort(host, port)
}

// addr returns the logviewer address of a node, "" if unknown.
func (l logLinks) addr(node, host string) string {
	if a, ok := l.addrs[node]; ok {
		return a
	}
	if host == "" || l.port <= 0 {
		return ""
	}
	return net.JoinHostPort(host, strconv.Itoa(l.port))
}

// logviewerPort returns the port of a node's logviewer, 0 if unknown.
func (l logLinks) logviewerPort(node, host string) int32 {
	_, port, err := net.SplitHostPort(l.addr(node, host))
	if err != nil {
		return 0
	}
	p, _ := strconv.Atoi(port)
	return int32(p)
}

// worker returns the link to a worker's log, as Storm's workerLogLink:
// http://HOST:PORT/api/v1/log?file=TOPOLOGY%2FPORT%2Fworker.log.
func (l logLinks) worker(node, host, topologyID string, port int) string {
	a := l.addr(node, host)
	if a == "" {
		return ""
	}
	file := topologyID + "/" + strconv.Itoa(port) + "/worker.log"
	return l.scheme + "://" + a + "/api/v1/log?file=" + url.QueryEscape(file)
}

// events returns the link to a worker's event log, events.log beside its
// worker.log (Storm's eventLogLink).
func (l logLinks) events(node, host, topologyID string, port int) string {
	a := l.addr(node, host)
	if a == "" {
		return ""
	}
	file := topologyID + "/" + strconv.Itoa(port) + "/events.log"
	return l.scheme + "://" + a + "/api/v1/log?file=" + url.QueryEscape(file)
}

// workerOnHost links the log of the worker on host and port, as an error
// names it (Storm's errorWorkerLogLink).
func (l logLinks) workerOnHost(host, topologyID string, port int) string {
	return l.worker(l.nodes[host], host, topologyID, port)
}

// daemon links a supervisor's own log (Storm's logLink).
func (l logLinks) daemon(node, host string) string {
	a := l.addr(node, host)
	if a == "" {
		return ""
	}
	return l.scheme + "://" + a + "/api/v1/daemonlog?file=supervisor.log"
}
