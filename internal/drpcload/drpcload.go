// Package drpcload is a load generator for DRPC's HTTP forms: a number of
// clients, each on its own keep-alive connection, call one function in a
// closed loop (one request at a time each) and the round trips are
// measured. With one client it measures latency at low load; with many,
// requests per second at saturation.
package drpcload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxSamples bounds the round trips a run keeps for its percentiles.
const maxSamples = 10_000_000

// Config describes a run.
type Config struct {
	// URL is the DRPC server's HTTP base, e.g. http://127.0.0.1:3774.
	URL string
	// Function and Args are what every request calls (POST, args as the
	// body).
	Function, Args string
	// Want, if set, is the expected result; any other answer counts as an
	// error.
	Want string
	// Clients is the number of concurrent clients.
	Clients int
	// Requests is the number of requests in all; if zero, the run lasts
	// Duration.
	Requests int
	Duration time.Duration
}

// Report is what a run measured.
type Report struct {
	Requests, Errors int
	// FirstError is the first error seen, if any.
	FirstError error
	Elapsed    time.Duration
	// PerSecond is successful requests per second.
	PerSecond          float64
	P50, P90, P99, Max time.Duration
}

func (r Report) String() string {
	s := fmt.Sprintf("%d requests in %v: %.0f req/s, round trip p50 %v p90 %v p99 %v max %v, %d errors",
		r.Requests, r.Elapsed.Round(time.Millisecond), r.PerSecond,
		r.P50.Round(time.Microsecond), r.P90.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Max.Round(time.Microsecond), r.Errors)
	if r.FirstError != nil {
		s += fmt.Sprintf(" (first: %v)", r.FirstError)
	}
	return s
}

// Run runs the load and reports. It returns an error only for a bad
// Config; failed requests are counted in the Report.
func Run(ctx context.Context, c Config) (Report, error) {
	if c.Clients < 1 {
		return Report{}, errors.New("drpcload: Clients must be at least 1")
	}
	if c.Requests <= 0 && c.Duration <= 0 {
		return Report{}, errors.New("drpcload: set Requests or Duration")
	}
	if c.Function == "" {
		return Report{}, errors.New("drpcload: no Function")
	}
	base, err := url.Parse(c.URL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return Report{}, fmt.Errorf("drpcload: URL %q: want http://host:port", c.URL)
	}
	target := strings.TrimSuffix(c.URL, "/") + "/drpc/" + url.PathEscape(c.Function)
	targetURL, err := url.Parse(target)
	if err != nil {
		return Report{}, fmt.Errorf("drpcload: URL %q: %w", target, err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: c.Clients, MaxConnsPerHost: c.Clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	// newCaller returns one client's way to make a request: a plain
	// connection of its own over http, net/http's client over https.
	newCaller := func() (call func(context.Context) (int, []byte, error), done func()) {
		if targetURL.Scheme == "http" {
			pc := newPlainClient(targetURL, c.Args)
			return pc.call, pc.close
		}
		return func(ctx context.Context) (int, []byte, error) { return httpCall(ctx, client, target, c.Args) }, func() {}
	}

	if c.Duration > 0 && c.Requests <= 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Duration)
		defer cancel()
	}
	var (
		left     atomic.Int64
		mu       sync.Mutex
		samples  []time.Duration
		errCount int
		firstErr error
		wg       sync.WaitGroup
	)
	left.Store(int64(c.Requests))
	start := time.Now()
	for range c.Clients {
		wg.Go(func() {
			do, done := newCaller()
			defer done()
			var mine []time.Duration
			var errs int
			var first error
			for ctx.Err() == nil {
				if c.Requests > 0 && left.Add(-1) < 0 {
					break
				}
				t0 := time.Now()
				code, body, err := do(ctx)
				err = check(code, body, err, c.Want)
				d := time.Since(t0)
				if err != nil {
					if ctx.Err() != nil {
						break // the run ended mid-request
					}
					errs++
					if first == nil {
						first = err
					}
					continue
				}
				if len(mine) < maxSamples/c.Clients {
					mine = append(mine, d)
				}
			}
			mu.Lock()
			samples = append(samples, mine...)
			errCount += errs
			if firstErr == nil {
				firstErr = first
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	r := Report{Requests: len(samples) + errCount, Errors: errCount, FirstError: firstErr, Elapsed: time.Since(start)}
	if len(samples) > 0 {
		slices.Sort(samples)
		at := func(p float64) time.Duration { return samples[min(len(samples)-1, int(p*float64(len(samples))))] }
		r.P50, r.P90, r.P99, r.Max = at(0.50), at(0.90), at(0.99), samples[len(samples)-1]
		r.PerSecond = float64(len(samples)) / r.Elapsed.Seconds()
	}
	return r, nil
}

// httpCall makes one request with net/http's client.
func httpCall(ctx context.Context, client *http.Client, target, args string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(args))
	if err != nil {
		return 0, nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	resp.Body.Close()
	return resp.StatusCode, body, err
}

// check returns a call's error: its own, a status other than 200, or an
// answer other than want (any answer when want is empty).
func check(code int, body []byte, err error, want string) error {
	switch {
	case err != nil:
		return err
	case code != http.StatusOK:
		return fmt.Errorf("%d %s: %s", code, http.StatusText(code), strings.TrimSpace(string(body)))
	case want != "" && string(body) != want:
		return fmt.Errorf("answer %.100q, want %.100q", body, want)
	}
	return nil
}
