package auth

import (
	"maps"
	"strings"

	"github.com/squallstream/squall/auth/zkacl"
)

// daemonOnlyKeys are the daemons' credentials, or the files holding
// them, that a worker never needs: nimbus's and the UI's private keys,
// the token file of the nimbus clients (a supervisor's own token), the
// daemons' ZooKeeper password.
var daemonOnlyKeys = []string{
	KeyTokensFile,
	KeyNimbusTLSKey,
	KeyUIHTTPSKey,
	KeyClientTLSCert,
	KeyClientTLSKey,
	KeyClientTokenFile,
	zkacl.KeyAuthScheme,
	zkacl.KeyAuthPayload,
}

// daemonOnlySuffixes catch the other daemons' key material by Storm's
// naming: private keys, keystores and their passwords, keytabs, token
// files (logviewer.https.key.path, drpc.https.keystore.password, ...).
var daemonOnlySuffixes = []string{
	".key.path", ".key.password", ".keystore.path", ".keystore.password",
	".truststore.password", ".keytab", ".token.file", ".tokens.file",
}

// workerKeys are key material workers do need: their own certificate's
// key, for TLS between workers.
var workerKeys = []string{KeyWorkerTLSKey}

// WorkerConfig returns the configuration a supervisor passes on to its
// workers: conf without the daemons' credentials (see daemonOnlyKeys and
// daemonOnlySuffixes). A worker runs a topology's code: whatever its
// configuration holds, that code may read. Values are shared, not copied.
func WorkerConfig(conf map[string]any) map[string]any {
	out := maps.Clone(conf)
	for k := range out {
		if IsDaemonOnlyKey(k) {
			delete(out, k)
		}
	}
	return out
}

// IsDaemonOnlyKey reports whether key names a daemon's credential that
// WorkerConfig removes.
func IsDaemonOnlyKey(key string) bool {
	for _, k := range workerKeys {
		if key == k {
			return false
		}
	}
	for _, k := range daemonOnlyKeys {
		if key == k {
			return true
		}
	}
	for _, s := range daemonOnlySuffixes {
		if strings.HasSuffix(key, s) {
			return true
		}
	}
	return false
}
