package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/pophealth/pophealth/audit"
	"github.com/pophealth/pophealth/pseudonymise"
	"github.com/pophealth/pophealth/queries"
)

// fakeReports serves two purposes' reports.
type fakeReports struct{}

func (fakeReports) ListReports(context.Context) ([]ReportInfo, error) {
	return []ReportInfo{
		{ID: "t2dm", Title: "Diabetes and multimorbidity", Purpose: "diabetes-planning"},
		{ID: "mh", Title: "Mental health caseload", Purpose: "mh-research"},
	}, nil
}

func (fakeReports) Report(_ context.Context, id string) (*queries.Report, error) {
	switch id {
	case "t2dm":
		people := []queries.Cell{queries.Suppress(42), queries.Suppress(3)}
		return &queries.Report{Title: "Diabetes and multimorbidity", Columns: []string{"Age band", "People"},
			Rows: [][]queries.Cell{{queries.Suppress(0), people[0]}, {queries.Suppress(0), people[1]}},
			Charts: []queries.Chart{{Title: "People by age band", Kind: queries.Bars, Unit: "people",
				Categories: []string{"40-59", "60-69"}, Series: []queries.Series{{Name: "All", Values: people}}}}}, nil
	case "mh":
		return &queries.Report{Title: "Mental health caseload", Columns: []string{"People"}, Rows: [][]queries.Cell{{queries.Suppress(120)}}}, nil
	}
	return nil, errors.New("no such report")
}

type fakePurposes []PurposeView

func (f fakePurposes) ListPurposes(context.Context) ([]PurposeView, error) { return f, nil }

type fakeJobs []JobView

func (f fakeJobs) ListJobs(context.Context) ([]JobView, error) { return f, nil }

// recorder collects what the server audits.
type recorder struct {
	mu      sync.Mutex
	entries []string
}

func (r *recorder) record(actor, action string, detail map[string]any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.entries = append(r.entries, strings.TrimSpace(actor+" "+action+" "+stringOf(detail["path"])+stringOf(detail["report"])))
}

func stringOf(v any) string {
	if v == nil {
		return ""
	}
	s, _ := v.(string)
	return s
}

func (r *recorder) has(s string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.entries {
		if e == s {
			return true
		}
	}
	return false
}

const testPassword = "correct horse battery"

