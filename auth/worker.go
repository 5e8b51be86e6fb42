package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// TopologySecretBytes is the size of a topology's secret.
const TopologySecretBytes = 32

// NewTopologySecret returns a new random topology secret. nimbus makes one
// at submission and stores it where only the cluster's daemons read it;
// the supervisor hands it to the topology's workers in a 0600 file.
func NewTopologySecret() ([]byte, error) {
	b := make([]byte, TopologySecretBytes)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("new topology secret: %w", err)
	}
	return b, nil
}

// EncodeSecret returns secret as text (hex), for ZooKeeper and files.
func EncodeSecret(secret []byte) string { return hex.EncodeToString(secret) }

// ParseSecret reads a secret EncodeSecret wrote.
func ParseSecret(s string) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("topology secret: %w", err)
	}
	if len(b) != TopologySecretBytes {
		return nil, fmt.Errorf("topology secret of %d bytes, want %d", len(b), TopologySecretBytes)
	}
	return b, nil
}

// WriteSecretFile writes secret to path with mode 0600, owned by uid:gid
// (-1 keeps the writer's), replacing any file there atomically: the
// secret is never readable by anyone else, not even for a moment.
func WriteSecretFile(path string, secret []byte, uid, gid int) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write secret: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename, a no-op
	// CreateTemp makes the file 0600 already; Chmod guards against a
	// umask-free surprise on exotic file systems.
	err = f.Chmod(0o600)
	if err == nil && (uid >= 0 || gid >= 0) {
		err = f.Chown(uid, gid)
	}
	if err == nil {
		_, err = f.WriteString(EncodeSecret(secret) + "\n")
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("write secret %s: %w", path, err)
	}
	return nil
}

// ReadTopologySecret reads a secret file WriteSecretFile wrote, refusing
// one that group or others can read.
func ReadTopologySecret(path string) ([]byte, error) {
	data, err := ReadSecretFile(path, 4*TopologySecretBytes)
	if err != nil {
		return nil, fmt.Errorf("topology secret: %w", err)
	}
	return ParseSecret(string(data))
}

// The worker handshake. Before a worker sends tuples to another, both
// prove they hold the topology's secret, without sending it:
//
//	dialer → acceptor: hello  = "squall-transfer-2\x00" | len(id) uint16 | storm id | nonceD[32]
//	acceptor → dialer: nonceA[32] | HMAC(K, "acceptor" | binding | hello | nonceA)
//	dialer → acceptor: HMAC(K, "dialer" | binding | hello | nonceA)
//	acceptor → dialer: 'A' (accepted)
//
// K = HMAC-SHA256(secret, "squall worker handshake v1" | storm id), so a
// key is good for one topology only. Fresh nonces on both sides make every
// transcript new: a recorded handshake replayed fails, and the two labels
// keep one side's answer from serving as the other's. binding is the TLS
// connection's exported keying material when the connection is TLS (empty
// otherwise), which ties the proof to this TLS session: a relay cannot
// pass it on. Without TLS an active man in the middle could still relay
// the handshake and then the data; the handshake keeps out everyone else.
const (
	helloMagic     = "squall-transfer-2\x00"
	nonceBytes     = 32
	macBytes       = sha256.Size
	acceptByte     = 'A'
	maxStormIDLen  = 1024
	tlsExportLabel = "EXPORTER-squall-worker-handshake"
	keyLabel       = "squall worker handshake v1\x00"
	labelAcceptor  = "acceptor\x00"
	labelDialer    = "dialer\x00"
)

// DefaultHandshakeTimeout bounds a worker handshake.
const DefaultHandshakeTimeout = 10 * time.Second

// handshakeKey derives the key of one topology from its secret.
func handshakeKey(secret []byte, stormID string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(keyLabel))
	m.Write([]byte(stormID))
	return m.Sum(nil)
}

func handshakeMAC(key []byte, label string, binding, hello, nonceA []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	var n [2]byte
	binary.BigEndian.PutUint16(n[:], uint16(len(binding)))
	m.Write(n[:])
	m.Write(binding)
	m.Write(hello)
	m.Write(nonceA)
	return m.Sum(nil)
}

// appendHello appends the dialer's hello.
func appendHello(b []byte, stormID string, nonce []byte) []byte {
	b = append(b, helloMagic...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(stormID)))
	b = append(b, stormID...)
	return append(b, nonce...)
}

// readHello reads a dialer's hello and returns it whole, with the storm id
// it names.
func readHello(r io.Reader) (hello []byte, stormID string, err error) {
	head := make([]byte, len(helloMagic)+2)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, "", err
	}
	if string(head[:len(helloMagic)]) != helloMagic {
		return nil, "", fmt.Errorf("not a squall worker hello: %q", head[:len(helloMagic)])
	}
	n := int(binary.BigEndian.Uint16(head[len(helloMagic):]))
	if n == 0 || n > maxStormIDLen {
		return nil, "", fmt.Errorf("storm id of %d bytes (1 to %d allowed)", n, maxStormIDLen)
	}
	rest := make([]byte, n+nonceBytes)
	if _, err := io.ReadFull(r, rest); err != nil {
		return nil, "", err
	}
	return append(head, rest...), string(rest[:n]), nil
}

// channelBinding returns the TLS exporter value of conn when it is a TLS
// connection (completing its handshake first), or nil.
func channelBinding(conn net.Conn) ([]byte, error) {
	tc, ok := conn.(*tls.Conn)
	if !ok {
		return nil, nil
	}
	if err := tc.Handshake(); err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	cs := tc.ConnectionState()
	b, err := cs.ExportKeyingMaterial(tlsExportLabel, nil, 32)
	if err != nil {
		return nil, fmt.Errorf("tls channel binding: %w", err)
	}
	return b, nil
}

