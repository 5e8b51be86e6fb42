package drpcload

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"syscall"
)

// Bounds of a response the plain client reads.
const (
	maxLineBytes   = 4 << 10  // the status line and each header line
	maxHeaderBytes = 64 << 10 // all header lines together
	maxBodyBytes   = 16 << 20
)

// errResponse: the server's answer is not HTTP/1.1 as the plain client
// reads it.
var errResponse = errors.New("drpcload: malformed response")

// plainClient is one client's keep-alive connection to a plain-HTTP
// server, speaking just what a DRPC call needs: the one request, written
// whole, and a response read with a status line, headers and a body of a
// Content-Length or chunked. It spends a fraction of the CPU of
// net/http's client (no goroutines per connection, no request objects),
// which matters when the load generator shares the server's CPUs. It is
// not safe for concurrent use: it belongs to one client goroutine.
type plainClient struct {
	addr string
	// req is the whole request, written for every call.
	req  []byte
	conn net.Conn
	r    *bufio.Reader
	// stop undoes the closing of conn when the run's context ends.
	stop func() bool
}

// newPlainClient returns a client that posts args to target, a parsed
// http URL.
func newPlainClient(target *url.URL, args string) *plainClient {
	addr := target.Host
	if target.Port() == "" {
		addr = net.JoinHostPort(target.Hostname(), "80")
	}
	var req bytes.Buffer
	fmt.Fprintf(&req, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: squall-drpc-bench\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n\r\n%s",
		target.RequestURI(), target.Host, len(args), args)
	return &plainClient{addr: addr, req: req.Bytes()}
}

// call makes one request and returns the response's status and body. A
// request on a reused connection that the server had closed (idle) is
// made again, once, on a new connection.
func (c *plainClient) call(ctx context.Context) (int, []byte, error) {
	reused := c.conn != nil
	code, body, err := c.try(ctx)
	if err != nil && reused && ctx.Err() == nil &&
		(errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)) {
		code, body, err = c.try(ctx)
	}
	return code, body, err
}

func (c *plainClient) try(ctx context.Context) (int, []byte, error) {
	if c.conn == nil {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", c.addr)
		if err != nil {
			return 0, nil, err
		}
		c.conn, c.r = conn, bufio.NewReaderSize(conn, maxLineBytes)
		c.stop = context.AfterFunc(ctx, func() { conn.Close() })
	}
	if _, err := c.conn.Write(c.req); err != nil {
		c.close()
		return 0, nil, err
	}
	code, body, keep, err := readResponse(c.r)
	if err != nil || !keep {
		c.close()
	}
	return code, body, err
}

func (c *plainClient) close() {
	if c.conn != nil {
		c.stop()
		c.conn.Close()
		c.conn, c.r = nil, nil
	}
}

// readResponse reads one HTTP/1.x response from r: its status, its body,
// and whether the connection may carry another request.
func readResponse(r *bufio.Reader) (code int, body []byte, keepAlive bool, err error) {
	line, err := readLine(r)
	if err != nil {
		return 0, nil, false, err
	}
	// HTTP/1.1 200 OK
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, nil, false, fmt.Errorf("%w: status line %.80q", errResponse, line)
	}
	keepAlive = line[7] == '1'
	code, err = strconv.Atoi(string(line[9:12]))
	if err != nil || code < 100 {
		return 0, nil, false, fmt.Errorf("%w: status line %.80q", errResponse, line)
	}
	length, chunked := -1, false
	for total := 0; ; {
		line, err := readLine(r)
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return 0, nil, false, err
		}
		if len(line) == 0 {
			break
		}
		if total += len(line); total > maxHeaderBytes {
			return 0, nil, false, fmt.Errorf("%w: more than %d bytes of headers", errResponse, maxHeaderBytes)
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, nil, false, fmt.Errorf("%w: header %.80q", errResponse, line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.Atoi(string(value))
			if err != nil || n < 0 {
				return 0, nil, false, fmt.Errorf("%w: Content-Length %.80q", errResponse, value)
			}
			length = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
			if !chunked {
				return 0, nil, false, fmt.Errorf("%w: Transfer-Encoding %.80q", errResponse, value)
			}
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(value, []byte("close")) {
				keepAlive = false
			}
		}
	}
	switch {
	case code == 204 || code == 304 || code < 200:
		return code, nil, keepAlive, nil
	case chunked:
		body, err = readChunked(r)
	case length > maxBodyBytes:
		return 0, nil, false, fmt.Errorf("%w: a body of %d bytes, more than %d", errResponse, length, maxBodyBytes)
	case length >= 0:
		body = make([]byte, length)
		_, err = io.ReadFull(r, body)
	default: // the body ends with the connection
		body, err = io.ReadAll(io.LimitReader(r, maxBodyBytes+1))
		if err == nil && len(body) > maxBodyBytes {
			err = fmt.Errorf("%w: a body of more than %d bytes", errResponse, maxBodyBytes)
		}
		keepAlive = false
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return code, body, keepAlive && err == nil, err
}

// readChunked reads a chunked body and its trailer.
func readChunked(r *bufio.Reader) ([]byte, error) {
	var body []byte
	for {
		line, err := readLine(r)
		if err != nil {
			return nil, err
		}
		size, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseUint(string(bytes.TrimSpace(size)), 16, 32)
		if err != nil {
			return nil, fmt.Errorf("%w: chunk size %.80q", errResponse, line)
		}
		if n == 0 {
			for { // the trailer, up to an empty line
				line, err := readLine(r)
				if err != nil {
					return nil, err
				}
				if len(line) == 0 {
					return body, nil
				}
			}
		}
		if len(body)+int(n) > maxBodyBytes {
			return nil, fmt.Errorf("%w: a body of more than %d bytes", errResponse, maxBodyBytes)
		}
		start := len(body)
		body = append(body, make([]byte, n)...)
		if _, err := io.ReadFull(r, body[start:]); err != nil {
			return nil, err
		}
		if crlf, err := readLine(r); err != nil || len(crlf) != 0 {
			return nil, fmt.Errorf("%w: no CRLF after a chunk", errResponse)
		}
	}
}

// readLine returns the next line without its CRLF (or LF); the slice is
// valid until the next read.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("%w: a line of more than %d bytes", errResponse, maxLineBytes)
	}
	if err != nil {
		return nil, err
	}
	line = bytes.TrimSuffix(line[:len(line)-1], []byte("\r"))
	return line, nil
}
