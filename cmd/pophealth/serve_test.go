package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pophealth/pophealth/internal/browsertest"
	"github.com/pophealth/pophealth/internal/synthlake"
	"github.com/pophealth/pophealth/jobs"
	"github.com/pophealth/pophealth/workspace"
)

const servePassword = "serve test password"

// runCLIInput is runCLI with stdin.
func runCLIInput(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(io.Discard)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// freeAddr returns a loopback address no one listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serveWorkspace makes a small demo-like workspace: synthetic feeds, a
// nightly ingest whose last night was missed (so a scheduler starting now
// catches it up at once), the sample reports after it, an MLLP receiver on
// mllpAddr and one account per role.
func serveWorkspace(t *testing.T, mllpAddr string) string {
	t.Helper()
	ws := filepath.Join(t.TempDir(), "ws")
	for _, args := range [][]string{
		{"--workspace", ws, "init"},
		{"--workspace", ws, "synth", "--people", "300", "--seed", "3", "--out", filepath.Join(ws, "feeds")},
	} {
		if out, err := runCLI(t, args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	spec := fmt.Sprintf(`jobs:
  - {name: ingest-feeds, kind: ingest, schedule: "0 2 * * *", time_zone: Europe/London, params: {paths: [feeds, landing/hl7v2]}}
  - {name: sample-reports, kind: report, after: [ingest-feeds], purpose: population-health}
receivers:
  mllp: {listen: "%s", landing: landing/hl7v2}
`, mllpAddr)
	if err := os.MkdirAll(filepath.Join(ws, "jobs"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(ws, "landing", "hl7v2"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "jobs", "test.yaml"), []byte(spec), 0o640); err != nil {
		t.Fatal(err)
	}
	// A purpose written but not yet approved: the IG page lists it as a draft.
	purposeYAML, err := os.ReadFile(filepath.Join("..", "..", "purpose", "examples", "diabetes-phm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "purposes", "diabetes-phm.yaml"), purposeYAML, 0o640); err != nil {
		t.Fatal(err)
	}
	set, err := loadJobs(ws)
	if err != nil {
		t.Fatal(err)
	}
	ingest := set.Job("ingest-feeds")
	var nights []time.Time
	for s := ingest.Next(time.Now().Add(-72 * time.Hour)); !s.After(time.Now()); s = ingest.Next(s) {
		nights = append(nights, s)
	}
	h, err := jobs.OpenHistory(filepath.Join(ws, jobs.RunsDir))
	if err != nil {
		t.Fatal(err)
	}
	prev := nights[len(nights)-2]
	if err := h.Append(jobs.Run{ID: "seed", Job: ingest.Name, Kind: ingest.Kind, Trigger: "schedule", Scheduled: prev, Start: prev, End: prev, Status: jobs.Succeeded}); err != nil {
		t.Fatal(err)
	}
	for _, u := range [][]string{
		{"alice", "--role", "commissioner", "--purpose", "population-health"},
		{"ian", "--role", "ig_lead"},
		{"olive", "--role", "operator"},
	} {
		args := append([]string{"--workspace", ws, "users", "add", "--password-stdin"}, u...)
		if out, err := runCLIInput(t, servePassword+"\n", args...); err != nil {
			t.Fatalf("users add: %v\n%s", err, out)
		}
	}
	return ws
}

// TestServe_RunsJobsServesUsersAndStopsCleanlyOnSIGTERM starts "pophealth
// serve" as a real process on a demo-like workspace and checks what an
// operator relies on: it catches up the missed nightly ingest once and runs
// the reports after it; health, readiness and metrics answer; the MLLP
// receiver lands and acknowledges a message; the three kinds of user reach
// their pages and only theirs; a "jobs run" from another process works
// alongside; SIGTERM stops it cleanly with nothing left running.
func TestServe_RunsJobsServesUsersAndStopsCleanlyOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	httpAddr, mllpAddr := freeAddr(t), freeAddr(t)
	ws := serveWorkspace(t, mllpAddr)
	var stderr bytes.Buffer
	cmd := exec.Command(os.Args[0], "--workspace", ws, "--log-level", "info", "serve", "--listen", httpAddr, "--grace", "30s")
	cmd.Env = append(os.Environ(), asBinaryEnv+"=1")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	}()
	base := "http://" + httpAddr
	h, err := jobs.OpenHistory(filepath.Join(ws, jobs.RunsDir))
	if err != nil {
		t.Fatal(err)
	}
	succeeded := func(job string) int {
		runs, err := h.JobRuns(job)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range runs {
			if r.Status == jobs.Succeeded && r.ID != "seed" {
				n++
			}
		}
		return n
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Minute)
		for !cond() {
			select {
			case err := <-exited:
				t.Fatalf("serve exited while waiting for %s: %v\n%s", what, err, stderr.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s\n%s", what, stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	anon := &http.Client{Timeout: 2 * time.Minute}
	waitFor("/readyz", func() bool {
		resp, err := anon.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	waitFor("the catch-up ingest and the reports after it", func() bool { return succeeded("sample-reports") == 1 })
	if n := succeeded("ingest-feeds"); n != 1 {
		t.Errorf("ingest ran %d times for one missed night, want 1", n)
	}

	// The MLLP receiver acknowledges a message once it has landed it.
	if ack := sendMLLP(t, mllpAddr, "testdata/adt-a01.hl7"); !strings.Contains(ack, "MSA|AA|") {
		t.Errorf("MLLP ack %q, want AA", ack)
	}
	// Another process runs the ingest by hand: it takes the landed message
	// and the reports run after it.
	out, err := runCLI(t, "--workspace", ws, "jobs", "run", "ingest-feeds", "--json")
	if err != nil {
		t.Fatalf("jobs run: %v\n%s", err, out)
	}
	var manual []jobs.Run
	if err := json.Unmarshal([]byte(out), &manual); err != nil {
		t.Fatal(err)
	}
	if len(manual) != 2 || manual[0].RecordsIn != 1 || manual[1].Job != "sample-reports" || manual[1].Status != jobs.Succeeded {
		t.Errorf("jobs run: %+v, want the ingest of 1 message then sample-reports", manual)
	}

	_, metrics := httpGet(t, anon, base+"/metrics")
	for _, want := range []string{
		`pophealth_job_runs_total{job="ingest-feeds",kind="ingest",status="succeeded"} 1`,
		`pophealth_job_runs_total{job="ingest-feeds",kind="ingest",status="missed"} 1`,
		`pophealth_job_run_duration_seconds_count{job="sample-reports",kind="report"} 1`,
		`pophealth_job_queue_lag_seconds_count{job="ingest-feeds",kind="ingest"} 1`,
		`pophealth_job_records_total{direction="in",job="ingest-feeds",kind="ingest"}`,
		`pophealth_mllp_messages_total{ack="AA"} 1`,
		"go_goroutines ",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if code, body := httpGet(t, anon, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}

	// Each kind of user reaches their pages and is refused the others.
	for _, tc := range []struct {
		user    string
		allowed map[string]string
		refused []string
	}{
		{"alice", map[string]string{"/reports": "sample-reports.2", "/reports/sample-reports.2": "<svg", "/reports/sample-reports.1/csv": "Age band,Sex,People"}, []string{"/ops/jobs", "/ig/audit"}},
		{"ian", map[string]string{"/ig/audit": "serve.start", "/ig/purposes": "status-draft"}, []string{"/reports", "/ops/jobs"}},
		{"olive", map[string]string{"/ops/jobs": "ingest-feeds"}, []string{"/reports", "/ig/purposes"}},
	} {
		c := signedIn(t, base, tc.user)
		for path, want := range tc.allowed {
			if code, body := httpGet(t, c, base+path); code != 200 || !strings.Contains(body, want) {
				t.Errorf("%s %s: %d, want 200 with %q", tc.user, path, code, want)
			}
		}
		for _, path := range tc.refused {
			if code, _ := httpGet(t, c, base+path); code != http.StatusForbidden {
				t.Errorf("%s %s: %d, want 403", tc.user, path, code)
			}
		}
	}

	// An account added while serve runs works without a restart.
	if out, err := runCLIInput(t, servePassword+"\n", "--workspace", ws, "users", "add", "carol", "--role", "operator", "--password-stdin"); err != nil {
		t.Fatalf("users add: %v\n%s", err, out)
	}
	waitFor("serve to load the new account", func() bool {
		_, code := signIn(t, base, "carol")
		return code == http.StatusSeeOther
	})

	t.Run("in the browser", func(t *testing.T) { browseServedWorkspace(t, base) })

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("serve exited with %v after SIGTERM\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("serve still running 30s after SIGTERM\n%s", stderr.String())
	}
	runs, err := h.Runs()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if r.Status == jobs.Running {
			t.Errorf("run %s of %s left running after shutdown", r.ID, r.Job)
		}
	}
	if !strings.Contains(stderr.String(), "pophealth serve: stopped") {
		t.Errorf("serve did not report a clean stop:\n%s", stderr.String())
	}

	// The CLI reads the same history.
	out, err = runCLI(t, "--workspace", ws, "jobs", "status", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var st []jobs.JobStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 || st[0].Name != "ingest-feeds" || st[0].Last == nil || st[0].Last.Status != jobs.Succeeded || st[0].Next.IsZero() || st[1].Schedule != "after ingest-feeds" {
		t.Errorf("jobs status: %s", out)
	}
	out, err = runCLI(t, "--workspace", ws, "jobs", "history", "ingest-feeds", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var hist []jobs.Run
	if err := json.Unmarshal([]byte(out), &hist); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range hist {
		got = append(got, r.Trigger+" "+string(r.Status))
	}
	if want := "manual succeeded,catch-up succeeded,schedule missed,schedule succeeded"; strings.Join(got, ",") != want {
		t.Errorf("jobs history, newest first: %v, want %s", got, want)
	}
}

func TestJobKinds_ExampleJobFilesLoad(t *testing.T) {
	files := map[string][]byte{}
	entries, err := jobs.Examples.ReadDir("examples")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := jobs.Examples.ReadFile("examples/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		// Each file alone: both configure an MLLP receiver.
		set, err := jobs.Parse(map[string][]byte{e.Name(): b}, jobKinds())
		if err != nil {
			t.Errorf("%s: %v", e.Name(), err)
			continue
		}
		files[e.Name()] = b
		if len(set.Jobs) < 4 || set.MLLP == nil {
			t.Errorf("%s: %d jobs, mllp %v", e.Name(), len(set.Jobs), set.MLLP)
		}
	}
	if len(files) != 2 {
		t.Errorf("example files %v, want demo.yaml and nightly.yaml", entries)
	}
	if _, err := jobs.Parse(files, jobKinds()); err == nil || !strings.Contains(err.Error(), "one receiver per workspace") {
		t.Errorf("two files with receivers.mllp: %v, want a refusal", err)
	}
	bad := map[string][]byte{"bad.yaml": []byte("jobs: [{name: r, kind: report, params: {as_of: 2026-13-01}}]")}
	if _, err := jobs.Parse(bad, jobKinds()); err == nil || !strings.Contains(err.Error(), `bad.yaml:1: job "r": params: date "2026-13-01"`) {
		t.Errorf("bad as_of: %v", err)
	}
}

// sendMLLP sends the HL7 v2 message in file over MLLP and returns the ACK.
func sendMLLP(t *testing.T, addr, file string) string {
	t.Helper()
	msg, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write(append(append([]byte{0x0b}, msg...), 0x1c, 0x0d)); err != nil {
		t.Fatal(err)
	}
	ack, err := bufio.NewReader(conn).ReadString(0x1c)
	if err != nil {
		t.Fatalf("MLLP ack: %v", err)
	}
	return ack
}

func httpGet(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// signedIn returns a client signed in as user through the sign-in form.
func signedIn(t *testing.T, base, user string) *http.Client {
	t.Helper()
	c, code := signIn(t, base, user)
	if code != http.StatusSeeOther {
		t.Fatalf("sign in %s: %d", user, code)
	}
	return c
}

// signIn posts the sign-in form for user and returns the client and the
// status (303 when signed in). Its time limit allows for bcrypt (cost 12)
// under the race detector.
func signIn(t *testing.T, base, user string) (*http.Client, int) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 2 * time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(url.Values{"name": {user}, "password": {servePassword}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return c, resp.StatusCode
}

// browseServedWorkspace has the three kinds of user do their work on the
// served workspace in headless Chromium, keeping a screenshot of each page.
func browseServedWorkspace(t *testing.T, base string) {
	ctx := browsertest.Start(t, 120*time.Second)
	shots := browsertest.ShotsDir(t)
	shot := func(name string) chromedp.Action { return browsertest.Shot(shots, name) }
	var reports, pyramid, csvLink, auditPage, purposes, jobsPage, refused string
	err := chromedp.Run(ctx,
		// A commissioner opens the published reports, the chart and the pyramid.
		browsertest.SignIn(base, "alice", servePassword),
		chromedp.Click(`a[href="/reports"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`table.list`, chromedp.ByQuery),
		browsertest.Text(`main`, &reports),
		shot("serve-commissioner-reports.png"),
		chromedp.Click(`a[href="/reports/sample-reports.1"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`svg`, chromedp.ByQuery),
		shot("serve-commissioner-prevalence.png"),
		chromedp.Navigate(base+"/reports/sample-reports.2"),
		chromedp.WaitVisible(`svg`, chromedp.ByQuery),
		browsertest.Text(`main`, &pyramid),
		chromedp.AttributeValue(`a[href$="/csv"]`, "href", &csvLink, nil, chromedp.ByQuery),
		shot("serve-commissioner-pyramid.png"),
		chromedp.Navigate(base+"/ops/jobs"),
		chromedp.WaitVisible(`p.error`, chromedp.ByQuery),
		browsertest.Text(`main`, &refused),
		browsertest.SignOut(),

		// An IG lead reads the audit trail the service wrote.
		browsertest.SignIn(base, "ian", servePassword),
		chromedp.Navigate(base+"/ig/audit"),
		chromedp.WaitVisible(`table.list`, chromedp.ByQuery),
		browsertest.Text(`main`, &auditPage),
		shot("serve-ig-audit.png"),
		chromedp.Navigate(base+"/ig/purposes"),
		chromedp.WaitVisible(`main`, chromedp.ByQuery),
		browsertest.Text(`main`, &purposes),
		shot("serve-ig-purposes.png"),
		browsertest.SignOut(),

		// An operator watches the jobs.
		browsertest.SignIn(base, "olive", servePassword),
		chromedp.Navigate(base+"/ops/jobs"),
		chromedp.WaitVisible(`table.list`, chromedp.ByQuery),
		browsertest.Text(`main`, &jobsPage),
		shot("serve-operator-jobs.png"),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	for _, c := range []struct{ page, got, want string }{
		{"reports", reports, "People with type 2 diabetes and at least one other long-term condition"},
		{"pyramid report", pyramid, "Small numbers"},
		{"refused jobs page", refused, "needs the operator role"},
		{"audit", auditPage, "Hash chain verified"},
		{"audit", auditPage, "web.download"},
		{"purposes", purposes, "diabetes-phm"},
		{"purposes", purposes, "draft"},
		{"jobs", jobsPage, "sample-reports"},
		{"jobs", jobsPage, "succeeded"},
	} {
		if !strings.Contains(c.got, c.want) {
			t.Errorf("%s page: want %q in\n%s", c.page, c.want, c.got)
		}
	}
	if csvLink != "/reports/sample-reports.2/csv" {
		t.Errorf("CSV link %q", csvLink)
	}
	browsertest.CheckShots(t, shots, "serve-commissioner-reports.png", "serve-commissioner-prevalence.png", "serve-commissioner-pyramid.png",
		"serve-ig-audit.png", "serve-ig-purposes.png", "serve-operator-jobs.png")
	t.Logf("screenshots in %s", shots)
}

// The risk and cohort kinds run their commands and publish what the
// commands print, with the job's purpose, for the web front.
func TestJobKinds_RiskFitThenRiskRunAndCohortPublishReports(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the synthetic pipeline")
	}
	dir := filepath.Join(t.TempDir(), "ws")
	if _, err := workspace.Init(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := synthlake.Build(t.Context(), dir, 3000, 21); err != nil {
		t.Fatal(err)
	}
	spec, err := filepath.Abs(exampleSpec)
	if err != nil {
		t.Fatal(err)
	}
	jobFile := fmt.Sprintf(`jobs:
  - {name: fit, kind: risk fit, purpose: p1}
  - {name: tiers, kind: risk run, after: [fit], purpose: p1}
  - {name: cohort, kind: cohort run, after: [fit], purpose: p2, params: {spec: %q}}
`, spec)
	if err := os.MkdirAll(filepath.Join(dir, jobs.SpecDir), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, jobs.SpecDir, "j.yaml"), []byte(jobFile), 0o640); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "--workspace", dir, "jobs", "run", "fit", "--json")
	if err != nil {
		t.Fatalf("jobs run: %v\n%s", err, out)
	}
	var runs []jobs.Run
	if err := json.Unmarshal([]byte(out), &runs); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"fit":    "Emergency admission in 12 months: logistic regression coefficients",
		"tiers":  "Risk stratification by predicted emergency admission in the next 12 months",
		"cohort": "members by risk tier",
	}
	if len(runs) != 3 {
		t.Fatalf("runs %+v, want fit, tiers, cohort", runs)
	}
	for _, r := range runs {
		if r.Status != jobs.Succeeded || len(r.Reports) == 0 || r.RecordsOut == 0 {
			t.Errorf("%s: %s, %d reports, %d rows: %s", r.Job, r.Status, len(r.Reports), r.RecordsOut, r.Error)
			continue
		}
		var titles []string
		for _, ref := range r.Reports {
			titles = append(titles, ref.Title)
		}
		if !strings.Contains(strings.Join(titles, "|"), want[r.Job]) {
			t.Errorf("%s published %v, want %q among them", r.Job, titles, want[r.Job])
		}
	}
	if v := runs[0].Detail["model_version"]; v == "" || v == nil {
		t.Errorf("fit detail %v lacks the model version", runs[0].Detail)
	}

	// The web front's source shows each report under its job's purpose,
	// and reads it back with its cells intact.
	_, runner, err := openRunner(&globals{workspace: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	src := publishedReports{runner}
	list, err := src.ListReports(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	purposes := map[string]string{}
	for _, x := range list {
		purposes[x.ID] = x.Purpose
	}
	if purposes["fit.1"] != "p1" || purposes["tiers.1"] != "p1" || purposes["cohort.1"] != "p2" {
		t.Errorf("published %v", purposes)
	}
	rep, err := src.Report(t.Context(), "tiers.1")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 4 || rep.Rows[3][0].String() != "Low (remaining 80%)" {
		t.Errorf("tiers report read back: %+v", rep.Rows)
	}
	if _, err := src.Report(t.Context(), "tiers.9"); err == nil {
		t.Error("a report the run did not publish was served")
	}
}
