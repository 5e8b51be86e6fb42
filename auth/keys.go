package auth

// Configuration keys of the security layers. Where Storm has a key for the
// same thing, the name is Storm's; the others follow Storm's patterns and
// are marked squall. docs/security.md describes each.
const (
	// Authentication on nimbus's gRPC API and the REST gateway.

	// KeyTokensFile (squall) is the file of hashed bearer tokens nimbus
	// accepts (see ParseTokenFile for its format).
	KeyTokensFile = "nimbus.auth.tokens.file"

	// KeyNimbusTLSCert and KeyNimbusTLSKey (squall; Storm's
	// nimbus.thrift.tls.server.keystore.path as PEM files) are nimbus's
	// certificate chain and private key for gRPC.
	KeyNimbusTLSCert = "nimbus.tls.cert.path"
	KeyNimbusTLSKey  = "nimbus.tls.key.path"
	// KeyNimbusTLSCA (squall; Storm's nimbus.thrift.tls.server.truststore.path)
	// is the CA bundle client certificates are verified against. Setting
	// it turns on mutual TLS.
	KeyNimbusTLSCA = "nimbus.tls.ca.path"
	// KeyNimbusTLSClientAuthRequired (Storm's
	// nimbus.thrift.tls.client.auth.required) makes a client certificate
	// mandatory; otherwise a client may present a token instead.
	KeyNimbusTLSClientAuthRequired = "nimbus.tls.client.auth.required"

	// KeyUIHTTPSCert, KeyUIHTTPSKey and KeyUIHTTPSCA (squall; Storm's
	// ui.https.keystore.path and ui.https.truststore.path as PEM files)
	// put the REST API on HTTPS; with a CA, client certificates are
	// verified against it.
	KeyUIHTTPSCert = "ui.https.cert.path"
	KeyUIHTTPSKey  = "ui.https.key.path"
	KeyUIHTTPSCA   = "ui.https.ca.path"
	// KeyUIHTTPSNeedClientAuth and KeyUIHTTPSWantClientAuth are Storm's:
	// require a client certificate, or ask for one without requiring it.
	KeyUIHTTPSNeedClientAuth = "ui.https.need.client.auth"
	KeyUIHTTPSWantClientAuth = "ui.https.want.client.auth"

	// KeyTLSMinVersion (squall) is the lowest TLS version any squall
	// endpoint accepts: "1.2" (default) or "1.3".
	KeyTLSMinVersion = "tls.min.version"

	// Clients of nimbus: the CLI, supervisors, follower nimbuses.

	// KeyClientUseTLS (Storm's nimbus.thrift.client.use.tls) makes clients
	// dial nimbus with TLS.
	KeyClientUseTLS = "nimbus.client.use.tls"
	// KeyClientTLSCert and KeyClientTLSKey (Storm's
	// nimbus.thrift.tls.client.cert.path and .key.path) are the client's
	// certificate and key for mutual TLS.
	KeyClientTLSCert = "nimbus.client.tls.cert.path"
	KeyClientTLSKey  = "nimbus.client.tls.key.path"
	// KeyClientTLSCA (Storm's nimbus.thrift.tls.client.truststore.path) is
	// the CA bundle nimbus's certificate is verified against; the system's
	// when unset.
	KeyClientTLSCA = "nimbus.client.tls.ca.path"
	// KeyClientTLSServerName (squall) overrides the name nimbus's
	// certificate is checked for (default: the host dialed).
	KeyClientTLSServerName = "nimbus.client.tls.server.name"
	// KeyClientTokenFile (squall) is a file (mode 0600) holding the bearer
	// token the client sends.
	KeyClientTokenFile = "nimbus.client.token.file"

	// Authorization (Storm's keys and meaning).

	KeyNimbusAdmins          = "nimbus.admins"
	KeyNimbusAdminsGroups    = "nimbus.admins.groups"
	KeyNimbusUsers           = "nimbus.users"
	KeyNimbusGroups          = "nimbus.groups"
	KeyNimbusSupervisorUsers = "nimbus.supervisor.users"
	KeyNimbusDaemonUsers     = "nimbus.daemon.users"
	KeyTopologyUsers         = "topology.users"
	KeyTopologyGroups        = "topology.groups"
	KeyTopologyReadOnlyUsers = "topology.readonly.users"
	KeyTopologyReadOnlyGroup = "topology.readonly.groups"
	KeyUIActionsEnabled      = "ui.actions.enabled"
	// KeyTopologySubmitterUser is Storm's key for the topology's owner;
	// nimbus sets it from the submitting principal and ignores any value
	// the submission carries.
	KeyTopologySubmitterUser = "topology.submitter.user"

	// Between workers.

	// KeyWorkerTLSEnable (Storm's storm.messaging.netty.tls.enable) puts
	// worker-to-worker connections on TLS, with the certificate, key and
	// CA below (squall's PEM forms of Storm's keystore and truststore).
	KeyWorkerTLSEnable = "storm.messaging.netty.tls.enable"
	KeyWorkerTLSCert   = "storm.messaging.netty.tls.cert.path"
	KeyWorkerTLSKey    = "storm.messaging.netty.tls.key.path"
	KeyWorkerTLSCA     = "storm.messaging.netty.tls.ca.path"

	// KeyAuditLog (squall) is the file nimbus appends its audit log to
	// (JSON lines); default: the daemon log.
	KeyAuditLog = "nimbus.audit.log"
)
