package drpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"gopkg.in/yaml.v3"

	"github.com/squallstream/squall/api/drpcpb"
	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/layout"
	"github.com/squallstream/squall/topology"
)

// The security keys of a DRPC server. Authentication is nimbus's: the same
// token file (nimbus.auth.tokens.file) and principals; certificates are the
// server's own.
const (
	// KeyAuthorizer is Storm's drpc.authorizer: the class of the
	// authorizer (see the Authorizer* names).
	KeyAuthorizer = topology.KeyDRPCAuthorizer
	// KeyACL holds the ACL inline (squall), as Storm's ACL file holds it
	// under the same key; KeyACLFile names Storm's ACL file
	// (drpc.authorizer.acl.filename).
	KeyACL       = "drpc.authorizer.acl"
	KeyACLFile   = "drpc.authorizer.acl.filename"
	KeyACLStrict = "drpc.authorizer.acl.strict"

	// KeyTLSCert and KeyTLSKey (squall; Storm's drpc.https.keystore.* as PEM
	// files) put all three ports on TLS: gRPC for clients and
	// topologies, and HTTPS on drpc.http.port. KeyTLSCA verifies client
	// certificates (mutual TLS: their common name is the principal);
	// KeyTLSClientAuthRequired makes one mandatory.
	KeyTLSCert               = "drpc.tls.cert.path"
	KeyTLSKey                = "drpc.tls.key.path"
	KeyTLSCA                 = "drpc.tls.ca.path"
	KeyTLSClientAuthRequired = "drpc.tls.client.auth.required"

	// KeyWorkerTokens (squall) makes `squall drpc` accept the DRPC worker
	// tokens of topologies' workers (WorkerTokenCredentials): it then
	// connects to ZooKeeper (storm.zookeeper.*, as a daemon, with
	// storm.zookeeper.auth.*) to read each topology's secret and owner
	// (ClusterKeys), and needs TLS.
	KeyWorkerTokens = topology.KeyDRPCWorkerTokens
	// KeyWorkerTokenLifeHours is Storm's storm.worker.token.life.time.hours:
	// how long a worker token is good for (24 when unset). Workers make a
	// new one when half of it is gone; a server refuses a token that
	// expires further ahead.
	KeyWorkerTokenLifeHours = topology.KeyWorkerTokenLifeHours
)

// Storm's authorizer classes squall honours.
const (
	AuthorizerSimpleACL = "org.apache.storm.security.auth.authorizer.DRPCSimpleACLAuthorizer"
	AuthorizerDeny      = "org.apache.storm.security.auth.authorizer.DenyAuthorizer"
	AuthorizerNoop      = "org.apache.storm.security.auth.authorizer.NoopAuthorizer"
)

// maxACLFileBytes bounds drpc.authorizer.acl.filename.
const maxACLFileBytes = 1 << 20

// Security is what a DRPC server's configuration says about who calls it.
type Security struct {
	// Authenticating is set when callers must authenticate (tokens or
	// client certificates).
	Authenticating bool
	// TLS is set when the ports serve TLS.
	TLS bool
	// Tokens, if set, should be watched for changes (TokenStore.Watch).
	Tokens *auth.TokenStore
}

