package nimbus

import (
	"net/http"

	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/ui"
)

// httpHandler is everything nimbus serves on ui.port: the REST API under
// /api/, behind guard, nimbus's /metrics, behind guard too, and the web UI
// at /. The UI's assets hold no data, so they need no credentials: the
// page must load to ask for a token. Unknown /api/ paths stay the
// gateway's JSON 404, which the pages read as "this nimbus has no such
// route". The log proxy (LogProxyPath) is under /api/ too, behind the
// guard.
func (n *Nimbus) httpHandler(gw http.Handler, guard *auth.Guard) http.Handler {
	api := http.NewServeMux()
	api.Handle("/api/", gw)
	api.Handle(LogProxyPath, n.logProxy())
	api.Handle("GET /metrics", n.metricsHandler())
	// /metrics is outside /api/, where GETs go to the static files without
	// credentials: it is routed to the guard before that branch.
	mux := http.NewServeMux()
	mux.Handle("/metrics", guard.HTTP(api))
	mux.Handle("/", guard.HTTPWithStatic(api, ui.New()))
	return mux
}
