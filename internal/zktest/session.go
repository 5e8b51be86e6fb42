package zktest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// SessionRecorder is a dialer for ZooKeeper clients (it has the signature of
// go-zookeeper's zk.Dialer) that records the session each connection is
// granted, so that a test can expire it with Server.ExpireSession. The zero
// value is ready to use; it is safe for concurrent use.
type SessionRecorder struct {
	mu     sync.Mutex
	id     int64 // last session granted, 0 if none
	passwd []byte
}

// Dial connects like net.DialTimeout and watches the connection's first
// reply, the server's answer to the client's connect request.
func (r *SessionRecorder) Dial(network, address string, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout(network, address, timeout)
	if err != nil {
		return nil, err
	}
	return &recordingConn{Conn: c, r: r}, nil
}

// Session returns the id and password of the last session granted, and
// whether there was one.
func (r *SessionRecorder) Session() (id int64, passwd []byte, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.id, bytes.Clone(r.passwd), r.id != 0
}

// recordingConn parses the first frame read from the server: the connect
// response, {int32 length, int32 protocolVersion, int32 timeOut,
// int64 sessionId, int32 passwdLength, passwd, [bool readOnly]}.
type recordingConn struct {
	net.Conn
	r *SessionRecorder

	mu   sync.Mutex
	buf  []byte // guarded by mu: bytes of the first frame read so far
	done bool   // guarded by mu: the first frame was parsed
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done || n == 0 {
		return n, err
	}
	c.buf = append(c.buf, p[:n]...)
	if len(c.buf) < 4 {
		return n, err
	}
	size := int(binary.BigEndian.Uint32(c.buf))
	if len(c.buf) < 4+size {
		return n, err
	}
	frame := c.buf[4 : 4+size]
	c.done, c.buf = true, nil
	if len(frame) >= 20 {
		id := int64(binary.BigEndian.Uint64(frame[8:16]))
		plen := int(int32(binary.BigEndian.Uint32(frame[16:20])))
		if id != 0 && plen >= 0 && len(frame) >= 20+plen {
			c.r.mu.Lock()
			c.r.id, c.r.passwd = id, bytes.Clone(frame[20:20+plen])
			c.r.mu.Unlock()
		}
	}
	return n, err
}

// ExpireSession ends session id at once, as if it had expired: it connects
// with the session's id and password, which moves the session to this
// connection, and closes it. ZooKeeper deletes the session's ephemeral nodes
// and drops its other connections; the client, reconnecting, learns that its
// session expired. This is how ZooKeeper's and Curator's tests expire
// sessions. A client that reconnects at once can take the session back
// before it is closed, so ExpireSession tries again until the server
// answers that the session is gone.
func (s *Server) ExpireSession(id int64, passwd []byte) error {
	var last error
	for attempt := 0; attempt < 50; attempt++ {
		closed, err := s.closeSession(id, passwd)
		switch {
		case closed:
			return nil
		case errors.Is(err, errNoSession) && attempt > 0:
			return nil // an earlier attempt closed it, unanswered
		case errors.Is(err, errNoSession):
			return fmt.Errorf("expire session %#x: %w", id, err)
		}
		last = err
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("expire session %#x: %w", id, last)
}

// closeSession makes one attempt at ExpireSession. It reports whether the
// server confirmed closing the session; errNoSession means the server no
// longer knows it.
func (s *Server) closeSession(id int64, passwd []byte) (bool, error) {
	c, err := net.DialTimeout("tcp", s.Addr(), 5*time.Second)
	if err != nil {
		return false, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))

	// Connect request {protocolVersion, lastZxidSeen, timeOut, sessionId,
	// passwd}, then at once, in the same write, the close-session request
	// {xid, type=-11}: the less time between them, the less chance for the
	// client to take the session back.
	var req bytes.Buffer
	_ = binary.Write(&req, binary.BigEndian, int32(0))
	_ = binary.Write(&req, binary.BigEndian, int64(0))
	_ = binary.Write(&req, binary.BigEndian, int32(10000))
	_ = binary.Write(&req, binary.BigEndian, id)
	_ = binary.Write(&req, binary.BigEndian, int32(len(passwd)))
	req.Write(passwd)
	var closeReq bytes.Buffer
	_ = binary.Write(&closeReq, binary.BigEndian, int32(1))
	_ = binary.Write(&closeReq, binary.BigEndian, int32(-11))
	out := appendFrame(nil, req.Bytes())
	out = appendFrame(out, closeReq.Bytes())
	if _, err := c.Write(out); err != nil {
		return false, fmt.Errorf("send: %w", err)
	}

	// Connect response {protocolVersion, timeOut, sessionId, passwd}.
	resp, err := readFrame(c)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	if len(resp) < 16 {
		return false, fmt.Errorf("short connect response (%d bytes)", len(resp))
	}
	if got := int64(binary.BigEndian.Uint64(resp[8:16])); got != id {
		return false, errNoSession
	}
	// The close reply header is {xid, zxid, err}; watch events (xid -1)
	// may come first.
	for {
		reply, err := readFrame(c)
		if err != nil {
			return false, fmt.Errorf("close: %w", err)
		}
		if len(reply) < 16 {
			return false, fmt.Errorf("short close reply (%d bytes)", len(reply))
		}
		if int32(binary.BigEndian.Uint32(reply[0:4])) != 1 {
			continue
		}
		if code := int32(binary.BigEndian.Uint32(reply[12:16])); code != 0 {
			return false, fmt.Errorf("close: zookeeper error %d", code)
		}
		return true, nil
	}
}

var errNoSession = errors.New("the server does not know the session (expired already?)")

func appendFrame(b, payload []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	return append(b, payload...)
}

func readFrame(r io.Reader) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n > 1<<20 {
		return nil, fmt.Errorf("frame of %d bytes", n)
	}
	buf := make([]byte, n)
	_, err := io.ReadFull(r, buf)
	return buf, err
}