// testUsers has one person per role; alice may read one purpose only.
func testUsers(t *testing.T) *Users {
	t.Helper()
	u := &Users{cost: bcrypt.MinCost}
	for _, x := range []User{
		{Name: "alice", Roles: []Role{Commissioner}, Purposes: []string{"diabetes-planning"}},
		{Name: "ian", Roles: []Role{IGLead}},
		{Name: "olive", Roles: []Role{Operator}},
	} {
		if err := u.Set(x, testPassword); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

type testSite struct {
	srv   *httptest.Server
	audit *recorder
	web   *Server
}

func newTestSite(t *testing.T, cfg Config, users *Users) *testSite {
	t.Helper()
	key, err := pseudonymise.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(t.TempDir(), "audit.log")
	log, err := audit.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := log.Append("ian", "purpose.approve", map[string]any{"purpose": "diabetes-planning"}); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	src := Sources{
		Reports:  fakeReports{},
		Purposes: fakePurposes{{ID: "diabetes-planning", Title: "Diabetes planning", Status: "approved", ApprovedBy: "ian", ApprovedAt: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}},
		Jobs:     fakeJobs{{Name: "nightly-ingest", Kind: "ingest", Schedule: "30 1 * * * (Europe/London)", LastStatus: "succeeded"}},
		Audit:    log,
	}
	w, err := New(cfg, users, src, key, nil, rec.record)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w)
	t.Cleanup(srv.Close)
	return &testSite{srv: srv, audit: rec, web: w}
}

// client returns an HTTP client with a cookie jar that does not follow
// redirects, so tests see them.
func (s *testSite) client(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (s *testSite) login(t *testing.T, c *http.Client, name, password string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/login", strings.NewReader(url.Values{"name": {name}, "password": {password}, "next": {"/reports"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.srv.URL)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func get(t *testing.T, c *http.Client, u string) (int, string, http.Header) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

func TestLocalAuthAndRoleBasedAccess(t *testing.T) {
	site := newTestSite(t, Config{Auth: AuthLocal}, testUsers(t))
	base := site.srv.URL
	anon := site.client(t)
	if code, _, h := get(t, anon, base+"/reports"); code != http.StatusSeeOther || h.Get("Location") != "/login?next=%2Freports" {
		t.Errorf("anonymous /reports: %d to %q, want a redirect to sign in", code, h.Get("Location"))
	}
	if resp := site.login(t, anon, "alice", "wrong password!"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", resp.StatusCode)
	}
	if !site.audit.has("alice web.login_failed") {
		t.Error("failed sign-in not audited")
	}

	// Each role reaches its own pages and none of the others'.
	tests := []struct {
		user    string
		allowed map[string]string // path -> text the page must show
		refused map[string]int    // path -> status
	}{
		{"alice",
			map[string]string{"/": "Reports", "/reports": "Diabetes and multimorbidity", "/reports/t2dm": "<svg", "/reports/t2dm/csv": "Age band,People"},
			map[string]int{"/reports/mh": 404, "/reports/mh/csv": 404, "/reports/nope": 404, "/ig/purposes": 403, "/ig/audit": 403, "/ops/jobs": 403}},
		{"ian",
			map[string]string{"/ig/purposes": "Diabetes planning", "/ig/audit": "Hash chain verified"},
			map[string]int{"/reports": 403, "/reports/t2dm": 403, "/ops/jobs": 403}},
		{"olive",
			map[string]string{"/ops/jobs": "nightly-ingest"},
			map[string]int{"/reports/t2dm": 403, "/ig/audit": 403, "/ig/purposes": 403}},
	}
	for _, tc := range tests {
		t.Run(tc.user, func(t *testing.T) {
			c := site.client(t)
			resp := site.login(t, c, tc.user, testPassword)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/reports" {
				t.Fatalf("sign-in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			for path, want := range tc.allowed {
				code, body, _ := get(t, c, base+path)
				if code != http.StatusOK || !strings.Contains(body, want) {
					t.Errorf("%s: %d, want 200 with %q", path, code, want)
				}
			}
			for path, want := range tc.refused {
				code, body, _ := get(t, c, base+path)
				if code != want {
					t.Errorf("%s: %d, want %d", path, code, want)
				}
				if strings.Contains(body, "Mental health caseload") {
					t.Errorf("%s leaks another purpose's report title", path)
				}
			}
		})
	}
	if !site.audit.has("alice web.refused /ig/audit") || !site.audit.has("alice web.refused /reports/mh") {
		t.Errorf("refusals not audited: %v", site.audit.entries)
	}
	if !site.audit.has("alice web.download t2dm") {
		t.Errorf("download not audited: %v", site.audit.entries)
	}
}

func TestSuppressedNumbersOnlyReachThePage(t *testing.T) {
	site := newTestSite(t, Config{Auth: AuthLocal}, testUsers(t))
	c := site.client(t)
	site.login(t, c, "alice", testPassword)
	_, body, h := get(t, c, site.srv.URL+"/reports/t2dm")
	if strings.Contains(body, ">42<") || strings.Contains(body, ">3<") || !strings.Contains(body, ">40<") || !strings.Contains(body, ">*<") {
		t.Errorf("page does not show the suppressed values 40 and *:\n%s", body)
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
		t.Errorf("CSP %q", csp)
	}
	_, csv, _ := get(t, c, site.srv.URL+"/reports/t2dm/csv")
	if strings.Contains(csv, "42") || strings.Contains(csv, ",3\n") {
		t.Errorf("CSV leaks exact counts: %q", csv)
	}
}

func TestSessionCookiesCannotBeForgedOrOutlive(t *testing.T) {
	site := newTestSite(t, Config{Auth: AuthLocal, SessionTTL: time.Hour}, testUsers(t))
	good := site.web.sessions.issue("alice")
	if name, err := site.web.sessions.check(good); err != nil || name != "alice" {
		t.Fatalf("good cookie: %q, %v", name, err)
	}
	enc, sig, _ := strings.Cut(good, ".")
	forged := []string{
		"", "alice", good + "x", enc + ".", "." + sig,
		// Rename the user inside a validly signed cookie.
		strings.Replace(good, enc, strings.Replace(enc, "YWxpY2", "aWFuf", 1), 1),
		// A cookie signed with another server's key.
		func() string {
			k, _ := pseudonymise.NewKey()
			other := sessions{mac: pseudonymise.New(k), ttl: time.Hour, now: time.Now}
			return other.issue("ian")
		}(),
	}
	for _, v := range forged {
		if name, err := site.web.sessions.check(v); err == nil {
			t.Errorf("forged cookie %q accepted as %q", v, name)
		}
		c := site.client(t)
		u, _ := url.Parse(site.srv.URL)
		c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: v}})
		if code, _, _ := get(t, c, site.srv.URL+"/ig/audit"); code != http.StatusSeeOther {
			t.Errorf("forged cookie %q: /ig/audit answered %d, want a redirect to sign in", v, code)
		}
	}
	later := site.web.sessions
	later.now = func() time.Time { return time.Now().Add(time.Hour + time.Second) }
	if _, err := later.check(good); err == nil {
		t.Error("expired session accepted")
	}
	// Deleting an account ends its sessions at once.
	fewer := &Users{Users: site.web.users.Load().Users[1:]}
	site.web.SetUsers(fewer)
	c := site.client(t)
	u, _ := url.Parse(site.srv.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: good}})
	if code, _, _ := get(t, c, site.srv.URL+"/reports"); code != http.StatusSeeOther {
		t.Errorf("deleted account still signed in: %d", code)
	}
}

