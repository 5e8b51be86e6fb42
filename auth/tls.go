package auth

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"sync"
	"unicode"
)

// ParseTLSVersion reads tls.min.version: "1.2" (also the default, for "")
// or "1.3".
func ParseTLSVersion(s string) (uint16, error) {
	switch strings.TrimSpace(s) {
	case "", "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("%w: %s %q: want 1.2 or 1.3", ErrTLSConfig, KeyTLSMinVersion, s)
}

// ServerTLS is a server's TLS: its certificate and, for mutual TLS, the CA
// bundle client certificates are verified against. The files are read
// again when they change, so certificates rotate without a restart.
type ServerTLS struct {
	// CertFile and KeyFile are PEM files: the certificate chain (leaf
	// first) and its private key.
	CertFile, KeyFile string
	// ClientCAFile is a PEM bundle of the CAs client certificates must
	// chain to; "" means no client certificates.
	ClientCAFile string
	// RequireClientCert refuses a connection without a verified client
	// certificate. Otherwise a client may connect without one (and
	// authenticate with a token), but a certificate it does present must
	// verify.
	RequireClientCert bool
	// MinVersion is the lowest TLS version accepted (tls.VersionTLS12 when
	// zero).
	MinVersion uint16
}

// Enabled reports whether s turns TLS on.
func (s ServerTLS) Enabled() bool { return s.CertFile != "" }

// MutualTLS reports whether client certificates are verified.
func (s ServerTLS) MutualTLS() bool { return s.ClientCAFile != "" }

func (s ServerTLS) validate() error {
	switch {
	case s.CertFile == "" && s.KeyFile != "", s.CertFile != "" && s.KeyFile == "":
		return fmt.Errorf("%w: a certificate needs both its file and its key file", ErrTLSConfig)
	case s.CertFile == "" && s.ClientCAFile != "":
		return fmt.Errorf("%w: a client CA bundle needs the server's own certificate and key", ErrTLSConfig)
	case s.RequireClientCert && s.ClientCAFile == "":
		return fmt.Errorf("%w: requiring client certificates needs a client CA bundle", ErrTLSConfig)
	}
	return nil
}

// Config returns the server's tls.Config. It reads the files once now, to
// fail early, and again on a handshake after they change.
func (s ServerTLS) Config() (*tls.Config, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	if !s.Enabled() {
		return nil, fmt.Errorf("%w: no certificate configured", ErrTLSConfig)
	}
	if s.MinVersion == 0 {
		s.MinVersion = tls.VersionTLS12
	}
	src := &serverSource{s: s}
	if _, err := src.get(); err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion: s.MinVersion,
		// The per-connection configuration carries what can change.
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { return src.get() },
	}, nil
}

// serverSource builds the server's tls.Config from its files, again when
// one of them changes.
type serverSource struct {
	s ServerTLS

	mu sync.Mutex
	// Guarded by mu:
	stamps []fileStamp
	cfg    *tls.Config
}

func (src *serverSource) files() []string {
	return []string{src.s.CertFile, src.s.KeyFile, src.s.ClientCAFile}
}

