package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/pophealth/pophealth/audit"
	"github.com/pophealth/pophealth/ingest/mllp"
	"github.com/pophealth/pophealth/jobs"
	"github.com/pophealth/pophealth/pseudonymise"
	"github.com/pophealth/pophealth/web"
	"github.com/pophealth/pophealth/workspace"
)

// serveOptions are serve's flags.
type serveOptions struct {
	listen         string
	grace          time.Duration
	auth           string
	header         string
	trustedProxies []string
	secureCookies  bool
	memoryLimit    string
}

func newServeCmd(g *globals) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the job scheduler, the web front and the MLLP receiver in one long-running process",
		Long: `serve is pophealth's service. In one process it runs

  - the scheduler: the jobs of WORKSPACE/jobs/*.yaml on their schedules and
    after their dependencies, catching up once for times missed while it was
    down, recording every run in WORKSPACE/runs/history.jsonl;
  - the web front on --listen: reports for commissioners (the reports that
    job runs published), purposes and the audit trail for IG leads, jobs for
    operators; accounts in WORKSPACE/users.yaml ("pophealth users");
  - /healthz (the process is up), /readyz (scheduler caught up, listeners
    open, not stopping) and /metrics (Prometheus: job runs, durations,
    records, failures, queue lag, MLLP messages, Go runtime);
  - the MLLP receiver, when a job file configures receivers.mllp.

On SIGTERM or SIGINT it starts no new run, lets the run in progress finish
within --grace and then cancels it (the run is recorded aborted; the lake
batch it was writing is rolled back), stops the listeners and exits.
Changes to users.yaml are picked up within seconds; changes to job files
take effect when serve is restarted.

--memory-limit sets the Go runtime's soft memory limit for the whole
process (its ingest and link runs, the web front); by default there is
none unless GOMEMLIMIT is set. Set it well above the live heap of the
largest run (a full link of a million people holds about 3 GB), or the
collector runs all the time; DuckDB's memory is outside it.`,
		Example: `  pophealth serve --workspace /srv/pophealth --listen 127.0.0.1:8080
  pophealth serve --auth proxy-header --trusted-proxy 127.0.0.1/32 --secure-cookies`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return serve(cmd.Context(), g, o, cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:8080", "HTTP `ADDRESS` of the web front, health checks and metrics")
	f.DurationVar(&o.grace, "grace", 2*time.Minute, "on shutdown, how long the run in progress may take to finish before it is aborted")
	f.StringVar(&o.auth, "auth", string(web.AuthLocal), "sign-in: local (accounts with passwords) or proxy-header (a trusted reverse proxy names the user)")
	f.StringVar(&o.header, "proxy-header", "X-Remote-User", "proxy-header mode: the request header naming the user")
	f.StringSliceVar(&o.trustedProxies, "trusted-proxy", nil, "proxy-header mode: `CIDR` of the reverse proxy (repeatable); requests from elsewhere are refused")
	f.BoolVar(&o.secureCookies, "secure-cookies", false, "mark session cookies Secure (set when users reach the front over TLS)")
	f.StringVar(&o.memoryLimit, "memory-limit", "", "soft memory `limit` of the Go runtime for the whole process, e.g. 4GiB, or off (default off, or GOMEMLIMIT when set)")
	return cmd
}

