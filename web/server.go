package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pophealth/pophealth/audit"
	"github.com/pophealth/pophealth/pseudonymise"
	"github.com/pophealth/pophealth/queries"
)

// AuthMode is how people sign in.
type AuthMode string

const (
	// AuthLocal signs people in with a name and password from the users
	// file, then a signed session cookie.
	AuthLocal AuthMode = "local"
	// AuthProxyHeader trusts a reverse proxy (one that has already
	// authenticated the person, e.g. against the trust's directory) to
	// name the user in a request header. Only requests from the configured
	// proxy addresses are believed; the named user must still exist in the
	// users file, which gives their roles.
	AuthProxyHeader AuthMode = "proxy-header"
)

// Config configures the web front.
type Config struct {
	Auth AuthMode
	// Header names the user in proxy-header mode (default X-Remote-User).
	Header string
	// TrustedProxies are the addresses proxy-header mode accepts requests
	// from. Empty refuses every request: trusting any sender of a header
	// would let anyone name themselves.
	TrustedProxies []netip.Prefix
	// SessionTTL is how long a local sign-in lasts (default 8 hours, one
	// working day).
	SessionTTL time.Duration
	// SecureCookies sets the Secure flag on the session cookie; set it
	// whenever the front is served over TLS (directly or by the proxy).
	SecureCookies bool
}

// ReportInfo describes a report the front can show.
type ReportInfo struct {
	ID      string
	Title   string
	Purpose string // the purpose it was produced under
}

// ReportSource lists and produces reports. Reports are already suppressed
// (queries.Report holds only suppressed cells).
type ReportSource interface {
	ListReports(ctx context.Context) ([]ReportInfo, error)
	Report(ctx context.Context, id string) (*queries.Report, error)
}

// PurposeView is one purpose as the IG pages show it.
type PurposeView struct {
	ID, Title string
	// Status is draft, approved, changed since approval, expired or revoked.
	Status     string
	ApprovedBy string
	ApprovedAt time.Time
	// Diff is the change since approval (unified diff), empty when none.
	Diff string
}

// PurposeSource lists purposes with their approval status.
type PurposeSource interface {
	ListPurposes(ctx context.Context) ([]PurposeView, error)
}

// JobView is one scheduled job as the operator page shows it.
type JobView struct {
	Name, Kind, Schedule string
	LastStart            time.Time
	LastStatus           string
	LastError            string
	NextRun              time.Time
	RecentFailures       int
}

// JobSource lists jobs and their recent runs.
type JobSource interface {
	ListJobs(ctx context.Context) ([]JobView, error)
}

// AuditSource is the audit log (an *audit.Log).
type AuditSource interface {
	Entries() ([]audit.Entry, error)
	Verify() (int64, error)
}

// Sources are what the pages show. Nil sources show as "not configured".
type Sources struct {
	Reports  ReportSource
	Purposes PurposeSource
	Jobs     JobSource
	Audit    AuditSource
}

// Server is the web front: an http.Handler serving server-rendered pages,
// every asset embedded in the binary.
type Server struct {
	cfg      Config
	users    atomic.Pointer[Users]
	src      Sources
	sessions sessions
	log      *slog.Logger
	audit    func(actor, action string, detail map[string]any)
	mux      *http.ServeMux
	pages    *template.Template
	csrf     *http.CrossOriginProtection
}

//go:embed templates/*.html static/*.css
var assets embed.FS

