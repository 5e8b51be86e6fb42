package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestParseWorkerToken(t *testing.T) {
	secret := make([]byte, TopologySecretBytes)
	good, err := NewWorkerToken(secret, ServiceDRPC, "words-1-1", "alice")
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	mac := enc(make([]byte, 32))
	tests := []struct {
		name, token, wantID string
	}{
		{"good", good, "words-1-1"},
		{"empty", "", ""},
		{"a token file's token", "s3cr3t-token", ""},
		{"no MAC", workerTokenPrefix + enc([]byte("words-1-1")), ""},
		{"storm id not base64", workerTokenPrefix + "w*rds." + mac, ""},
		{"empty storm id", workerTokenPrefix + "." + mac, ""},
		{"storm id too long", workerTokenPrefix + enc([]byte(strings.Repeat("x", maxStormIDLen+1))) + "." + mac, ""},
		{"MAC not base64", workerTokenPrefix + enc([]byte("w")) + ".!!", ""},
		{"short MAC", workerTokenPrefix + enc([]byte("w")) + "." + enc(make([]byte, 31)), ""},
		{"long MAC", workerTokenPrefix + enc([]byte("w")) + "." + enc(make([]byte, 33)), ""},
		{"padded base64", workerTokenPrefix + base64.URLEncoding.EncodeToString([]byte("w")) + "." + mac, ""},
		{"too long", workerTokenPrefix + strings.Repeat("A", MaxWorkerTokenBytes), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, mac, err := ParseWorkerToken(tt.token)
			if tt.wantID == "" {
				if !errors.Is(err, ErrBadWorkerToken) {
					t.Errorf("ParseWorkerToken(%.40q) = %q, %v; want ErrBadWorkerToken", tt.token, id, err)
				}
				return
			}
			if err != nil || id != tt.wantID || len(mac) != 32 {
				t.Errorf("ParseWorkerToken(%.40q) = %q, %d-byte MAC, %v; want %q", tt.token, id, len(mac), err, tt.wantID)
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
	v := WorkerTokenVerifier{Service: ServiceDRPC, Keys: func(_ context.Context, id string) ([]byte, string, error) {
		s, ok := secrets[id]
		if !ok {
			return nil, "", errors.New("no such topology")
		}
		return s, owners[id], nil
	}}
	token := func(secret []byte, service, id, owner string) string {
		tok, err := NewWorkerToken(secret, service, id, owner)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := token(secrets["words-1-1"], ServiceDRPC, "words-1-1", "alice")
	tests := []struct {
		name, token, want string
	}{
		{"its workers' token", good, "alice"},
		{"forged: another key", token(make([]byte, 32), ServiceDRPC, "words-1-1", "alice"), ""},
		{"another topology's secret", token(secrets["other-1-1"], ServiceDRPC, "words-1-1", "alice"), ""},
		{"another topology's token", token(secrets["other-1-1"], ServiceDRPC, "other-1-1", "alice"), ""},
		{"another owner", token(secrets["words-1-1"], ServiceDRPC, "words-1-1", "bob"), ""},
		{"another service", token(secrets["words-1-1"], "nimbus", "words-1-1", "alice"), ""},
		{"a topology without an owner", token(secrets["anon-1-1"], ServiceDRPC, "anon-1-1", ""), ""},
		{"an unknown topology", token(secrets["words-1-1"], ServiceDRPC, "gone-1-1", "alice"), ""},
		{"one bit off", good[:len(good)-2] + map[bool]string{true: "B", false: "A"}[good[len(good)-2] == 'A'] + good[len(good)-1:], ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(t.Context(), tt.token)
			if tt.want == "" {
				if !errors.Is(err, ErrUnauthenticated) {
					t.Errorf("Verify = %v, %v; want ErrUnauthenticated", p, err)
				}
				return
			}
			if err != nil || p.Name != tt.want || p.Method != MethodWorkerToken {
				t.Errorf("Verify = %v, %v; want %s by %s", p, err, tt.want, MethodWorkerToken)
			}
		})
	}
}