// serve runs until ctx ends (SIGTERM, SIGINT) and then shuts down.
func serve(ctx context.Context, g *globals, o serveOptions, cmd *cobra.Command) error {
	log := g.logger
	limit, err := setMemoryLimit(o.memoryLimit, "off")
	if err != nil {
		return err
	}
	if limit != math.MaxInt64 {
		log.Info("soft memory limit", "bytes", limit)
	}
	ws, err := workspace.Open(g.workspace)
	if err != nil {
		return err
	}
	cfg := web.Config{Auth: web.AuthMode(o.auth), Header: o.header, SecureCookies: o.secureCookies}
	for _, p := range o.trustedProxies {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return fmt.Errorf("--trusted-proxy %q: %w", p, err)
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, pfx)
	}
	users, err := web.LoadUsers(usersPath(ws))
	if err != nil {
		return err
	}
	if len(users.Users) == 0 {
		log.Warn("no web accounts: nobody can sign in (pophealth users add)", "file", usersPath(ws))
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics, err := jobs.NewMetrics(reg)
	if err != nil {
		return err
	}
	_, runner, err := openRunner(g, metrics)
	if err != nil {
		return err
	}
	sched := jobs.NewScheduler(runner, o.grace)

	sessionKey, err := loadOrCreateKey(filepath.Join(ws.KeysDir(), "web-session.key"))
	if err != nil {
		return err
	}
	auditLog, err := audit.Open(ws.AuditLogPath())
	if err != nil {
		return err
	}
	record := func(actor, action string, detail map[string]any) {
		if _, err := auditLog.Append(actor, action, detail); err != nil {
			log.Error("audit", "action", action, "err", err)
		}
	}
	front, err := web.New(cfg, users, web.Sources{
		Reports:  publishedReports{runner},
		Jobs:     jobStatuses{runner},
		Audit:    auditLog,
		Purposes: purposeSource{ws},
	}, sessionKey, log, record)
	if err != nil {
		return err
	}

	var stopping atomic.Bool
	mllpUp := runner.Jobs().MLLP == nil
	var mllpReady atomic.Bool
	mllpReady.Store(mllpUp)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		switch {
		case stopping.Load():
			http.Error(w, "stopping", http.StatusServiceUnavailable)
		case !sched.Ready():
			http.Error(w, "scheduler starting", http.StatusServiceUnavailable)
		case !mllpReady.Load():
			http.Error(w, "mllp receiver not listening", http.StatusServiceUnavailable)
		default:
			fmt.Fprintln(w, "ready")
		}
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.Handle("/", front)

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errs := make(chan error, 3)
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("http: %w", err)
		}
	}()
	receivers := 0
	if m := runner.Jobs().MLLP; m != nil {
		stop, err := startMLLP(ctx, ws, m, reg, log, &mllpReady, errs)
		if err != nil {
			srv.Close()
			return err
		}
		defer stop()
		receivers++
	}
	if err := appendAudit(ws, "serve.start", map[string]any{"listen": ln.Addr().String(), "jobs": len(runner.Jobs().Jobs), "pid": os.Getpid()}); err != nil {
		srv.Close()
		return err
	}
	go reloadUsers(ctx, usersPath(ws), front, log)
	fmt.Fprintf(cmd.ErrOrStderr(), "pophealth serve: web front on http://%s, %d jobs, %d receivers; SIGTERM or Ctrl-C to stop\n", ln.Addr(), len(runner.Jobs().Jobs), receivers)

	schedDone := make(chan error, 1)
	go func() { schedDone <- sched.Run(ctx) }()
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errs:
	case runErr = <-schedDone:
		schedDone = nil
	}
	stopping.Store(true)
	log.Info("serve: stopping")
	if schedDone != nil {
		if runErr != nil { // a listener failed: stop the scheduler too
			log.Error("serve: stopping after failure", "err", runErr)
		}
		if err := <-schedDone; err != nil && runErr == nil {
			runErr = err
		}
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("http shutdown: %w", err))
	}
	fmt.Fprintln(cmd.ErrOrStderr(), "pophealth serve: stopped")
	return runErr
}

// startMLLP starts the MLLP receiver; stop waits for it to finish landing
// and acknowledging what it received.
func startMLLP(ctx context.Context, ws *workspace.Workspace, m *jobs.MLLPReceiver, reg prometheus.Registerer, log *slog.Logger, ready *atomic.Bool, errs chan<- error) (stop func(), err error) {
	landing := m.Landing
	if !filepath.IsAbs(landing) {
		landing = filepath.Join(ws.Dir, landing)
	}
	srv, err := mllp.New(mllp.Config{LandingDir: landing, MaxConns: m.MaxConns, MaxMessageBytes: m.MaxMessageBytes,
		IdleTimeout: m.IdleTimeout, MessageTimeout: m.MessageTimeout, Logger: log})
	if err != nil {
		return nil, err
	}
	st := &srv.Stats
	for name, v := range map[string]*atomic.Int64{"AA": &st.Accepted, "AE": &st.Errors, "AR": &st.Rejected} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "pophealth_mllp_messages_total", Help: "HL7 v2 messages received over MLLP, by acknowledgement code.",
			ConstLabels: prometheus.Labels{"ack": name},
		}, func() float64 { return float64(v.Load()) }))
	}
	ln, err := net.Listen("tcp", m.Listen)
	if err != nil {
		return nil, fmt.Errorf("mllp: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ctx, ln); err != nil && ctx.Err() == nil {
			errs <- fmt.Errorf("mllp: %w", err)
		}
	}()
	ready.Store(true)
	log.Info("mllp: listening", "addr", ln.Addr().String(), "landing", landing)
	return func() { <-done }, nil
}

// usersPollInterval is how often serve looks for changes to users.yaml.
const usersPollInterval = 2 * time.Second

// reloadUsers gives the web front the accounts file again whenever it
// changes ("pophealth users add" while serve runs), until ctx ends. A
// file that does not load (a bad edit, a wrong mode) is logged and the
// accounts already loaded stay in force.
func reloadUsers(ctx context.Context, path string, front *web.Server, log *slog.Logger) {
	stamp := func() string {
		info, err := os.Stat(path)
		if err != nil {
			return err.Error()
		}
		return fmt.Sprint(info.ModTime().UnixNano(), info.Size(), info.Mode())
	}
	last := stamp()
	t := time.NewTicker(usersPollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := stamp()
		if now == last {
			continue
		}
		last = now
		users, err := web.LoadUsers(path)
		if err != nil {
			log.Error("web accounts not reloaded: keeping those loaded before", "file", path, "err", err)
			continue
		}
		front.SetUsers(users)
		log.Info("web accounts reloaded", "file", path, "accounts", len(users.Users))
	}
}

// loadOrCreateKey loads the key file at path, creating it (mode 0600) on
// first use.
func loadOrCreateKey(path string) (pseudonymise.Key, error) {
	k, err := pseudonymise.LoadKey(path)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return k, err
	}
	if k, err = pseudonymise.NewKey(); err != nil {
		return k, err
	}
	return k, pseudonymise.WriteKeyFile(path, k)
}