// Secure reads the security keys of conf (nimbus.auth.tokens.file,
// drpc.tls.*, drpc.authorizer*) and sets cfg's hooks from them: TLS and
// authentication on every port, the principal of each call, and the
// authorizer. With keys (a server with access to the cluster's secrets in
// ZooKeeper), it also accepts the DRPC worker tokens of topologies'
// workers (auth.NewWorkerToken), as their owners; those need TLS.
func Secure(cfg *Config, conf map[string]any, keys auth.TopologyKeys) (Security, error) {
	var sec Security
	str := func(key string) (string, error) {
		v, ok := conf[key]
		if !ok || v == nil {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("config %s: %#v is not a string", key, v)
		}
		return s, nil
	}
	var st auth.ServerTLS
	var tokensFile string
	var err error
	for _, f := range []struct {
		key string
		dst *string
	}{
		{auth.KeyTokensFile, &tokensFile},
		{KeyTLSCert, &st.CertFile},
		{KeyTLSKey, &st.KeyFile},
		{KeyTLSCA, &st.ClientCAFile},
	} {
		if *f.dst, err = str(f.key); err != nil {
			return sec, err
		}
	}
	if v, ok := conf[KeyTLSClientAuthRequired]; ok && v != nil {
		b, ok := v.(bool)
		if !ok {
			return sec, fmt.Errorf("config %s: %#v is not a boolean", KeyTLSClientAuthRequired, v)
		}
		st.RequireClientCert = b
	}
	var tlsConf *tls.Config
	if st.Enabled() || st.KeyFile != "" || st.ClientCAFile != "" {
		if tlsConf, err = st.Config(); err != nil {
			return sec, fmt.Errorf("config drpc.tls.*: %w", err)
		}
		sec.TLS = true
	}
	if tokensFile != "" {
		if sec.Tokens, err = auth.LoadTokens(tokensFile); err != nil {
			return sec, fmt.Errorf("drpc: %w", err)
		}
	}
	if keys != nil && tlsConf == nil {
		return sec, fmt.Errorf("drpc: worker tokens need TLS: set %s and %s", KeyTLSCert, KeyTLSKey)
	}
	sec.Authenticating = sec.Tokens != nil || st.MutualTLS() || keys != nil
	policy, err := auth.PolicyFromConfig(conf, sec.Authenticating)
	if err != nil {
		return sec, err
	}
	authz, err := authorizerFrom(conf)
	if err != nil {
		return sec, err
	}
	cfg.Authorize = authz
	if !sec.Authenticating && !sec.TLS {
		return sec, nil // every caller is anonymous, as before
	}
	authn := auth.NewAuthenticator(sec.Tokens, st.MutualTLS(), policy)
	if keys != nil {
		life, err := workerTokenLife(conf)
		if err != nil {
			return sec, err
		}
		authn = authn.WithWorkerTokens(auth.WorkerTokenVerifier{Service: auth.ServiceDRPC, Keys: keys, Life: life})
		// Only worker tokens name a topology; without them the server
		// need not look up who fetched a request it settles.
		cfg.Topology = func(ctx context.Context) string {
			p, _ := auth.FromContext(ctx)
			return p.Topology
		}
	}
	cfg.Principal = func(ctx context.Context) string {
		p, _ := auth.FromContext(ctx)
		return p.Name
	}
	var creds []grpc.ServerOption
	if tlsConf != nil {
		creds = append(creds, grpc.Creds(credentials.NewTLS(tlsConf)))
		cfg.HTTPTLS = tlsConf
	}
	cfg.GRPCOptions = append(append(creds,
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			ctx, err := authenticateGRPC(ctx, authn, info.FullMethod)
			if err != nil {
				return nil, err
			}
			return h(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			ctx, err := authenticateGRPC(ss.Context(), authn, info.FullMethod)
			if err != nil {
				return err
			}
			return h(srv, authedStream{ss, ctx})
		})), cfg.GRPCOptions...)
	wrap := cfg.WrapHTTP
	cfg.WrapHTTP = func(next http.Handler) http.Handler {
		if wrap != nil {
			next = wrap(next)
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := authn.FromHTTP(r)
			if err != nil {
				if errors.Is(err, auth.ErrUnauthenticated) {
					w.Header().Set("WWW-Authenticate", `Bearer realm="squall drpc"`)
					writeHTTPError(w, fmt.Errorf("%w: %v", ErrUnauthenticated, err))
				} else {
					writeHTTPError(w, fmt.Errorf("%w: %v", ErrDenied, err))
				}
				return
			}
			if err := workerScope(p, "HTTP "+r.Method); err != nil { // the HTTP port only executes
				writeHTTPError(w, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(auth.NewContext(r.Context(), p)))
		})
	}
	return sec, nil
}

