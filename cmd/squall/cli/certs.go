package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/auth/devpki"
)

type certsOptions struct {
	dir     string
	hosts   []string
	clients []string
	days    int
	force   bool
}

// newCertsCmd makes a development CA and the certificates a TLS cluster
// needs, with crypto/x509 (no openssl).
func newCertsCmd() *cobra.Command {
	var o certsOptions
	cmd := &cobra.Command{
		Use:   "certs",
		Short: "Make a development CA, a server certificate and client certificates for TLS",
		Long: `Make a development certificate authority and the certificates a squall
cluster needs for TLS and mutual TLS, in --dir:

  ca.pem, ca-key.pem             the CA (reused if it is already there)
  server.pem, server-key.pem     nimbus's gRPC and REST certificate, for --host
                                 names; also nimbus's client certificate
                                 (principal "nimbus", for nimbus.daemon.users)
  worker.pem, worker-key.pem     the workers' certificate for TLS between them
                                 (principal "squall-worker", which is granted
                                 nothing: workers run topology code, so they
                                 must never hold nimbus's key)
  client-NAME.pem, -key.pem      one per --client NAME[:GROUP,...]: the
                                 principal NAME, in those groups

Keys are ECDSA P-256, written 0600. It prints the configuration keys that
use them. For production, use your organisation's CA; docs/security.md
shows the equivalent openssl commands.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCerts(cmd.OutOrStdout(), o, time.Now())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dir, "dir", "squall-certs", "`directory` to write the files to (created 0700 if missing)")
	f.StringArrayVar(&o.hosts, "host", nil, "DNS `name` or IP address the server certificate is valid for (repeatable; default localhost, 127.0.0.1, ::1 and this host's name)")
	f.StringArrayVar(&o.clients, "client", nil, "client certificate to make, `NAME[:GROUP,GROUP]` (repeatable)")
	f.IntVar(&o.days, "days", 365, "validity of new certificates, in `days`")
	f.BoolVar(&o.force, "force", false, "replace existing server and client certificates (the CA is always reused)")
	return cmd
}

func runCerts(out io.Writer, o certsOptions, now time.Time) error {
	if o.days < 1 {
		return fmt.Errorf("--days %d: must be at least 1", o.days)
	}
	validFor := time.Duration(o.days) * 24 * time.Hour
	type client struct {
		name   string
		groups []string
	}
	var clients []client
	for _, c := range o.clients {
		name, groups, _ := strings.Cut(c, ":")
		var gs []string
		if groups != "" {
			gs = strings.Split(groups, ",")
		}
		// The same rules as token files, so names work in both.
		if _, err := auth.TokenLine("x", name, gs); err != nil {
			return fmt.Errorf("--client %q: %w", c, err)
		}
		clients = append(clients, client{name, gs})
	}
	hosts := o.hosts
	if len(hosts) == 0 {
		hosts = []string{"localhost", "127.0.0.1", "::1"}
		if h, err := os.Hostname(); err == nil && h != "" && h != "localhost" {
			hosts = append(hosts, h)
		}
	}
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("certs: %w", err)
	}

	ca, reused, err := loadOrMakeCA(dir, now)
	if err != nil {
		return err
	}
	caPath := filepath.Join(dir, "ca.pem")
	if reused {
		fmt.Fprintf(out, "using the CA in %s\n", caPath)
	} else {
		fmt.Fprintf(out, "made a CA: %s (its key, ca-key.pem, signs certificates: keep it safe)\n", caPath)
	}
	write := func(name string, req devpki.Request) (string, string, error) {
		req.ValidFor = validFor
		is, err := ca.Issue(req, now)
		if err != nil {
			return "", "", err
		}
		cert, key, err := devpki.WritePair(dir, name, is, o.force)
		if errors.Is(err, os.ErrExist) {
			return "", "", fmt.Errorf("certs: %s.pem or %s-key.pem exists in %s; pass --force to replace it", name, name, dir)
		}
		if err != nil {
			return "", "", fmt.Errorf("certs: %w", err)
		}
		fmt.Fprintf(out, "wrote %s and %s\n", cert, key)
		return cert, key, nil
	}
	serverCert, serverKey, err := write("server", devpki.Request{CommonName: "nimbus", Hosts: hosts, Server: true, Client: true})
	if err != nil {
		return err
	}
	workerCert, workerKey, err := write("worker", devpki.Request{CommonName: "squall-worker", Hosts: hosts, Server: true, Client: true})
	if err != nil {
		return err
	}
	clientFiles := map[string][2]string{}
	for _, c := range clients {
		cert, key, err := write("client-"+c.name, devpki.Request{CommonName: c.name, Groups: c.groups, Client: true})
		if err != nil {
			return err
		}
		clientFiles[c.name] = [2]string{cert, key}
	}

	fmt.Fprintf(out, "\n# nimbus: gRPC and REST over TLS, client certificates verified (squall.yaml)\n")
	for _, kv := range [][2]string{
		{auth.KeyNimbusTLSCert, serverCert}, {auth.KeyNimbusTLSKey, serverKey}, {auth.KeyNimbusTLSCA, caPath},
		{auth.KeyUIHTTPSCert, serverCert}, {auth.KeyUIHTTPSKey, serverKey}, {auth.KeyUIHTTPSCA, caPath},
		{auth.KeyWorkerTLSEnable, "true"}, {auth.KeyWorkerTLSCert, workerCert}, {auth.KeyWorkerTLSKey, workerKey}, {auth.KeyWorkerTLSCA, caPath},
		{auth.KeyNimbusDaemonUsers, "[nimbus]"},
	} {
		fmt.Fprintf(out, "%s: %s\n", kv[0], kv[1])
	}
	for _, c := range clients {
		files := clientFiles[c.name]
		fmt.Fprintf(out, "\n# client %s (the CLI's squall.yaml)\n", c.name)
		for _, kv := range [][2]string{
			{auth.KeyClientUseTLS, "true"}, {auth.KeyClientTLSCA, caPath},
			{auth.KeyClientTLSCert, files[0]}, {auth.KeyClientTLSKey, files[1]},
		} {
			fmt.Fprintf(out, "%s: %s\n", kv[0], kv[1])
		}
	}
	fmt.Fprintf(out, "\n# curl, as a client: curl --cacert %s --cert CLIENT.pem --key CLIENT-key.pem https://localhost:8080/api/v1/cluster/summary\n", caPath)
	return nil
}

// loadOrMakeCA reuses dir's CA, or makes one (valid ten years).
func loadOrMakeCA(dir string, now time.Time) (*devpki.CA, bool, error) {
	certPath, keyPath := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem")
	certPEM, certErr := os.ReadFile(certPath)
	keyPEM, keyErr := os.ReadFile(keyPath)
	switch {
	case certErr == nil && keyErr == nil:
		ca, err := devpki.LoadCA(certPEM, keyPEM)
		if err != nil {
			return nil, false, fmt.Errorf("certs: the CA in %s: %w", dir, err)
		}
		return ca, true, nil
	case errors.Is(certErr, os.ErrNotExist) && errors.Is(keyErr, os.ErrNotExist):
	case certErr != nil && !errors.Is(certErr, os.ErrNotExist):
		return nil, false, fmt.Errorf("certs: %w", certErr)
	case keyErr != nil && !errors.Is(keyErr, os.ErrNotExist):
		return nil, false, fmt.Errorf("certs: %w", keyErr)
	default:
		return nil, false, fmt.Errorf("certs: %s has one of ca.pem and ca-key.pem but not the other", dir)
	}
	ca, err := devpki.NewCA("squall development CA", now, 10*365*24*time.Hour)
	if err != nil {
		return nil, false, err
	}
	if err := devpki.WriteFile(keyPath, ca.KeyPEM, 0o600, false); err != nil {
		return nil, false, fmt.Errorf("certs: %w", err)
	}
	if err := devpki.WriteFile(certPath, ca.CertPEM, 0o644, false); err != nil {
		return nil, false, fmt.Errorf("certs: %w", err)
	}
	return ca, false, nil
}