func TestCrossSitePostsAndOpenRedirectsRefused(t *testing.T) {
	site := newTestSite(t, Config{Auth: AuthLocal}, testUsers(t))
	req, _ := http.NewRequest(http.MethodPost, site.srv.URL+"/login", strings.NewReader("name=alice&password="+url.QueryEscape(testPassword)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := site.client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site sign-in: %d, want 403", resp.StatusCode)
	}
	for next, want := range map[string]string{
		"/reports": "/reports", "": "/", "//evil.example/": "/", "https://evil.example": "/", "/\\evil.example": "/", "reports": "/", "/ok\r\nSet-Cookie: x": "/",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

func TestProxyHeaderModeTrustsOnlyTheProxy(t *testing.T) {
	users := testUsers(t)
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	tests := []struct {
		name    string
		proxies []netip.Prefix
		user    string
		want    int
	}{
		{"from the proxy", trusted, "alice", 200},
		{"unknown user", trusted, "mallory", 401},
		{"no header", trusted, "", 401},
		{"sender not a trusted proxy", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, "alice", 401},
		{"no proxies configured", nil, "alice", 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			site := newTestSite(t, Config{Auth: AuthProxyHeader, TrustedProxies: tc.proxies}, users)
			req, _ := http.NewRequest(http.MethodGet, site.srv.URL+"/reports", nil)
			if tc.user != "" {
				req.Header.Set("X-Remote-User", tc.user)
			}
			resp, err := site.client(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

func TestUsersFile(t *testing.T) {
	u := &Users{cost: bcrypt.MinCost}
	for _, tc := range []struct {
		user     User
		password string
		want     string
	}{
		{User{Name: "a", Roles: []Role{"admin"}}, testPassword, "unknown role"},
		{User{Name: "a"}, testPassword, "at least one role"},
		{User{Name: "a", Roles: []Role{Operator}}, "short", "too short"},
		{User{Name: "a|b", Roles: []Role{Operator}}, testPassword, "invalid user name"},
	} {
		if err := u.Set(tc.user, tc.password); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Set(%+v) = %v, want %q", tc.user, err, tc.want)
		}
	}
	if err := u.Set(User{Name: "ian", Roles: []Role{IGLead}}, testPassword); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "users.yaml")
	if err := u.Save(path); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("users file mode %v, %v; want 0600", info.Mode().Perm(), err)
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), testPassword) {
		t.Error("users file holds the password itself")
	}
	back, err := LoadUsers(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Authenticate("ian", testPassword) == nil {
		t.Error("saved account does not authenticate")
	}
	if back.Authenticate("ian", testPassword+"x") != nil || back.Authenticate("nobody", testPassword) != nil {
		t.Error("wrong credentials authenticate")
	}
	// A password change keeps roles given; an empty password keeps the hash.
	if err := back.Set(User{Name: "ian", Roles: []Role{IGLead, Operator}}, ""); err != nil {
		t.Fatal(err)
	}
	if u := back.Authenticate("ian", testPassword); u == nil || !u.Has(Operator) {
		t.Error("updating roles lost the password or the roles")
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadUsers(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable users file loaded: %v", err)
	}
	os.Remove(path)
	if err := os.WriteFile(path, []byte("users:\n  - name: x\n    roles: [operator]\n    passwrd: y\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadUsers(path); err == nil || !strings.Contains(err.Error(), "passwrd") {
		t.Errorf("misspelt field accepted: %v", err)
	}
}

func TestSetUsers_RemovedAccountLosesAccessAtNextRequest(t *testing.T) {
	site := newTestSite(t, Config{Auth: AuthLocal}, testUsers(t))
	c := site.client(t)
	site.login(t, c, "olive", testPassword)
	if code, _, _ := get(t, c, site.srv.URL+"/ops/jobs"); code != http.StatusOK {
		t.Fatalf("olive /ops/jobs: %d before the change", code)
	}
	fewer := testUsers(t)
	fewer.Remove("olive")
	site.web.SetUsers(fewer)
	if code, _, h := get(t, c, site.srv.URL+"/ops/jobs"); code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login") {
		t.Errorf("olive /ops/jobs after removal: %d to %q, want a redirect to sign in", code, h.Get("Location"))
	}
	if resp := site.login(t, site.client(t), "olive", testPassword); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("removed account signs in: %d", resp.StatusCode)
	}
}