func nonce() ([]byte, error) {
	b := make([]byte, nonceBytes)
	_, err := rand.Read(b)
	return b, err
}

// handshakeError wraps err in ErrHandshake; a cut connection reads as a
// truncated handshake.
func handshakeError(step string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("truncated: %w", err)
	}
	return fmt.Errorf("%w: %s: %w", ErrHandshake, step, err)
}

// DialHandshake runs the dialer's side of the handshake on conn, a new
// connection to a worker of topology stormID, before deadline. It fails
// with ErrHandshake when the peer does not prove it holds secret (or
// refuses the proof of this side). The deadline is cleared on success.
func DialHandshake(conn net.Conn, secret []byte, stormID string, deadline time.Time) error {
	if len(stormID) == 0 || len(stormID) > maxStormIDLen {
		return fmt.Errorf("%w: storm id of %d bytes", ErrHandshake, len(stormID))
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return handshakeError("set deadline", err)
	}
	binding, err := channelBinding(conn)
	if err != nil {
		return handshakeError("start", err)
	}
	nd, err := nonce()
	if err != nil {
		return handshakeError("nonce", err)
	}
	key := handshakeKey(secret, stormID)
	hello := appendHello(nil, stormID, nd)
	if _, err := conn.Write(hello); err != nil {
		return handshakeError("send hello", err)
	}
	reply := make([]byte, nonceBytes+macBytes)
	if _, err := io.ReadFull(conn, reply); err != nil {
		return handshakeError("read challenge", err)
	}
	nonceA, macA := reply[:nonceBytes], reply[nonceBytes:]
	if !hmac.Equal(macA, handshakeMAC(key, labelAcceptor, binding, hello, nonceA)) {
		return fmt.Errorf("%w: the peer does not hold the secret of %s", ErrHandshake, stormID)
	}
	if _, err := conn.Write(handshakeMAC(key, labelDialer, binding, hello, nonceA)); err != nil {
		return handshakeError("send proof", err)
	}
	var verdict [1]byte
	if _, err := io.ReadFull(conn, verdict[:]); err != nil {
		return handshakeError("read verdict", err)
	}
	if verdict[0] != acceptByte {
		return fmt.Errorf("%w: the peer refused this worker's proof", ErrHandshake)
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return handshakeError("clear deadline", err)
	}
	return nil
}

// AcceptHandshake runs the accepting side of the handshake on conn, a
// connection a worker of topology stormID accepted, before deadline. It
// returns the dialer's principal (a worker of stormID, MethodWorkerSecret)
// or an error wrapping ErrHandshake: a peer without the secret, of
// another topology, replaying an old handshake or cutting it short. The
// caller closes conn on error and logs the refusal. The deadline is
// cleared on success.
func AcceptHandshake(conn net.Conn, secret []byte, stormID string, deadline time.Time) (Principal, error) {
	if err := conn.SetDeadline(deadline); err != nil {
		return Principal{}, handshakeError("set deadline", err)
	}
	binding, err := channelBinding(conn)
	if err != nil {
		return Principal{}, handshakeError("start", err)
	}
	hello, peerID, err := readHello(conn)
	if err != nil {
		return Principal{}, handshakeError("read hello", err)
	}
	if peerID != stormID {
		return Principal{}, fmt.Errorf("%w: the peer is a worker of %q, not of %s", ErrHandshake, peerID, stormID)
	}
	nonceA, err := nonce()
	if err != nil {
		return Principal{}, handshakeError("nonce", err)
	}
	key := handshakeKey(secret, stormID)
	challenge := append(nonceA, handshakeMAC(key, labelAcceptor, binding, hello, nonceA)...)
	if _, err := conn.Write(challenge); err != nil {
		return Principal{}, handshakeError("send challenge", err)
	}
	proof := make([]byte, macBytes)
	if _, err := io.ReadFull(conn, proof); err != nil {
		return Principal{}, handshakeError("read proof", err)
	}
	if !hmac.Equal(proof, handshakeMAC(key, labelDialer, binding, hello, nonceA)) {
		return Principal{}, fmt.Errorf("%w: the peer's proof is wrong: it does not hold the secret of %s, or replays an old handshake", ErrHandshake, stormID)
	}
	if _, err := conn.Write([]byte{acceptByte}); err != nil {
		return Principal{}, handshakeError("send verdict", err)
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return Principal{}, handshakeError("clear deadline", err)
	}
	remote := ""
	if a := conn.RemoteAddr(); a != nil {
		remote = a.String()
	}
	return Principal{Name: WorkerPrincipalName(stormID), Method: MethodWorkerSecret, Via: ViaDirect, Remote: remote}, nil
}

// WorkerTLSFromConfig reads storm.messaging.netty.tls.*: whether workers
// talk TLS to each other, and with which files.
func WorkerTLSFromConfig(conf map[string]any) (PeerTLS, bool, error) {
	var p PeerTLS
	on, err := confBool(conf, KeyWorkerTLSEnable, false)
	if err != nil || !on {
		return p, false, err
	}
	for _, f := range []struct {
		key string
		dst *string
	}{
		{KeyWorkerTLSCert, &p.CertFile},
		{KeyWorkerTLSKey, &p.KeyFile},
		{KeyWorkerTLSCA, &p.CAFile},
	} {
		if *f.dst, err = confString(conf, f.key); err != nil {
			return p, false, err
		}
	}
	minVer, err := confString(conf, KeyTLSMinVersion)
	if err != nil {
		return p, false, err
	}
	if p.MinVersion, err = ParseTLSVersion(minVer); err != nil {
		return p, false, err
	}
	if err := p.validate(); err != nil {
		return p, false, err
	}
	return p, true, nil
}
