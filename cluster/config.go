package cluster

import (
	"github.com/squallstream/squall/auth/zkacl"

	"github.com/go-zookeeper/zk"

	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// DefaultZooKeeperPort is the port used for servers given without one
// (storm.zookeeper.port).
const DefaultZooKeeperPort = 2181

// Config configures the ZooKeeper implementation of State.
type Config struct {
	// Servers are the ZooKeeper servers, "host" or "host:port"; a server
	// without a port uses DefaultZooKeeperPort (storm.zookeeper.servers and
	// storm.zookeeper.port).
	Servers []string

	// SessionTimeout is the session timeout asked of ZooKeeper: how long
	// the ephemeral entries of a process that stopped talking to ZooKeeper
	// survive (storm.zookeeper.session.timeout, default 20s). The servers
	// bound it, by default to between 2 and 20 ticks.
	SessionTimeout time.Duration

	// Root is the absolute ZooKeeper path under which all state lives
	// (storm.zookeeper.root, default "/squall"). It is created if missing.
	Root string

	// Auth is the session's credential (storm.zookeeper.auth.scheme and
	// .payload, zkacl.DaemonCredential). When set, the session
	// authenticates before any request and every node it creates is its
	// credential's alone (ZooKeeper's auth:cdrwa); the zero value creates
	// world-writable nodes, as Storm does without it.
	Auth zkacl.Credential

	// SuperACL is the daemons' identity on the nodes workers create
	// (storm.zookeeper.superACL, zkacl.SuperACL); zero for a daemon: the
	// digest of Auth. A worker's session must have it.
	SuperACL zk.ACL

	// Worker marks a worker's session: Auth is its topology's credential
	// (storm.zookeeper.topology.auth.*), and the nodes it creates, its
	// heartbeats and errors, are its topology's and the daemons' only
	// (zkacl.KindWorker).
	Worker bool
}

// DefaultConfig returns Storm's defaults: a server on localhost, a 20 s
// session timeout and the root "/squall".
func DefaultConfig() Config {
	return Config{
		Servers:        []string{"localhost:2181"},
		SessionTimeout: 20 * time.Second,
		Root:           "/squall",
	}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	if len(c.Servers) == 0 {
		return errors.New("cluster config: Servers is empty")
	}
	for _, s := range c.Servers {
		if _, err := serverAddr(s); err != nil {
			return fmt.Errorf("cluster config: Servers: %w", err)
		}
	}
	if c.SessionTimeout < 100*time.Millisecond {
		return fmt.Errorf("cluster config: SessionTimeout %v is below 100ms", c.SessionTimeout)
	}
	if err := validRoot(c.Root); err != nil {
		return fmt.Errorf("cluster config: Root: %w", err)
	}
	if c.Worker && !c.Auth.IsZero() && c.SuperACL.Scheme == "" {
		return fmt.Errorf("cluster config: a worker's session with a credential needs SuperACL (%s)", zkacl.KeySuperACL)
	}
	return nil
}

// serverAddr returns s as host:port, adding the default port.
func serverAddr(s string) (string, error) {
	if s == "" {
		return "", errors.New("empty server address")
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		// No port (a bare host or IPv6 address).
		host, port = strings.Trim(s, "[]"), strconv.Itoa(DefaultZooKeeperPort)
		if strings.ContainsAny(host, "[]") || (strings.Contains(host, ":") && net.ParseIP(host) == nil) {
			return "", fmt.Errorf("server address %q: %w", s, err)
		}
	}
	if host == "" {
		return "", fmt.Errorf("server address %q: empty host", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return "", fmt.Errorf("server address %q: bad port %q", s, port)
	}
	return net.JoinHostPort(host, port), nil
}

// validRoot checks that root is an absolute ZooKeeper path other than "/".
func validRoot(root string) error {
	if !strings.HasPrefix(root, "/") {
		return fmt.Errorf("%q is not an absolute path", root)
	}
	if root == "/" {
		return errors.New(`"/" cannot be the root; use a path such as /squall`)
	}
	for _, part := range strings.Split(root[1:], "/") {
		switch part {
		case "":
			return fmt.Errorf("%q has an empty path element", root)
		case ".", "..":
			return fmt.Errorf("%q has a relative path element", root)
		}
		if strings.ContainsRune(part, 0) {
			return fmt.Errorf("%q contains a NUL character", root)
		}
	}
	return nil
}

// policy returns the session's ACL policy (zkacl.Policy).
func (c Config) policy() (zkacl.Policy, error) {
	if c.Auth.IsZero() {
		return zkacl.Policy{}, nil
	}
	if c.Worker {
		return zkacl.Policy{Self: c.Auth, Super: c.SuperACL, Worker: true}, nil
	}
	super := c.SuperACL
	if super.Scheme == "" {
		var err error
		if super, _, err = zkacl.SuperACL(nil, c.Auth); err != nil {
			return zkacl.Policy{}, fmt.Errorf("cluster config: %w", err)
		}
	}
	return zkacl.Policy{Self: c.Auth, Super: super}, nil
}
