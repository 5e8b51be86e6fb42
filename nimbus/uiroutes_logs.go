package nimbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/logviewer"
)

// The log proxy: GET /api/v1/logviewer/log?host=H&file=F&start=S&length=L
// is answered as the logviewer of the supervisor on host H answers
// /api/v1/log?file=F&start=S&length=L, so that a browser reaches the logs
// through nimbus alone. Only live supervisors' hosts are reached (no
// request goes anywhere else), only worker logs' names are passed on, and
// answers are cut at maxLogProxyBytes.

// LogProxyPath is where nimbus proxies the supervisors' logviewers.
const LogProxyPath = "/api/v1/logviewer/"

// Limits of the log proxy.
const (
	// maxLogPageBytes is the most a page may ask for: Storm's logviewer's
	// cap, and squall's (logviewer.Config.MaxPageBytes).
	maxLogPageBytes = 10 << 20
	// maxLogProxyBytes bounds what the proxy copies of an answer: a page
	// and room for an error body.
	maxLogProxyBytes = maxLogPageBytes + 64<<10
	// logProxyTimeout bounds one request to a logviewer.
	logProxyTimeout = 30 * time.Second
)

// logProxyParams are the query parameters passed on to the logviewer:
// the page's and its filters.
var logProxyParams = []string{"file", "start", "length", "grep", "regex", "component", "task", "since"}

// logProxy returns the handler of LogProxyPath.
func (n *Nimbus) logProxy() http.Handler {
	client := &http.Client{
		Timeout: logProxyTimeout,
		// A logviewer answers pages, never redirects: following one would
		// reach an address nimbus did not choose.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if t := n.logViewerTransport(); t != nil {
		client.Transport = t
	}
	token := ""
	if f := n.cfg.Client.TokenFile; f != "" {
		tok, err := auth.ReadSecretFile(f, auth.MaxTokenBytes)
		if err != nil {
			n.log.Error("log proxy: nimbus's own token is unreadable; logviewers that authenticate will refuse it", "key", auth.KeyClientTokenFile, "err", err)
		}
		token = strings.TrimSpace(string(tok))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path))
			return
		}
		if r.URL.Path != LogProxyPath+"log" {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no API at %s: the log proxy serves %slog", r.URL.Path, LogProxyPath))
			return
		}
		target, err := n.logTarget(r.Context(), r.URL.Query())
		if err != nil {
			status := http.StatusBadRequest
			if errors.Is(err, ErrNotFound) {
				status = http.StatusNotFound
			} else if errors.Is(err, ErrUnavailable) {
				status = http.StatusServiceUnavailable
			}
			writeError(w, status, err.Error())
			return
		}
		req, err := http.NewRequestWithContext(r.Context(), r.Method, target, nil)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		if v := r.Header.Get("Accept"); v != "" {
			req.Header.Set("Accept", v)
		}
		// nimbus asks with its own token (the Guard took the caller's), on
		// behalf of the caller it authenticated.
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if p, ok := auth.FromContext(r.Context()); ok && !p.IsAnonymous() {
			auth.SetForwardedIdentity(req, p)
		}
		resp, err := client.Do(req)
		if err != nil {
			writeError(w, http.StatusBadGateway, fmt.Sprintf("logviewer of %s: %v", r.URL.Query().Get("host"), errors.Unwrap(err)))
			return
		}
		defer resp.Body.Close()
		for _, h := range []string{"Content-Type", "X-Log-Start", "X-Log-Length", "X-Log-File-Length", "X-Log-File-Id", "WWW-Authenticate"} {
			if v := resp.Header.Get(h); v != "" {
				w.Header().Set(h, v)
			}
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, io.LimitReader(resp.Body, maxLogProxyBytes))
	})
}

// logTarget checks a proxied request's parameters and returns the URL of
// the page on the logviewer of the supervisor on its host.
func (n *Nimbus) logTarget(ctx context.Context, q url.Values) (string, error) {
	host, file := q.Get("host"), q.Get("file")
	if host == "" {
		return "", invalidf("host: the supervisor host whose log to read is missing")
	}
	if _, err := logviewer.WorkerLogTopology(file); err != nil {
		return "", invalidf("file %q: %v", truncateRunes(file, 80), err)
	}
	for _, p := range []string{"start", "length"} {
		s := q.Get(p)
		if s == "" {
			continue
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 {
			return "", invalidf("%s %q: want a number of bytes", p, truncateRunes(s, 40))
		}
		if p == "length" && v > maxLogPageBytes {
			return "", invalidf("length %d: at most %d bytes a page", v, maxLogPageBytes)
		}
	}
	v := n.newView(ctx)
	sups, err := v.supervisors()
	if err != nil {
		return "", err
	}
	links := n.logLinks(v)
	addr := ""
	for _, s := range sups {
		if s.Host == host {
			addr = links.addr(s.ID, s.Host)
			break
		}
	}
	v.finish()
	if addr == "" {
		return "", notFoundf("no live supervisor on host %q", truncateRunes(host, 80))
	}
	out := url.Values{}
	for _, p := range logProxyParams {
		if s, ok := q[p]; ok {
			out[p] = s[:1]
		}
	}
	return links.scheme + "://" + addr + "/api/v1/log?" + out.Encode(), nil
}

// writeError answers with Storm's error body, as the REST API does.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(api.NewErrorBody(status, msg))
}

// truncateRunes cuts s to at most n bytes on a rune boundary, for quoting
// input in messages.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// keyLogViewerHTTPSCA is the CA bundle of the logviewers' HTTPS
// certificates (logviewer.https.ca.path), which the proxy verifies them
// against; unset, the system's roots.
const keyLogViewerHTTPSCA = "logviewer.https.ca.path"

// logViewerTransport returns the proxy's transport when the logviewers'
// CA or nimbus's client certificate is configured, nil otherwise. nimbus
// presents its own client certificate (nimbus.client.tls.cert.path and
// .key.path, re-read when they change), the identity it has towards the
// other daemons, so that a logviewer requiring client certificates
// (logviewer.https.ca.path on the supervisor) serves it.
func (n *Nimbus) logViewerTransport() http.RoundTripper {
	ca, _ := n.cfg.Cluster[keyLogViewerHTTPSCA].(string)
	own := n.cfg.Client.TLS
	if ca == "" && own.CertFile == "" {
		return nil
	}
	ct := auth.ClientTLS{CertFile: own.CertFile, KeyFile: own.KeyFile, CAFile: ca, MinVersion: own.MinVersion}
	cfg, err := ct.Config()
	if err != nil {
		n.log.Error("log proxy: TLS to the logviewers is unusable; their HTTPS will not verify or will refuse nimbus",
			"ca_key", keyLogViewerHTTPSCA, "ca", ca, "cert_key", auth.KeyClientTLSCert, "cert", own.CertFile, "err", err)
		return nil
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = cfg
	return t
}