// authenticateGRPC finds the caller of gRPC method fullMethod and puts
// it in ctx.
func authenticateGRPC(ctx context.Context, authn *auth.Authenticator, fullMethod string) (context.Context, error) {
	p, err := authn.FromGRPC(ctx)
	switch {
	case errors.Is(err, auth.ErrUnauthenticated):
		return nil, status.Error(codes.Unauthenticated, err.Error())
	case err != nil:
		return nil, status.Error(codes.PermissionDenied, err.Error())
	}
	if !strings.HasPrefix(fullMethod, invocationsService) {
		if err := workerScope(p, fullMethod); err != nil {
			return nil, status.Error(codes.PermissionDenied, err.Error())
		}
	}
	return auth.NewContext(ctx, p), nil
}

// invocationsService prefixes the gRPC methods that serve functions.
var invocationsService = "/" + drpcpb.DistributedRPCInvocations_ServiceDesc.ServiceName + "/"

// workerScope refuses call, which serves no function, to a worker token:
// the token a topology's workers hold is good for what they do (fetch
// requests, return results, fail requests), so that one that leaks
// cannot execute its owner's functions.
func workerScope(p auth.Principal, call string) error {
	if p.Method != auth.MethodWorkerToken {
		return nil
	}
	return fmt.Errorf("%w: %s with a DRPC worker token (%s's topology): such a token serves functions only "+
		"(fetch, result, fail); a client authenticates as itself", ErrDenied, call, p.Name)
}

type authedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s authedStream) Context() context.Context { return s.ctx }

// authorizerFrom maps drpc.authorizer onto an Authorizer: nil (everything
// allowed) when unset or Storm's NoopAuthorizer.
func authorizerFrom(conf map[string]any) (Authorizer, error) {
	v, ok := conf[KeyAuthorizer]
	if !ok || v == nil || v == "" {
		return nil, nil
	}
	switch v {
	case AuthorizerNoop:
		return nil, nil
	case AuthorizerDeny:
		return func(string, Operation, string) bool { return false }, nil
	case AuthorizerSimpleACL:
	default:
		return nil, fmt.Errorf("config %s: %#v is not an authorizer squall has (%s, %s or %s)", KeyAuthorizer, v, AuthorizerSimpleACL, AuthorizerDeny, AuthorizerNoop)
	}
	acl := ACL{}
	if s, ok := conf[KeyACLStrict]; ok && s != nil {
		b, ok := s.(bool)
		if !ok {
			return nil, fmt.Errorf("config %s: %#v is not a boolean", KeyACLStrict, s)
		}
		acl.Strict = b
	}
	raw, hasInline := conf[KeyACL]
	if file, ok := conf[KeyACLFile].(string); ok && file != "" {
		if hasInline {
			return nil, fmt.Errorf("config: %s and %s both set: keep one", KeyACL, KeyACLFile)
		}
		fromFile, err := readACLFile(file)
		if err != nil {
			return nil, err
		}
		raw = fromFile
	} else if !hasInline {
		return nil, fmt.Errorf("config %s is %s, but neither %s nor %s gives the ACL", KeyAuthorizer, AuthorizerSimpleACL, KeyACL, KeyACLFile)
	}
	fns, err := ParseACL(raw)
	if err != nil {
		return nil, err
	}
	acl.Functions = fns
	return acl.Authorize, nil
}

// readACLFile reads Storm's DRPC ACL file: YAML holding
// drpc.authorizer.acl.
func readACLFile(path string) (any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", KeyACLFile, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxACLFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", KeyACLFile, err)
	}
	if len(data) > maxACLFileBytes {
		return nil, fmt.Errorf("config %s: %s is larger than %d bytes", KeyACLFile, path, maxACLFileBytes)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("config %s: %s: %w", KeyACLFile, path, err)
	}
	v, ok := doc[KeyACL]
	if !ok {
		return nil, fmt.Errorf("config %s: %s has no %s", KeyACLFile, path, KeyACL)
	}
	return v, nil
}

