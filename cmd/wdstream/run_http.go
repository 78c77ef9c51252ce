package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wdstream/wdstream/kafka"
)

// newRegistry returns the service's metrics registry with the Go and
// process collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// serveHTTP runs the service's HTTP port until ctx is done: /metrics,
// /healthz (the process is up), /readyz (every stage is running) and the
// handler mux's other pages.
func serveHTTP(addr string, reg *prometheus.Registry, ready func() bool, mux *http.ServeMux) (func(context.Context) error, net.Addr, error) {
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready() {
			http.Error(w, "not ready\n", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return func(ctx context.Context) error {
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(ln) }()
		select {
		case err := <-errc:
			return err
		case <-ctx.Done():
		}
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := srv.Shutdown(sctx)
		if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
			err = e
		}
		return err
	}, ln.Addr(), nil
}

// mountPprof serves Go's runtime profiles (net/http/pprof) under
// /debug/pprof/ of mux.
func mountPprof(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}

// registerLagMetrics exports the consumer lag of the stages env runs.
func registerLagMetrics(env *runEnv) {
	var src []kafka.LagSource
	c := env.cfg
	if slices.Contains(c.stages, "join") {
		src = append(src, kafka.LagSource{Stage: "join", Group: c.group, Topic: c.topicImps}, kafka.LagSource{Stage: "join", Group: c.group, Topic: c.topicIns})
	}
	if slices.Contains(c.stages, "archive") {
		src = append(src, kafka.LagSource{Stage: "archive", Group: c.archiveGroup, Topic: c.topicEx})
	}
	if slices.Contains(c.stages, "train") {
		src = append(src, kafka.LagSource{Stage: "train", Group: c.svc.trainGroup, Topic: c.topicEx})
	}
	client := kafka.NewClient(c.brokers, env.auth)
	env.closers = append(env.closers, func() error { client.Close(); return nil })
	env.reg.MustRegister(kafka.NewLagCollector(client, src, 10*time.Second, env.logger.With("component", "lag")))
}
