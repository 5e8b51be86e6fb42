// Package logviewer serves a node's worker and daemon logs over Storm's
// logviewer REST paths (/api/v1/log, /download, /search, /deepSearch,
// /daemonlog, /listLogs), plus /api/v1/follow, a long poll that `squall
// logs -f` follows logs with.
//
// Every file is opened through an os.Root on its log directory, and names
// are checked to be a log's (<topology-id>/<port>/<file>, or a daemon
// log's bare name) before that: nothing outside the directories is
// reachable, by .., absolute path or symbolic link. Reads, searches,
// listings and waits are bounded (Config), a Server binds loopback by
// default (HTTPS with Config.TLS), and Config.Authorize, a function the
// caller supplies, decides every request; AuthorizeWith builds one that
// decides as the REST API does, with package auth.
//
// Pages and follows filter lines by component and task, reading them as
// internal/logline writes them.
package logviewer