// A topology's credentials for its DRPC servers (squall's keys, in the
// topology's configuration): the components dial with TLS when
// drpc.client.use.tls is true, verifying the servers against
// drpc.client.tls.ca.path (the system's roots when unset), and
// authenticate with a client certificate (drpc.client.tls.cert.path and
// .key.path: its common name is the principal, the ACL's
// invocation.user) or a bearer token read from drpc.client.token.file.
// The files must be readable by the user the workers run as: the owner's,
// when supervisors run workers as their owners.
const (
	KeyClientUseTLS    = "drpc.client.use.tls"
	KeyClientTLSCA     = "drpc.client.tls.ca.path"
	KeyClientTLSCert   = "drpc.client.tls.cert.path"
	KeyClientTLSKey    = "drpc.client.tls.key.path"
	KeyClientTokenFile = "drpc.client.token.file"
)

// TopologyCredentials is the Credentials of Register: the dial options
// the drpc.client.* keys of the topology's configuration give; none (plain
// TCP, anonymous) without them. A token goes over TLS only. With TLS
// (drpc.client.use.tls) but neither a token file nor a client
// certificate, a worker of a cluster authenticates with its DRPC worker
// token, made from the topology's secret in the worker's directory (its
// working directory, where the supervisor starts it): see
// WorkerTokenCredentials.
func TopologyCredentials(conf topology.Config) ([]grpc.DialOption, error) {
	return WorkerTokenCredentials(layout.SecretFile("."))(conf)
}

// WorkerTokenCredentials is TopologyCredentials with the worker's secret
// read from secretFile: when the drpc.client.* keys ask for TLS and name
// neither a token file nor a client certificate, and secretFile exists,
// the components send the DRPC worker token of their topology (storm.id)
// and its owner (topology.submitter.user, which nimbus sets), and the
// DRPC server, reading the topology's secret and owner from ZooKeeper,
// takes them for the owner (auth.WorkerTokenVerifier).
func WorkerTokenCredentials(secretFile string) Credentials {
	return func(conf topology.Config) ([]grpc.DialOption, error) {
		opts, err := configuredCredentials(conf)
		if err != nil || opts == nil {
			return opts, err
		}
		if !conf.Bool(KeyClientUseTLS, false) || conf[KeyClientTokenFile] != nil || conf[KeyClientTLSCert] != nil {
			return opts, nil
		}
		stormID, _ := conf[topology.KeyStormID].(string)
		owner, _ := conf[auth.KeyTopologySubmitterUser].(string)
		if owner == "" {
			// Submitted without authentication: nobody to be but
			// anonymous, over TLS, as before worker tokens.
			return opts, nil
		}
		if _, err := os.Stat(secretFile); errors.Is(err, os.ErrNotExist) {
			return opts, nil // not a cluster's worker: no token
		}
		secret, err := auth.ReadTopologySecret(secretFile)
		if err != nil {
			return nil, fmt.Errorf("drpc worker token: %w", err)
		}
		life, err := workerTokenLife(conf)
		if err != nil {
			return nil, err
		}
		src := &auth.WorkerTokenSource{Secret: secret, Service: auth.ServiceDRPC, StormID: stormID, Owner: owner, Life: life}
		if _, err := src.Token(); err != nil {
			return nil, fmt.Errorf("drpc %w", err)
		}
		return append(opts, grpc.WithPerRPCCredentials(src)), nil
	}
}

