package prom

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// ScrapeTimeout bounds one scrape of a handler, and one read of a Remote.
const ScrapeTimeout = 10 * time.Second

// MaxExpositionBytes bounds the exposition a Remote reads.
const MaxExpositionBytes = 32 << 20

// Handler serves what g gathers at /metrics, in the text or protobuf
// format a scraper asks for. A failing part is left out rather than
// failing the scrape, and concurrent scrapes are bounded.
func Handler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             ScrapeTimeout,
	})
}

// Remote is a prometheus.Gatherer that reads another process's text
// exposition: with prometheus.Gatherers it lets one endpoint serve the
// metrics of processes that listen on loopback only, such as a node's
// workers behind its supervisor.
type Remote struct {
	// URL is the other process's /metrics.
	URL string
	// Client makes the request; nil means http.DefaultClient. The request
	// is bounded by ScrapeTimeout either way.
	Client *http.Client
	// MaxBytes bounds the exposition read; 0 means MaxExpositionBytes.
	MaxBytes int64
}

// Gather reads and parses the remote exposition.
func (r Remote) Gather() ([]*dto.MetricFamily, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ScrapeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("gather %s: %w", r.URL, err)
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	client := r.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("gather %s: %w", r.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("gather %s: %s", r.URL, resp.Status)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/plain" {
		return nil, fmt.Errorf("gather %s: content type %q, want text/plain", r.URL, mt)
	}
	limit := r.MaxBytes
	if limit <= 0 {
		limit = MaxExpositionBytes
	}
	counted := &countingReader{r: io.LimitReader(resp.Body, limit+1)}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(counted)
	if counted.n > limit {
		return nil, fmt.Errorf("gather %s: exposition larger than %d bytes", r.URL, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("gather %s: %w", r.URL, err)
	}
	out := make([]*dto.MetricFamily, 0, len(families))
	for _, f := range families {
		out = append(out, f)
	}
	return out, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
