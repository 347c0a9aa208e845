package gohook

import (
	"context"
	"net/http"
	"runtime/pprof"
)

// Label keys set by this package. Keys are sorted by the runtime when it
// prints them, so a dump shows gleak.go, http.method, http.route in that order.
const (
	LabelRoute  = "http.route"
	LabelMethod = "http.method"
	LabelGo     = "gleak.go"
)

// UnmatchedRoute is the route label used when a RouteFunc returns "" (for
// example MuxRoutes for a request that no pattern matches).
const UnmatchedRoute = "unmatched"

// RouteFunc names the route of a request for the http.route label. It must be
// cheap and should return a low-cardinality value (a pattern such as
// "GET /users/{id}", not the raw path), because every distinct value becomes
// a separate group in debug=1 profiles.
type RouteFunc func(*http.Request) string

// Middleware runs next for each request inside
//
//	pprof.Do(r.Context(), pprof.Labels("http.route", route, "http.method", r.Method), ...)
//
// with route = routeOf(r). The request goroutine carries the labels while next
// runs and every goroutine it starts inherits them for its whole life, so a
// goroutine that outlives its request still names the route in a dump.
// The request's context carries the labels too (pprof.WithLabels), so code
// that calls pprof.Do or Go with r.Context() extends the set instead of
// replacing it.
//
// A nil routeOf labels every request with UnmatchedRoute. To label by the
// pattern an http.ServeMux will choose, use MuxRoutes:
//
//	mux := http.NewServeMux()
//	mux.HandleFunc("GET /leak", leak)
//	http.ListenAndServe(addr, gohook.Middleware(gohook.MuxRoutes(mux), mux))
func Middleware(routeOf RouteFunc, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := ""
		if routeOf != nil {
			route = routeOf(r)
		}
		if route == "" {
			route = UnmatchedRoute
		}
		serveLabelled(route, next, w, r)
	})
}

// Route is Middleware with a fixed route label, for wrapping one handler at
// its registration:
//
//	mux.Handle("GET /leak", gohook.Route("GET /leak", leakHandler))
func Route(route string, next http.Handler) http.Handler {
	if route == "" {
		route = UnmatchedRoute
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveLabelled(route, next, w, r)
	})
}

// MuxRoutes returns a RouteFunc that asks mux which pattern it would use for
// the request (http.ServeMux.Handler), so the label is the registered pattern
// ("GET /items/{id}") and never the raw path. Unmatched requests get "".
func MuxRoutes(mux *http.ServeMux) RouteFunc {
	return func(r *http.Request) string {
		_, pattern := mux.Handler(r)
		return pattern
	}
}

func serveLabelled(route string, next http.Handler, w http.ResponseWriter, r *http.Request) {
	pprof.Do(r.Context(), pprof.Labels(LabelRoute, route, LabelMethod, r.Method), func(ctx context.Context) {
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Go starts fn in a new goroutine labelled gleak.go=name on top of the labels
// already in ctx (for example the route labels of a request context).
//
// The runtime records gohook.Go as the creator of that goroutine ("created by
// .../gohook.Go" at gohook's own file), which hides the caller's go statement
// from dump-based tools: they must treat gohook.Go as a wrapper, like
// time.goFunc, and fall back to the first user frame (fn). To keep the
// creator line pointing at your code, use Labeled with your own go statement.
func Go(ctx context.Context, name string, fn func(context.Context)) {
	go Labeled(ctx, name, fn)()
}

// Labeled returns a function that runs fn under the labels of ctx plus
// gleak.go=name. Start it with your own go statement so the dump's
// "created by" line names your code:
//
//	go gohook.Labeled(ctx, "poller", poll)()
func Labeled(ctx context.Context, name string, fn func(context.Context)) func() {
	return func() {
		pprof.Do(ctx, pprof.Labels(LabelGo, name), fn)
	}
}
