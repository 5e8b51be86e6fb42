package auth

import "testing"

func TestWorkerConfig(t *testing.T) {
	conf := map[string]any{
		"storm.zookeeper.servers":             []any{"zk1"},
		"storm.zookeeper.auth.scheme":         "digest",
		"storm.zookeeper.auth.payload":        "squall:daemon-password",
		"storm.zookeeper.superACL":            "digest:squall:abc=",
		"nimbus.auth.tokens.file":             "/etc/squall/tokens",
		"nimbus.client.token.file":            "/etc/squall/supervisor.token",
		"nimbus.client.tls.cert.path":         "/etc/squall/client-supervisor.pem",
		"nimbus.client.tls.key.path":          "/etc/squall/client-supervisor-key.pem",
		"nimbus.client.tls.ca.path":           "/etc/squall/ca.pem",
		"nimbus.tls.key.path":                 "/etc/squall/server-key.pem",
		"ui.https.key.path":                   "/etc/squall/server-key.pem",
		"logviewer.https.key.path":            "/etc/squall/lv-key.pem",
		"drpc.https.keystore.password":        "changeit",
		"drpc.https.keystore.path":            "/etc/squall/drpc.jks",
		"storm.messaging.netty.tls.enable":    true,
		"storm.messaging.netty.tls.cert.path": "/etc/squall/worker.pem",
		"storm.messaging.netty.tls.key.path":  "/etc/squall/worker-key.pem",
		"storm.messaging.netty.tls.ca.path":   "/etc/squall/ca.pem",
		"topology.workers":                    2,
		"db.password":                         "for-the-topologies",
	}
	got := WorkerConfig(conf)
	for _, k := range []string{
		"storm.zookeeper.auth.scheme", "storm.zookeeper.auth.payload", "nimbus.auth.tokens.file",
		"nimbus.client.token.file", "nimbus.client.tls.cert.path", "nimbus.client.tls.key.path",
		"nimbus.tls.key.path", "ui.https.key.path", "logviewer.https.key.path",
		"drpc.https.keystore.password", "drpc.https.keystore.path",
	} {
		if _, ok := got[k]; ok {
			t.Errorf("worker configuration keeps the daemons' %s", k)
		}
	}
	for _, k := range []string{
		"storm.zookeeper.servers", "storm.zookeeper.superACL", "nimbus.client.tls.ca.path",
		"storm.messaging.netty.tls.enable", "storm.messaging.netty.tls.cert.path",
		"storm.messaging.netty.tls.key.path", "storm.messaging.netty.tls.ca.path",
		"topology.workers", "db.password",
	} {
		if _, ok := got[k]; !ok {
			t.Errorf("worker configuration lacks %s, which workers need", k)
		}
	}
	if _, ok := conf["nimbus.tls.key.path"]; !ok {
		t.Error("WorkerConfig changed its argument")
	}
}
