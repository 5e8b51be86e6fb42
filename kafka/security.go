package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Kafka's security.protocol values.
const (
	protoPlaintext     = "PLAINTEXT"
	protoSSL           = "SSL"
	protoSASLPlaintext = "SASL_PLAINTEXT"
	protoSASLSSL       = "SASL_SSL"
)

// SASL mechanisms squall speaks.
const (
	mechPlain  = "PLAIN"
	mechSHA256 = "SCRAM-SHA-256"
	mechSHA512 = "SCRAM-SHA-512"
)

// security is a client's TLS and SASL settings, from Kafka's properties.
// It holds secrets: it is never logged.
type security struct {
	protocol string

	// TLS trust: a PEM file (ssl.truststore.location with
	// ssl.truststore.type=PEM) or inline PEM (ssl.truststore.certificates);
	// neither means the system's roots.
	caFile, caPEM string
	// The client's own certificate: a PEM file holding the certificate
	// chain and the private key (ssl.keystore.location with
	// ssl.keystore.type=PEM), or both inline
	// (ssl.keystore.certificate.chain, ssl.keystore.key).
	keystoreFile, certPEM, keyPEM string
	// noHostnameCheck is ssl.endpoint.identification.algorithm set empty:
	// the chain is still verified, the broker's name is not.
	noHostnameCheck bool
	minTLS          uint16

	mechanism, username, password string
	// jaasModule is the login module of sasl.jaas.config, if given.
	jaasModule string
}

func (s *security) usesTLS() bool { return s.protocol == protoSSL || s.protocol == protoSASLSSL }
func (s *security) usesSASL() bool {
	return s.protocol == protoSASLPlaintext || s.protocol == protoSASLSSL
}

// check reports settings that contradict each other or are missing.
func (s *security) check() error {
	if s.protocol == "" {
		s.protocol = protoPlaintext
	}
	tlsSet := s.caFile != "" || s.caPEM != "" || s.keystoreFile != "" || s.certPEM != "" || s.keyPEM != "" || s.noHostnameCheck || s.minTLS != 0
	saslSet := s.mechanism != "" || s.username != "" || s.password != ""
	switch {
	case tlsSet && !s.usesTLS():
		return fmt.Errorf("%w: ssl.* properties are set but security.protocol is %s (want SSL or SASL_SSL)", ErrConfig, s.protocol)
	case saslSet && !s.usesSASL():
		return fmt.Errorf("%w: SASL credentials are set but security.protocol is %s (want SASL_PLAINTEXT or SASL_SSL)", ErrConfig, s.protocol)
	case (s.certPEM == "") != (s.keyPEM == ""):
		return fmt.Errorf("%w: ssl.keystore.certificate.chain and ssl.keystore.key go together", ErrConfig)
	case s.keystoreFile != "" && s.certPEM != "":
		return fmt.Errorf("%w: ssl.keystore.location and ssl.keystore.certificate.chain both give the client certificate", ErrConfig)
	case s.caFile != "" && s.caPEM != "":
		return fmt.Errorf("%w: ssl.truststore.location and ssl.truststore.certificates both give the trusted certificates", ErrConfig)
	}
	if s.usesSASL() {
		switch mod := jaasModules[s.jaasModule]; {
		case s.jaasModule == "":
		case mod == mechPlain && s.mechanism == "":
			s.mechanism = mechPlain
		case mod == mechPlain && s.mechanism != mechPlain,
			mod == "" && s.mechanism != mechSHA256 && s.mechanism != mechSHA512:
			return fmt.Errorf("%w: sasl.jaas.config uses %s but sasl.mechanism is %q", ErrConfig, s.jaasModule, s.mechanism)
		}
		if s.mechanism == "" {
			// Kafka's default is GSSAPI, which squall does not speak.
			return fmt.Errorf("%w: security.protocol %s needs sasl.mechanism (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", ErrConfig, s.protocol)
		}
		if s.username == "" || s.password == "" {
			return fmt.Errorf("%w: security.protocol %s needs a username and password (sasl.jaas.config, or sasl.username and sasl.password)", ErrConfig, s.protocol)
		}
	}
	return nil
}

// saslMechanism returns the SASL mechanism to authenticate with, nil
// without SASL.
func (s *security) saslMechanism() sasl.Mechanism {
	if !s.usesSASL() {
		return nil
	}
	switch s.mechanism {
	case mechSHA256:
		return scram.Auth{User: s.username, Pass: s.password}.AsSha256Mechanism()
	case mechSHA512:
		return scram.Auth{User: s.username, Pass: s.password}.AsSha512Mechanism()
	}
	return plain.Auth{User: s.username, Pass: s.password}.AsMechanism()
}