// New returns the web front. sessionKey signs session cookies; record, when
// not nil, appends to the audit log (sign-ins, refused access, downloads).
func New(cfg Config, users *Users, src Sources, sessionKey pseudonymise.Key, log *slog.Logger, record func(actor, action string, detail map[string]any)) (*Server, error) {
	if cfg.Auth == "" {
		cfg.Auth = AuthLocal
	}
	if cfg.Auth != AuthLocal && cfg.Auth != AuthProxyHeader {
		return nil, fmt.Errorf("web: auth mode %q: want %q or %q", cfg.Auth, AuthLocal, AuthProxyHeader)
	}
	if cfg.Header == "" {
		cfg.Header = "X-Remote-User"
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 8 * time.Hour
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if record == nil {
		record = func(string, string, map[string]any) {}
	}
	pages, err := template.New("").Funcs(template.FuncMap{
		"date":     func(t time.Time) string { return formatTime(t, time.DateOnly) },
		"datetime": func(t time.Time) string { return formatTime(t, "2006-01-02 15:04") },
		"has":      func(u *User, r string) bool { return u != nil && u.Has(Role(r)) },
	}).ParseFS(assets, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	s := &Server{
		cfg: cfg, src: src, log: log, audit: record, pages: pages,
		sessions: sessions{mac: pseudonymise.New(sessionKey), ttl: cfg.SessionTTL, now: time.Now},
	}
	s.users.Store(users)
	s.csrf = http.NewCrossOriginProtection()
	s.routes()
	return s, nil
}

// SetUsers replaces the accounts, for a server that reloads the accounts
// file while it runs. Requests already being served finish with the old
// accounts; a removed account loses access at its next request.
func (s *Server) SetUsers(u *Users) { s.users.Store(u) }

func formatTime(t time.Time, layout string) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(layout)
}

func (s *Server) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(assets, "static")
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /static/report.css", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Write([]byte(queries.ReportCSS()))
	})
	m.HandleFunc("GET /login", s.loginPage)
	m.HandleFunc("POST /login", s.login)
	m.HandleFunc("POST /logout", s.logout)
	m.Handle("GET /{$}", s.require("", s.home))
	m.Handle("GET /reports", s.require(Commissioner, s.reportList))
	m.Handle("GET /reports/{id}", s.require(Commissioner, s.reportPage))
	m.Handle("GET /reports/{id}/csv", s.require(Commissioner, s.reportCSV))
	m.Handle("GET /ig/purposes", s.require(IGLead, s.purposes))
	m.Handle("GET /ig/audit", s.require(IGLead, s.auditTrail))
	m.Handle("GET /ops/jobs", s.require(Operator, s.jobs))
	s.mux = m
}

// ServeHTTP serves the pages with security headers that suit a closed
// network: nothing may be framed, scripted or fetched from elsewhere.
// Cross-site form posts (login CSRF, forced sign-out) are refused by the
// standard library's CrossOriginProtection, which reads the browser's
// Sec-Fetch-Site header and falls back to comparing Origin with Host.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	if err := s.csrf.Check(r); err != nil {
		http.Error(w, "cross-site form submission refused", http.StatusForbidden)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// user returns the signed-in user of r, or nil.
func (s *Server) user(r *http.Request) *User {
	switch s.cfg.Auth {
	case AuthProxyHeader:
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			return nil
		}
		addr, err := netip.ParseAddr(host)
		if err != nil || !slices.ContainsFunc(s.cfg.TrustedProxies, func(p netip.Prefix) bool { return p.Contains(addr.Unmap()) }) {
			return nil
		}
		return s.users.Load().Find(r.Header.Get(s.cfg.Header))
	default:
		c, err := r.Cookie(sessionCookie)
		if err != nil {
			return nil
		}
		name, err := s.sessions.check(c.Value)
		if err != nil {
			return nil
		}
		return s.users.Load().Find(name) // a deleted account loses access at once
	}
}

// require wraps a page that needs a signed-in user holding role (any role
// when empty). Anonymous visitors are sent to sign in; signed-in users
// without the role get 403 and the refusal is audited.
func (s *Server) require(role Role, page func(http.ResponseWriter, *http.Request, *User)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := s.user(r)
		if u == nil {
			if s.cfg.Auth == AuthProxyHeader {
				http.Error(w, "not signed in: this server trusts only its reverse proxy", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
			return
		}
		if role != "" && !u.Has(role) {
			s.forbid(w, r, u, fmt.Sprintf("this page needs the %s role", role))
			return
		}
		page(w, r, u)
	})
}

func (s *Server) forbid(w http.ResponseWriter, r *http.Request, u *User, why string) {
	s.audit(u.Name, "web.refused", map[string]any{"path": r.URL.Path, "reason": why})
	w.WriteHeader(http.StatusForbidden)
	s.render(w, r, u, "error.html", map[string]any{"Title": "Not allowed", "Message": why})
}