func (src *serverSource) get() (*tls.Config, error) {
	stamps, err := statAll(src.files())
	if err != nil {
		return nil, err
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.cfg != nil && equalStamps(stamps, src.stamps) {
		return src.cfg, nil
	}
	cert, err := tls.LoadX509KeyPair(src.s.CertFile, src.s.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("%w: server certificate %s: %w", ErrTLSConfig, src.s.CertFile, err)
	}
	cfg := &tls.Config{
		MinVersion:   src.s.MinVersion,
		Certificates: []tls.Certificate{cert},
		// gRPC needs h2; the REST server speaks both.
		NextProtos: []string{"h2", "http/1.1"},
	}
	if src.s.ClientCAFile != "" {
		pool, err := loadPool(src.s.ClientCAFile)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
		if src.s.RequireClientCert {
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	src.cfg, src.stamps = cfg, stamps
	return cfg, nil
}

// ClientTLS is a client's TLS to nimbus: the CA bundle nimbus's
// certificate must chain to and, for mutual TLS, the client's own
// certificate.
type ClientTLS struct {
	// CertFile and KeyFile are the client's certificate and key; empty
	// without mutual TLS. They are read again when they change.
	CertFile, KeyFile string
	// CAFile is the PEM bundle the server's certificate must chain to;
	// "" means the system's roots.
	CAFile string
	// ServerName is the name the server's certificate must carry; ""
	// means the host dialed.
	ServerName string
	// MinVersion is the lowest TLS version (tls.VersionTLS12 when zero).
	MinVersion uint16
}

// Config returns the client's tls.Config.
func (c ClientTLS) Config() (*tls.Config, error) {
	if (c.CertFile == "") != (c.KeyFile == "") {
		return nil, fmt.Errorf("%w: a client certificate needs both its file and its key file", ErrTLSConfig)
	}
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS12
	}
	cfg := &tls.Config{MinVersion: c.MinVersion, ServerName: c.ServerName}
	if c.CAFile != "" {
		pool, err := loadPool(c.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if c.CertFile != "" {
		kp := &keyPairSource{certFile: c.CertFile, keyFile: c.KeyFile}
		if _, err := kp.get(); err != nil {
			return nil, err
		}
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return kp.get() }
	}
	return cfg, nil
}

// keyPairSource loads a certificate and key, again when they change.
type keyPairSource struct {
	certFile, keyFile string

	mu sync.Mutex
	// Guarded by mu:
	stamps []fileStamp
	cert   *tls.Certificate
}

func (k *keyPairSource) get() (*tls.Certificate, error) {
	stamps, err := statAll([]string{k.certFile, k.keyFile})
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cert != nil && equalStamps(stamps, k.stamps) {
		return k.cert, nil
	}
	cert, err := tls.LoadX509KeyPair(k.certFile, k.keyFile)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate %s: %w", ErrTLSConfig, k.certFile, err)
	}
	k.cert, k.stamps = &cert, stamps
	return k.cert, nil
}

// PeerTLS is the TLS between the workers of a topology: every worker
// presents a certificate from the cluster's CA and verifies its peer's
// against it. Host names are not checked (workers dial addresses from the
// assignment, and any node of the cluster may run any worker); which
// topology a peer belongs to is proved by the HMAC handshake on top.
type PeerTLS struct {
	CertFile, KeyFile, CAFile string
	// MinVersion is the lowest TLS version (tls.VersionTLS12 when zero).
	MinVersion uint16
}

func (p PeerTLS) validate() error {
	if p.CertFile == "" || p.KeyFile == "" || p.CAFile == "" {
		return fmt.Errorf("%w: worker TLS needs %s, %s and %s", ErrTLSConfig, KeyWorkerTLSCert, KeyWorkerTLSKey, KeyWorkerTLSCA)
	}
	return nil
}

// ServerConfig returns the accepting side's tls.Config: a client
// certificate from the CA is required.
func (p PeerTLS) ServerConfig() (*tls.Config, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	return ServerTLS{CertFile: p.CertFile, KeyFile: p.KeyFile, ClientCAFile: p.CAFile, RequireClientCert: true, MinVersion: p.MinVersion}.Config()
}

// ClientConfig returns the dialing side's tls.Config: the server's chain
// is verified against the CA, its name is not.
func (p PeerTLS) ClientConfig() (*tls.Config, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	pool, err := loadPool(p.CAFile)
	if err != nil {
		return nil, err
	}
	cfg, err := ClientTLS{CertFile: p.CertFile, KeyFile: p.KeyFile, MinVersion: p.MinVersion}.Config()
	if err != nil {
		return nil, err
	}
	// Verification without a host name: crypto/tls's own check needs one,
	// so it is replaced by the same chain verification minus the name.
	cfg.InsecureSkipVerify = true
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return fmt.Errorf("%w: peer worker sent no certificate", ErrTLSConfig)
		}
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
			Roots:         pool,
			Intermediates: inter,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		})
		if err != nil {
			return fmt.Errorf("peer worker certificate: %w", err)
		}
		return nil
	}
	return cfg, nil
}

func loadPool(file string) (*x509.CertPool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%w: CA bundle: %w", ErrTLSConfig, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%w: CA bundle %s holds no PEM certificate", ErrTLSConfig, file)
	}
	return pool, nil
}

func statAll(files []string) ([]fileStamp, error) {
	stamps := make([]fileStamp, len(files))
	for i, f := range files {
		if f == "" {
			continue
		}
		fi, err := os.Stat(f)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrTLSConfig, err)
		}
		stamps[i] = stampOf(fi)
	}
	return stamps, nil
}

func equalStamps(a, b []fileStamp) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// PrincipalFromTLS returns the principal of a TLS connection's verified
// client certificate, and false when the client presented none (or none
// that verified: an unverified certificate names nobody).
func PrincipalFromTLS(cs *tls.ConnectionState) (Principal, bool, error) {
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return Principal{}, false, nil
	}
	p, err := PrincipalFromCert(cs.VerifiedChains[0][0])
	return p, err == nil, err
}

// PrincipalFromCert returns the principal a verified client certificate
// names: its subject's common name, or when that is empty its first URI
// SAN (a SPIFFE id, say). Its subject's organizational units are its
// groups. Verification is the caller's job.
func PrincipalFromCert(cert *x509.Certificate) (Principal, error) {
	name := cert.Subject.CommonName
	if name == "" && len(cert.URIs) > 0 {
		name = cert.URIs[0].String()
	}
	if err := checkCertName("principal", name); err != nil {
		return Principal{}, fmt.Errorf("%w: client certificate: %w", ErrUnauthenticated, err)
	}
	var groups []string
	for _, ou := range cert.Subject.OrganizationalUnit {
		if checkCertName("group", ou) == nil && len(groups) < MaxGroups {
			groups = append(groups, ou)
		}
	}
	return Principal{Name: name, Groups: groups, Method: MethodMTLS}, nil
}

// checkCertName accepts any printable name up to MaxNameBytes: a
// certificate's names were vetted by the CA that signed it.
func checkCertName(what, s string) error {
	if s == "" {
		return fmt.Errorf("no %s name (neither a common name nor a URI SAN)", what)
	}
	if len(s) > MaxNameBytes {
		return fmt.Errorf("%s name of %d bytes, above the limit of %d", what, len(s), MaxNameBytes)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("%s name %q holds a non-printable character", what, s)
		}
	}
	return nil
}