// tlsConfig returns the TLS configuration, reading the files it names
// (relative paths are taken in dir, the topology's resources), nil without
// TLS.
func (s *security) tlsConfig(dir string) (*tls.Config, error) {
	if !s.usesTLS() {
		return nil, nil
	}
	c := &tls.Config{MinVersion: max(s.minTLS, tls.VersionTLS12)}
	caPEM := []byte(s.caPEM)
	if s.caFile != "" {
		b, err := readPEMFile(dir, s.caFile, "ssl.truststore.location")
		if err != nil {
			return nil, err
		}
		caPEM = b
	}
	if len(caPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("%w: the trusted certificates hold no PEM certificate", ErrConfig)
		}
		c.RootCAs = pool
	}
	certPEM, keyPEM := []byte(s.certPEM), []byte(s.keyPEM)
	if s.keystoreFile != "" {
		b, err := readPEMFile(dir, s.keystoreFile, "ssl.keystore.location")
		if err != nil {
			return nil, err
		}
		certPEM, keyPEM = b, b
	}
	if len(certPEM) > 0 {
		if err := checkKeyNotEncrypted(keyPEM); err != nil {
			return nil, err
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("%w: client certificate and key: %v", ErrConfig, err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	if s.noHostnameCheck {
		// Verify the chain but not the name, as Kafka does with
		// ssl.endpoint.identification.algorithm empty.
		c.InsecureSkipVerify = true
		roots := c.RootCAs
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("kafka tls: the broker sent no certificate")
			}
			inter := x509.NewCertPool()
			for _, ic := range cs.PeerCertificates[1:] {
				inter.AddCert(ic)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
			return err
		}
	}
	return c, nil
}

// maxPEMFile bounds a certificate or key file.
const maxPEMFile = 1 << 20

func readPEMFile(dir, path, prop string) ([]byte, error) {
	if !filepath.IsAbs(path) && dir != "" {
		path = filepath.Join(dir, path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, prop, err)
	}
	if fi.Size() > maxPEMFile {
		return nil, fmt.Errorf("%w: %s: %s is larger than %d bytes", ErrConfig, prop, path, maxPEMFile)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, prop, err)
	}
	return b, nil
}

func checkKeyNotEncrypted(keyPEM []byte) error {
	for rest := keyPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return nil
		}
		if b.Type == "ENCRYPTED PRIVATE KEY" || b.Headers["Proc-Type"] != "" {
			return fmt.Errorf("%w: an encrypted private key (ssl.key.password); give squall the key unencrypted and protect the file instead", ErrUnsupported)
		}
	}
}

// JAAS login modules squall understands, and the mechanism each implies.
var jaasModules = map[string]string{
	"org.apache.kafka.common.security.plain.PlainLoginModule": mechPlain,
	"org.apache.kafka.common.security.scram.ScramLoginModule": "", // SCRAM-SHA-256 or -512, by sasl.mechanism
}

// maxJAAS bounds sasl.jaas.config.
const maxJAAS = 16 << 10

// parseJAAS reads Kafka's sasl.jaas.config, e.g.
//
//	org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="s3cret";
//
// and returns the module and its options. Values may be quoted (with \"
// and \\ escapes) or bare words.
func parseJAAS(s string) (module string, opts map[string]string, err error) {
	if len(s) > maxJAAS {
		return "", nil, fmt.Errorf("%w: sasl.jaas.config is longer than %d bytes", ErrConfig, maxJAAS)
	}
	bad := func(why string) error { return fmt.Errorf("%w: sasl.jaas.config: %s", ErrConfig, why) }
	p := strings.TrimSpace(s)
	word := func() string {
		i := strings.IndexFunc(p, func(r rune) bool { return unicode.IsSpace(r) || r == '=' || r == ';' })
		if i < 0 {
			i = len(p)
		}
		w := p[:i]
		p = strings.TrimLeftFunc(p[i:], unicode.IsSpace)
		return w
	}
	if module = word(); module == "" {
		return "", nil, bad("no login module")
	}
	switch flag := word(); flag {
	case "required", "requisite", "sufficient", "optional":
	default:
		return "", nil, bad(fmt.Sprintf("want a control flag (required) after %s, got %q", module, flag))
	}
	opts = map[string]string{}
	for p != "" && p[0] != ';' {
		key := word()
		if key == "" || p == "" || p[0] != '=' {
			return "", nil, bad(fmt.Sprintf("option %q has no value", key))
		}
		p = strings.TrimLeftFunc(p[1:], unicode.IsSpace)
		var val string
		if p != "" && p[0] == '"' {
			var b strings.Builder
			i := 1
			for ; i < len(p) && p[i] != '"'; i++ {
				if p[i] == '\\' && i+1 < len(p) {
					i++
				}
				b.WriteByte(p[i])
			}
			if i == len(p) {
				return "", nil, bad(fmt.Sprintf("the value of %s has no closing quote", key))
			}
			val, p = b.String(), strings.TrimLeftFunc(p[i+1:], unicode.IsSpace)
		} else {
			val = word()
		}
		opts[key] = val
	}
	if p != ";" {
		return "", nil, bad("want one login module ending with ';'")
	}
	return module, opts, nil
}

// setJAAS fills the SASL credentials from sasl.jaas.config.
func (s *security) setJAAS(v string) error {
	module, opts, err := parseJAAS(v)
	if err != nil {
		return err
	}
	if _, ok := jaasModules[module]; !ok {
		return fmt.Errorf("%w: sasl.jaas.config login module %s (squall speaks PLAIN and SCRAM: PlainLoginModule, ScramLoginModule; not Kerberos or OAUTHBEARER)", ErrUnsupported, module)
	}
	for k := range opts {
		if k != "username" && k != "password" {
			return fmt.Errorf("%w: sasl.jaas.config option %q of %s", ErrUnsupported, k, module)
		}
	}
	s.username, s.password, s.jaasModule = opts["username"], opts["password"], module
	return nil
}