// render executes a page template into a buffer first, so a template
// error becomes a clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, u *User, name string, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	data["User"] = u
	data["Path"] = r.URL.Path
	data["Auth"] = string(s.cfg.Auth)
	var buf bytes.Buffer
	if err := s.pages.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("web: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	buf.WriteTo(w)
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Auth != AuthLocal {
		http.Error(w, "sign-in is handled by the reverse proxy", http.StatusNotFound)
		return
	}
	s.render(w, r, nil, "login.html", map[string]any{"Title": "Sign in", "Next": safeNext(r.URL.Query().Get("next"))})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Auth != AuthLocal {
		http.Error(w, "sign-in is handled by the reverse proxy", http.StatusNotFound)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	name, password := r.PostFormValue("name"), r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	u := s.users.Load().Authenticate(name, password)
	if u == nil {
		s.audit(name, "web.login_failed", map[string]any{"remote": r.RemoteAddr})
		w.WriteHeader(http.StatusUnauthorized)
		s.render(w, r, nil, "login.html", map[string]any{"Title": "Sign in", "Next": next, "Failed": true, "Name": name})
		return
	}
	s.audit(u.Name, "web.login", map[string]any{"remote": r.RemoteAddr})
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: s.sessions.issue(u.Name), Path: "/",
		MaxAge: int(s.cfg.SessionTTL.Seconds()), HttpOnly: true, Secure: s.cfg.SecureCookies, SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.cfg.SecureCookies, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a post-sign-in redirect on this site: only a local
// absolute path, never "//host" or a scheme.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}

func (s *Server) home(w http.ResponseWriter, r *http.Request, u *User) {
	s.render(w, r, u, "home.html", map[string]any{"Title": "pophealth"})
}

// visibleReports returns the reports u may read.
func (s *Server) visibleReports(ctx context.Context, u *User) ([]ReportInfo, error) {
	if s.src.Reports == nil {
		return nil, nil
	}
	all, err := s.src.Reports.ListReports(ctx)
	if err != nil {
		return nil, err
	}
	var out []ReportInfo
	for _, x := range all {
		if u.MayReadPurpose(x.Purpose) {
			out = append(out, x)
		}
	}
	return out, nil
}

func (s *Server) reportList(w http.ResponseWriter, r *http.Request, u *User) {
	list, err := s.visibleReports(r.Context(), u)
	if err != nil {
		s.fail(w, r, u, err)
		return
	}
	s.render(w, r, u, "reports.html", map[string]any{"Title": "Reports", "Reports": list})
}

// reportFor returns the report id if u may read it. A report of another
// purpose is refused exactly like one that does not exist, so that
// commissioners cannot discover other purposes' report ids.
func (s *Server) reportFor(w http.ResponseWriter, r *http.Request, u *User) (ReportInfo, *queries.Report, bool) {
	id := r.PathValue("id")
	list, err := s.visibleReports(r.Context(), u)
	if err != nil {
		s.fail(w, r, u, err)
		return ReportInfo{}, nil, false
	}
	i := slices.IndexFunc(list, func(x ReportInfo) bool { return x.ID == id })
	if i < 0 {
		s.audit(u.Name, "web.refused", map[string]any{"path": r.URL.Path, "reason": "report not visible to user"})
		w.WriteHeader(http.StatusNotFound)
		s.render(w, r, u, "error.html", map[string]any{"Title": "No such report", "Message": "There is no report " + id + " among the reports you may read."})
		return ReportInfo{}, nil, false
	}
	rep, err := s.src.Reports.Report(r.Context(), id)
	if err != nil {
		s.fail(w, r, u, err)
		return ReportInfo{}, nil, false
	}
	return list[i], rep, true
}

func (s *Server) reportPage(w http.ResponseWriter, r *http.Request, u *User) {
	info, rep, ok := s.reportFor(w, r, u)
	if !ok {
		return
	}
	frag, err := queries.HTMLFragment(rep)
	if err != nil {
		s.fail(w, r, u, err)
		return
	}
	s.audit(u.Name, "web.report", map[string]any{"report": info.ID, "purpose": info.Purpose})
	s.render(w, r, u, "report.html", map[string]any{"Title": info.Title, "Info": info, "Report": frag})
}

func (s *Server) reportCSV(w http.ResponseWriter, r *http.Request, u *User) {
	info, rep, ok := s.reportFor(w, r, u)
	if !ok {
		return
	}
	var buf bytes.Buffer
	if err := rep.WriteCSV(&buf); err != nil {
		s.fail(w, r, u, err)
		return
	}
	s.audit(u.Name, "web.download", map[string]any{"report": info.ID, "purpose": info.Purpose, "format": "csv"})
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", info.ID+".csv"))
	buf.WriteTo(w)
}

func (s *Server) purposes(w http.ResponseWriter, r *http.Request, u *User) {
	var list []PurposeView
	if s.src.Purposes != nil {
		var err error
		if list, err = s.src.Purposes.ListPurposes(r.Context()); err != nil {
			s.fail(w, r, u, err)
			return
		}
	}
	s.render(w, r, u, "purposes.html", map[string]any{"Title": "Purposes", "Purposes": list, "Configured": s.src.Purposes != nil})
}

// auditTrail shows the audit log, newest first, filtered by the query
// parameters purpose, user, since and until (dates, YYYY-MM-DD).
func (s *Server) auditTrail(w http.ResponseWriter, r *http.Request, u *User) {
	if s.src.Audit == nil {
		s.render(w, r, u, "audit.html", map[string]any{"Title": "Audit trail"})
		return
	}
	q := r.URL.Query()
	f := auditFilter{Purpose: q.Get("purpose"), User: q.Get("user")}
	var err error
	if f.Since, err = parseDay(q.Get("since")); err == nil {
		f.Until, err = parseDay(q.Get("until"))
	}
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		s.render(w, r, u, "error.html", map[string]any{"Title": "Bad filter", "Message": err.Error()})
		return
	}
	entries, err := s.src.Audit.Entries()
	if err != nil {
		s.fail(w, r, u, err)
		return
	}
	n, verr := s.src.Audit.Verify()
	shown := f.apply(entries)
	s.render(w, r, u, "audit.html", map[string]any{
		"Title": "Audit trail", "Configured": true, "Entries": shown, "Filter": f,
		"Verified": verr == nil, "VerifyError": errString(verr), "Count": n,
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (s *Server) jobs(w http.ResponseWriter, r *http.Request, u *User) {
	var list []JobView
	if s.src.Jobs != nil {
		var err error
		if list, err = s.src.Jobs.ListJobs(r.Context()); err != nil {
			s.fail(w, r, u, err)
			return
		}
	}
	s.render(w, r, u, "jobs.html", map[string]any{"Title": "Jobs", "Jobs": list, "Configured": s.src.Jobs != nil})
}

// fail logs err and shows a generic error page: error texts can name files
// and paths that the viewer has no business seeing.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, u *User, err error) {
	s.log.Error("web: page failed", "path", r.URL.Path, "user", u.Name, "err", err)
	w.WriteHeader(http.StatusInternalServerError)
	s.render(w, r, u, "error.html", map[string]any{"Title": "Something went wrong", "Message": "The page could not be produced; the error has been logged for the operators."})
}

// auditFilter selects audit entries for the IG page.
type auditFilter struct {
	Purpose, User string
	Since, Until  time.Time // zero: open
}

// apply returns the matching entries, newest first.
func (f auditFilter) apply(entries []audit.Entry) []audit.Entry {
	match := audit.Filter{Purpose: f.Purpose, User: f.User, Since: f.Since}
	if !f.Until.IsZero() {
		match.Until = f.Until.AddDate(0, 0, 1) // the whole day
	}
	var out []audit.Entry
	for i := len(entries) - 1; i >= 0; i-- {
		if match.Match(entries[i]) {
			out = append(out, entries[i])
		}
	}
	return out
}

func parseDay(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(time.DateOnly, s, time.Local)
	if err != nil {
		return time.Time{}, errors.New("dates are YYYY-MM-DD")
	}
	return t, nil
}