// workerTokenLife reads storm.worker.token.life.time.hours.
func workerTokenLife(conf map[string]any) (time.Duration, error) {
	v, ok := conf[KeyWorkerTokenLifeHours]
	if !ok || v == nil {
		return auth.DefaultWorkerTokenLife, nil
	}
	var hours float64
	switch n := v.(type) {
	case int:
		hours = float64(n)
	case int64:
		hours = float64(n)
	case float64:
		hours = n
	}
	if hours < 1 || hours > 24*365 || hours != float64(int(hours)) {
		return 0, fmt.Errorf("config %s: %#v is not a whole number of hours from 1 to %d", KeyWorkerTokenLifeHours, v, 24*365)
	}
	return time.Duration(hours) * time.Hour, nil
}

// configuredCredentials returns the dial options of the drpc.client.*
// keys alone.
func configuredCredentials(conf topology.Config) ([]grpc.DialOption, error) {
	asClient := map[string]any{}
	for from, to := range map[string]string{
		KeyClientUseTLS:    auth.KeyClientUseTLS,
		KeyClientTLSCA:     auth.KeyClientTLSCA,
		KeyClientTLSCert:   auth.KeyClientTLSCert,
		KeyClientTLSKey:    auth.KeyClientTLSKey,
		KeyClientTokenFile: auth.KeyClientTokenFile,
	} {
		if v, ok := conf[from]; ok {
			asClient[to] = v
		}
	}
	if len(asClient) == 0 {
		return nil, nil
	}
	cs, err := auth.ClientSettingsFromConfig(asClient)
	if err != nil {
		return nil, fmt.Errorf("drpc.client.*: %w", err)
	}
	// No target: a token is never sent in clear text.
	return cs.DialOptions("")
}

// topologyKeysState is what ClusterKeys reads: cluster.State's records
// and secrets.
type topologyKeysState interface {
	GetTopology(ctx context.Context, id string) (cluster.TopologyRecord, error)
	GetTopologySecret(ctx context.Context, id string) ([]byte, error)
}

// ClusterKeys returns the auth.TopologyKeys of a DRPC server with access
// to the cluster's state (a daemon's ZooKeeper session): a topology's
// secret (secrets/<id>) and owner (its record's), for Secure to verify
// the worker tokens of topologies' workers. Keys found are kept for
// keysTTL: every call of a worker is verified, result batches included,
// and two ZooKeeper reads for each would cost every call a round trip and
// fail results while ZooKeeper is briefly away.
func ClusterKeys(st topologyKeysState) auth.TopologyKeys {
	c := &keysCache{st: st, now: time.Now}
	return c.keys
}

// keysTTL is how long ClusterKeys keeps a topology's keys: a killed
// topology's tokens are refused at most this long after its secret is gone.
const keysTTL = 30 * time.Second

// maxCachedKeys bounds the topologies whose keys are kept; only those
// found are, so it is reached only with that many live topologies.
const maxCachedKeys = 1024

type keysCache struct {
	st  topologyKeysState
	now func() time.Time
	mu  sync.Mutex
	m   map[string]cachedKeys
}

type cachedKeys struct {
	secret []byte
	owner  string
	until  time.Time
}

func (c *keysCache) keys(ctx context.Context, id string) ([]byte, string, error) {
	now := c.now()
	c.mu.Lock()
	k, ok := c.m[id]
	c.mu.Unlock()
	if ok && now.Before(k.until) {
		return k.secret, k.owner, nil
	}
	rec, err := c.st.GetTopology(ctx, id)
	if err != nil {
		return nil, "", fmt.Errorf("topology record: %w", err)
	}
	secret, err := c.st.GetTopologySecret(ctx, id)
	if err != nil {
		return nil, "", fmt.Errorf("topology secret: %w", err)
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedKeys {
		c.m = map[string]cachedKeys{} // whole, rarely: the live ones come back
	}
	c.m[id] = cachedKeys{secret: secret, owner: rec.Owner, until: now.Add(keysTTL)}
	c.mu.Unlock()
	return secret, rec.Owner, nil
}
