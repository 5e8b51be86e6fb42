package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseWorkerToken(t *testing.T) {
	secret := make([]byte, TopologySecretBytes)
	good, err := NewWorkerToken(secret, ServiceDRPC, "words-1-1", "alice", time.Unix(1800000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	mac := enc(make([]byte, 32))
	w := workerTokenPrefix + enc([]byte("w"))
	tests := []struct {
		name, token, wantID string
	}{
		{"good", good, "words-1-1"},
		{"empty", "", ""},
		{"a token file's token", "s3cr3t-token", ""},
		{"a version 1 token, without expiry", "squall-wt1." + enc([]byte("words-1-1")) + "." + mac, ""},
		{"no MAC", w + ".1800000000", ""},
		{"no expiry", w + "." + mac, ""},
		{"a part too many", w + ".1800000000." + mac + ".x", ""},
		{"storm id not base64", workerTokenPrefix + "w*rds.1800000000." + mac, ""},
		{"empty storm id", workerTokenPrefix + ".1800000000." + mac, ""},
		{"storm id too long", workerTokenPrefix + enc([]byte(strings.Repeat("x", maxStormIDLen+1))) + ".1800000000." + mac, ""},
		{"expiry not a number", w + ".soon." + mac, ""},
		{"expiry with a sign", w + ".+1800000000." + mac, ""},
		{"expiry with a leading zero", w + ".01800000000." + mac, ""},
		{"expiry zero", w + ".0." + mac, ""},
		{"expiry too large", w + ".99999999999999999999." + mac, ""},
		{"MAC not base64", w + ".1800000000.!!", ""},
		{"short MAC", w + ".1800000000." + enc(make([]byte, 31)), ""},
		{"long MAC", w + ".1800000000." + enc(make([]byte, 33)), ""},
		{"padded base64", workerTokenPrefix + base64.URLEncoding.EncodeToString([]byte("w")) + ".1800000000." + mac, ""},
		{"too long", workerTokenPrefix + strings.Repeat("A", MaxWorkerTokenBytes), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, exp, mac, err := ParseWorkerToken(tt.token)
			if tt.wantID == "" {
				if !errors.Is(err, ErrBadWorkerToken) {
					t.Errorf("ParseWorkerToken(%.40q) = %q, %v; want ErrBadWorkerToken", tt.token, id, err)
				}
				return
			}
			if err != nil || id != tt.wantID || exp.Unix() != 1800000000 || len(mac) != 32 {
				t.Errorf("ParseWorkerToken(%.40q) = %q, %v, %d-byte MAC, %v; want %q, expiring at 1800000000", tt.token, id, exp, len(mac), err, tt.wantID)
			}
		})
	}
}

func TestVerifyWorkerToken(t *testing.T) {
	secrets := map[string][]byte{}
	owners := map[string]string{"words-1-1": "alice", "other-1-1": "bob", "anon-1-1": ""}
	for id := range owners {
		s, err := NewTopologySecret()
		if err != nil {
			t.Fatal(err)
		}
		secrets[id] = s
	}
	now := time.Unix(1800000000, 0)
	lookups := 0
	v := WorkerTokenVerifier{Service: ServiceDRPC, Now: func() time.Time { return now }, Keys: func(_ context.Context, id string) ([]byte, string, error) {
		lookups++
		s, ok := secrets[id]
		if !ok {
			return nil, "", errors.New("no such topology")
		}
		return s, owners[id], nil
	}}
	tokenUntil := func(secret []byte, service, id, owner string, expires time.Time) string {
		tok, err := NewWorkerToken(secret, service, id, owner, expires)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	token := func(secret []byte, service, id, owner string) string {
		return tokenUntil(secret, service, id, owner, now.Add(time.Hour))
	}
	good := token(secrets["words-1-1"], ServiceDRPC, "words-1-1", "alice")
	words := secrets["words-1-1"]
	// reason is what a refusal's error says; lookup whether the keys were
	// read for it (an expiry is judged without them).
	tests := []struct {
		name, token, want, reason string
		lookup                    bool
	}{
		{"its workers' token", good, "alice", "", true},
		{"forged: another key", token(make([]byte, 32), ServiceDRPC, "words-1-1", "alice"), "", "not a drpc token", true},
		{"another topology's secret", token(secrets["other-1-1"], ServiceDRPC, "words-1-1", "alice"), "", "not a drpc token", true},
		{"another topology's token", token(secrets["other-1-1"], ServiceDRPC, "other-1-1", "alice"), "", "not a drpc token", true},
		{"another owner", token(secrets["words-1-1"], ServiceDRPC, "words-1-1", "bob"), "", "not a drpc token", true},
		{"another service", token(secrets["words-1-1"], "nimbus", "words-1-1", "alice"), "", "not a drpc token", true},
		{"a topology without an owner", token(secrets["anon-1-1"], ServiceDRPC, "anon-1-1", ""), "", "has no owner", true},
		{"an unknown topology", token(secrets["words-1-1"], ServiceDRPC, "gone-1-1", "alice"), "", "no such topology", true},
		{"good for its whole life", tokenUntil(words, ServiceDRPC, "words-1-1", "alice", now.Add(DefaultWorkerTokenLife)), "alice", "", true},
		{"expired", tokenUntil(words, ServiceDRPC, "words-1-1", "alice", now), "", "expired at", false},
		{"expiring further ahead than its life", tokenUntil(words, ServiceDRPC, "words-1-1", "alice", now.Add(DefaultWorkerTokenLife+time.Hour)), "", "more than its life", false},
		{"one bit off", good[:len(good)-2] + map[bool]string{true: "B", false: "A"}[good[len(good)-2] == 'A'] + good[len(good)-1:], "", "not a drpc token", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookups = 0
			p, err := v.Verify(t.Context(), tt.token)
			if got := lookups > 0; got != tt.lookup {
				t.Errorf("Verify read the topology's keys: %v, want %v", got, tt.lookup)
			}
			if tt.want == "" {
				if !errors.Is(err, ErrUnauthenticated) {
					t.Errorf("Verify = %v, %v; want ErrUnauthenticated", p, err)
				}
				if err != nil && !strings.Contains(err.Error(), tt.reason) {
					t.Errorf("Verify's error %q does not say %q", err, tt.reason)
				}
				// Every refusal but the failed lookup's is the token's fault.
				if tt.reason != "no such topology" && !errors.Is(err, ErrBadWorkerToken) {
					t.Errorf("Verify = %v; want ErrBadWorkerToken", err)
				}
				return
			}
			if err != nil || p.Name != tt.want || p.Method != MethodWorkerToken || p.Topology != "words-1-1" {
				t.Errorf("Verify = %v, %v; want %s by %s, of words-1-1", p, err, tt.want, MethodWorkerToken)
			}
		})
	}
}

// A worker's token source makes a token good for its life, and a new one
// once half of it is gone: the token a verifier accepts at every moment.
func TestWorkerTokenSourceRenews(t *testing.T) {
	secret, err := NewTopologySecret()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1800000000, 0)
	clock := func() time.Time { return now }
	v := WorkerTokenVerifier{Service: ServiceDRPC, Now: clock, Life: 4 * time.Hour, Keys: func(context.Context, string) ([]byte, string, error) {
		return secret, "alice", nil
	}}
	src := &WorkerTokenSource{Secret: secret, Service: ServiceDRPC, StormID: "words-1-1", Owner: "alice", Life: 4 * time.Hour, Now: clock}
	var seen []string
	for _, step := range []time.Duration{0, time.Hour, time.Hour, 30 * time.Minute, 29 * time.Minute, time.Minute, 2 * time.Hour} {
		now = now.Add(step)
		tok, err := src.Token()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatalf("at %v: Verify(source's token) = %v", now.Sub(time.Unix(1800000000, 0)), err)
		}
		if len(seen) == 0 || seen[len(seen)-1] != tok {
			seen = append(seen, tok)
		}
	}
	// Made at 0, renewed at 2h (half of 4h), and at 4h.
	if len(seen) != 3 {
		t.Errorf("the source made %d tokens in 5 h of a 4 h life, want 3", len(seen))
	}
	// The first, kept, expires at 4h.
	now = time.Unix(1800000000, 0).Add(4 * time.Hour)
	if _, err := v.Verify(t.Context(), seen[0]); !errors.Is(err, ErrBadWorkerToken) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("Verify(first token) at its expiry = %v, want it refused as expired", err)
	}
}
