package jobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pophealth/pophealth/workspace"
)

// testKindParams are the params of the test kind "work".
type testKindParams struct {
	// Sleep is how long a run takes, unless its context ends first.
	Sleep time.Duration `yaml:"sleep"`
	// Fail is how many attempts fail before one succeeds (-1: all).
	Fail int `yaml:"fail"`
	// Unchanged makes runs report nothing new.
	Unchanged bool `yaml:"unchanged"`
}

// counter counts a test kind's attempts, across every runner sharing it.
type counter struct{ attempts, runs atomic.Int64 }

// testRegistry has the kind "work", which sleeps and fails as its params
// say and counts its attempts in c.
func testRegistry(c *counter) Registry {
	return Registry{"work": NewKind(func(ctx context.Context, t Task, p testKindParams) (Result, error) {
		n := c.attempts.Add(1)
		select {
		case <-time.After(p.Sleep):
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
		if p.Fail < 0 || n <= int64(p.Fail) {
			return Result{}, fmt.Errorf("attempt %d fails on purpose", n)
		}
		c.runs.Add(1)
		return Result{RecordsIn: 10, RecordsOut: 9, Unchanged: p.Unchanged}, nil
	})}
}

func testWorkspace(t *testing.T) *workspace.Workspace {
	t.Helper()
	ws, err := workspace.Init(t.TempDir() + "/ws")
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

func testRunner(t *testing.T, ws *workspace.Workspace, reg Registry, yml string) *Runner {
	t.Helper()
	set, err := Parse(map[string][]byte{"test.yaml": []byte(yml)}, reg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(ws, set, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.sleep = func(ctx context.Context, d time.Duration) error { return sleepCtx(ctx, d/1000) }
	return r
}

// statuses returns the job's runs' statuses in order.
func statuses(t *testing.T, r *Runner, job string) []Status {
	t.Helper()
	runs, err := r.hist.JobRuns(job)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]Status, len(runs))
	for i, x := range runs {
		out[i] = x.Status
	}
	return out
}

// waitUntil polls cond; the deadline is generous because the race
// detector on a shared 2-core machine slows a real ingest tenfold.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func countStatus(ss []Status, s Status) int {
	n := 0
	for _, x := range ss {
		if x == s {
			n++
		}
	}
	return n
}

func TestScheduler_TwoSchedulersOnOneWorkspaceRunEachSlotOnce(t *testing.T) {
	ws := testWorkspace(t)
	var c counter
	const spec = "jobs:\n  - {name: every-minute, kind: work, schedule: '* * * * *', params: {sleep: 300ms}}\n"
	// Both schedulers' clocks stand 150 ms before a minute boundary, so
	// the same scheduled time falls due in both almost at once.
	real := time.Now()
	offset := real.Truncate(time.Minute).Add(time.Minute - 150*time.Millisecond).Sub(real)
	clock := func() time.Time { return time.Now().Add(offset) }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var runners [2]*Runner
	errs := make(chan error, 2)
	for i := range runners {
		runners[i] = testRunner(t, ws, testRegistry(&c), spec) // own history, own lock descriptors
		runners[i].now = clock
		s := NewScheduler(runners[i], time.Second)
		go func() { errs <- s.Run(ctx) }()
	}
	waitUntil(t, "one run and one skip", func() bool {
		ss := statuses(t, runners[0], "every-minute")
		return countStatus(ss, Succeeded)+countStatus(ss, Skipped) >= 2
	})
	cancel()
	for range runners {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := c.attempts.Load(); got != 1 {
		t.Errorf("job ran %d times for one scheduled time, want 1", got)
	}
	runs, _ := runners[1].hist.JobRuns("every-minute")
	var slots []time.Time
	for _, x := range runs {
		slots = append(slots, x.Scheduled)
		if x.Status == Skipped && !strings.Contains(x.Error, "already") {
			t.Errorf("skip reason %q, want it to say the run is already running or ran", x.Error)
		}
	}
	if len(runs) != 2 || !slots[0].Equal(slots[1]) {
		t.Errorf("history %+v: want one succeeded and one skipped record for the same slot", runs)
	}
}

func TestScheduler_CatchesUpMissedNightlyRunOnce(t *testing.T) {
	ws := testWorkspace(t)
	var c counter
	r := testRunner(t, ws, testRegistry(&c), "jobs:\n  - {name: nightly, kind: work, schedule: '30 1 * * *', time_zone: Europe/London}\n")
	london := mustLondon(t)
	// The last run was for 01:30 four nights ago; three nights were missed.
	now := time.Now().In(london)
	last := r.set.Job("nightly").Next(now.AddDate(0, 0, -5))
	if err := r.hist.Append(Run{ID: "seed", Job: "nightly", Kind: "work", Trigger: "schedule", Scheduled: last, Start: last, End: last, Status: Succeeded}); err != nil {
		t.Fatal(err)
	}
	latest, want := r.set.Job("nightly").schedule.Missed(last, now)
	if want < 3 {
		t.Fatalf("test set-up: %d missed", want)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- NewScheduler(r, time.Second).Run(ctx) }()
	waitUntil(t, "the catch-up run", func() bool { return countStatus(statuses(t, r, "nightly"), Succeeded) == 2 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	runs, _ := r.hist.JobRuns("nightly")
	if got := statuses(t, r, "nightly"); strings.Join(statusStrings(got), ",") != "succeeded,missed,succeeded" {
		t.Fatalf("history %v, want succeeded,missed,succeeded", got)
	}
	if m := runs[1]; m.MissedRuns != want || !m.Scheduled.Equal(latest) {
		t.Errorf("missed record: %d runs up to %v, want %d up to %v", m.MissedRuns, m.Scheduled, want, latest)
	}
	if run := runs[2]; run.Trigger != "catch-up" || !run.Scheduled.Equal(latest) {
		t.Errorf("catch-up run: trigger %q for %v, want catch-up for %v", run.Trigger, run.Scheduled, latest)
	}
	if got := c.attempts.Load(); got != 1 {
		t.Errorf("job ran %d times, want 1", got)
	}

	// A second start finds nothing owed.
	ctx, cancel = context.WithCancel(context.Background())
	s := NewScheduler(r, time.Second)
	go func() { done <- s.Run(ctx) }()
	waitUntil(t, "scheduler ready", s.Ready)
	cancel()
	<-done
	if got := len(statuses(t, r, "nightly")); got != 3 {
		t.Errorf("restart added records: %d, want 3", got)
	}
}

func statusStrings(ss []Status) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

func TestRunner_RetriesWithBackoffThenRecordsOutcome(t *testing.T) {
	tests := []struct {
		name         string
		params       string
		wantStatus   Status
		wantAttempts int
		wantErr      string
	}{
		{"succeeds first time", "{}", Succeeded, 1, ""},
		{"succeeds on the third attempt", "{fail: 2}", Succeeded, 3, ""},
		{"fails every attempt", "{fail: -1}", Failed, 3, "attempt 3 fails on purpose"},
		{"times out", "{sleep: 1h}", Failed, 3, "timed out after 50ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c counter
			r := testRunner(t, testWorkspace(t), testRegistry(&c),
				"jobs:\n  - {name: j, kind: work, retries: 2, backoff: 10s, timeout: 50ms, params: "+tc.params+"}\n")
			var waits []time.Duration
			r.sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
			rec, _, err := r.Run(context.Background(), r.set.Job("j"), Trigger{Reason: "manual", Manual: true})
			if err != nil {
				t.Fatal(err)
			}
			if rec.Status != tc.wantStatus || rec.Attempts != tc.wantAttempts || !strings.Contains(rec.Error, tc.wantErr) {
				t.Errorf("run: %s after %d attempts (%q), want %s after %d (%q)", rec.Status, rec.Attempts, rec.Error, tc.wantStatus, tc.wantAttempts, tc.wantErr)
			}
			wantWaits := []time.Duration{10 * time.Second, 20 * time.Second}[:tc.wantAttempts-1]
			if fmt.Sprint(waits) != fmt.Sprint(wantWaits) {
				t.Errorf("backoff waits %v, want %v", waits, wantWaits)
			}
			if tc.wantStatus == Succeeded && (rec.RecordsIn != 10 || rec.RecordsOut != 9) {
				t.Errorf("records %d in, %d out; want 10, 9", rec.RecordsIn, rec.RecordsOut)
			}
			if got := statuses(t, r, "j"); len(got) != 1 || got[0] != tc.wantStatus {
				t.Errorf("history %v, want one %s record", got, tc.wantStatus)
			}
		})
	}
}

func TestScheduler_DependentsRunAfterSuccessWithNewData(t *testing.T) {
	tests := []struct {
		name, ingest string
		wantReport   []Status
	}{
		{"new data", "{}", []Status{Succeeded}},
		{"nothing new", "{unchanged: true}", nil},
		{"ingest failed", "{fail: -1}", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c counter
			r := testRunner(t, testWorkspace(t), testRegistry(&c), "jobs:\n"+
				"  - {name: ingest, kind: work, params: "+tc.ingest+"}\n"+
				"  - {name: report, kind: work, after: [ingest]}\n")
			s := NewScheduler(r, time.Second)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()
			s.Enqueue(r.set.Job("ingest"), Trigger{Reason: "manual", Manual: true})
			waitUntil(t, "ingest to finish", func() bool { return len(statuses(t, r, "ingest")) == 1 && statuses(t, r, "ingest")[0] != Running })
			time.Sleep(50 * time.Millisecond) // time for a dependent to be queued and run
			waitUntil(t, "report to finish", func() bool {
				ss := statuses(t, r, "report")
				return len(ss) == len(tc.wantReport) && (len(ss) == 0 || ss[0] != Running)
			})
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if got := statuses(t, r, "report"); fmt.Sprint(got) != fmt.Sprint(tc.wantReport) {
				t.Errorf("report runs %v, want %v", got, tc.wantReport)
			}
		})
	}
}

func TestRunner_SkipsScheduledRunWhoseDependencyFailed(t *testing.T) {
	var c counter
	r := testRunner(t, testWorkspace(t), testRegistry(&c), "jobs:\n"+
		"  - {name: ingest, kind: work, params: {fail: -1}}\n"+
		"  - {name: report, kind: work, schedule: '@daily', after: [ingest]}\n")
	ctx := context.Background()
	rec, _, err := r.Run(ctx, r.set.Job("report"), Trigger{Reason: "schedule", Slot: time.Now().Truncate(time.Hour)})
	if err != nil || rec.Status != Skipped || !strings.Contains(rec.Error, "dependency ingest has not run") {
		t.Fatalf("before any ingest: %s %q %v, want skipped for the dependency", rec.Status, rec.Error, err)
	}
	if _, _, err := r.Run(ctx, r.set.Job("ingest"), Trigger{Reason: "manual", Manual: true}); err != nil {
		t.Fatal(err)
	}
	rec, _, _ = r.Run(ctx, r.set.Job("report"), Trigger{Reason: "schedule", Slot: time.Now().Truncate(time.Hour)})
	if rec.Status != Skipped || !strings.Contains(rec.Error, "failed") {
		t.Errorf("after a failed ingest: %s %q, want skipped naming the failure", rec.Status, rec.Error)
	}
	rec, _, _ = r.Run(ctx, r.set.Job("report"), Trigger{Reason: "manual", Manual: true})
	if rec.Status != Succeeded {
		t.Errorf("manual run: %s, want it to run whatever the dependency did", rec.Status)
	}
}

func TestScheduler_ShutdownLetsRunFinishWithinGraceOrAbortsIt(t *testing.T) {
	tests := []struct {
		name  string
		grace time.Duration
		want  Status
	}{
		{"finishes within the grace period", 5 * time.Second, Succeeded},
		{"aborted when the grace period ends", 50 * time.Millisecond, Aborted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c counter
			r := testRunner(t, testWorkspace(t), testRegistry(&c), "jobs:\n"+
				"  - {name: slow, kind: work, params: {sleep: 500ms}}\n"+
				"  - {name: next, kind: work}\n")
			s := NewScheduler(r, tc.grace)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()
			s.Enqueue(r.set.Job("slow"), Trigger{Reason: "manual", Manual: true})
			s.Enqueue(r.set.Job("next"), Trigger{Reason: "manual", Manual: true})
			waitUntil(t, "the slow run to start", func() bool { return len(statuses(t, r, "slow")) == 1 })
			start := time.Now()
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if got := statuses(t, r, "slow"); len(got) != 1 || got[0] != tc.want {
				t.Errorf("slow run %v, want %s", got, tc.want)
			}
			if got := statuses(t, r, "next"); len(got) != 0 {
				t.Errorf("queued run started during shutdown: %v", got)
			}
			if tc.want == Aborted && time.Since(start) > 2*time.Second {
				t.Errorf("shutdown took %v with a 50ms grace period", time.Since(start))
			}
		})
	}
}

func TestRunner_ClosesRunLeftRunningByDeadProcess(t *testing.T) {
	var c counter
	r := testRunner(t, testWorkspace(t), testRegistry(&c), "jobs:\n  - {name: j, kind: work}\n")
	// No process has a pid this high (the kernel's limit is 2^22): the
	// run's process is gone.
	dead := Run{ID: "dead", Job: "j", Kind: "work", Trigger: "schedule", Start: time.Now().Add(-time.Hour), Status: Running, PID: 1 << 30, Host: r.host}
	if err := r.hist.Append(dead); err != nil {
		t.Fatal(err)
	}
	st, err := r.Statuses(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st[0].Last.Status != Interrupted || st[0].RecentFailures != 1 {
		t.Errorf("status shows %s with %d failures, want interrupted with 1", st[0].Last.Status, st[0].RecentFailures)
	}
	if _, _, err := r.Run(context.Background(), r.set.Job("j"), Trigger{Reason: "manual", Manual: true}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(statuses(t, r, "j")); got != "[interrupted succeeded]" {
		t.Errorf("history %s, want [interrupted succeeded]", got)
	}
}

func TestParse_RefusesBadSpecs(t *testing.T) {
	var c counter
	reg := testRegistry(&c)
	tests := []struct{ name, yml, want string }{
		{"unknown kind", "jobs: [{name: a, kind: nope}]", `unknown kind "nope" (known: work)`},
		{"bad name", "jobs: [{name: A B, kind: work}]", "name must be"},
		{"duplicate", "jobs: [{name: a, kind: work}, {name: a, kind: work}]", "defined twice (first at test.yaml:1)"},
		{"bad schedule", "jobs: [{name: a, kind: work, schedule: '* *'}]", "expected exactly 5 fields"},
		{"bad zone", "jobs: [{name: a, kind: work, schedule: '@daily', time_zone: Moon/Base}]", "time zone"},
		{"zone without schedule", "jobs: [{name: a, kind: work, time_zone: UTC}]", "time_zone given without a schedule"},
		{"unknown field", "jobs: [{name: a, kind: work, retry: 3}]", "field retry not found"},
		{"unknown param", "jobs: [{name: a, kind: work, params: {slep: 1s}}]", `job "a": params: (line 1) yaml: unmarshal errors`},
		{"too many retries", "jobs: [{name: a, kind: work, retries: 11}]", "retries 11: want 0 to 10"},
		{"missing dependency", "jobs: [{name: a, kind: work, after: [b]}]", `after: no job called "b"`},
		{"cycle", "jobs: [{name: a, kind: work, after: [b]}, {name: b, kind: work, after: [a]}]", "dependency cycle: a -> b -> a"},
		{"mllp without listen", "receivers: {mllp: {landing: x}}", "receivers.mllp: listen"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(map[string][]byte{"test.yaml": []byte(tc.yml)}, reg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestParse_AppliesDefaults(t *testing.T) {
	var c counter
	set, err := Parse(map[string][]byte{"a.yaml": []byte("jobs:\n  - name: a\n    kind: work\n")}, testRegistry(&c))
	if err != nil {
		t.Fatal(err)
	}
	j := set.Job("a")
	if j.Timeout != DefaultTimeout || j.Backoff != DefaultBackoff || j.Retries != 0 || j.Line != 2 || j.Describe() != "on demand" {
		t.Errorf("defaults: timeout %v backoff %v retries %d line %d %q", j.Timeout, j.Backoff, j.Retries, j.Line, j.Describe())
	}
}

func TestHistory_SkipsLineCutShortByCrash(t *testing.T) {
	h, err := OpenHistory(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Append(Run{ID: "a", Job: "j", Status: Running}); err != nil {
		t.Fatal(err)
	}
	// A crash mid-write leaves half a line.
	if err := appendRaw(h.path, `{"id":"b","job":"j","sta`); err != nil {
		t.Fatal(err)
	}
	if err := h.Append(Run{ID: "a", Job: "j", Status: Succeeded}); err != nil {
		t.Fatal(err)
	}
	runs, err := h.Runs()
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Status != Succeeded {
		t.Errorf("runs %+v, want run a succeeded only", runs)
	}
}

func appendRaw(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(s)
	return errors.Join(err, f.Close())
}

// FuzzParse checks that job files either load into a valid set or fail
// with an error naming the file, never panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"jobs: [{name: a, kind: work, schedule: '@daily', after: [b]}, {name: b, kind: work}]",
		"receivers: {mllp: {listen: ':2575'}}",
		"jobs:\n  - name: a\n    kind: work\n    params: {sleep: 1s, fail: 2}\n",
	} {
		f.Add([]byte(s))
	}
	var c counter
	reg := testRegistry(&c)
	f.Fuzz(func(t *testing.T, b []byte) {
		set, err := Parse(map[string][]byte{"f.yaml": b}, reg)
		if err != nil {
			if !strings.Contains(err.Error(), "f.yaml") && !strings.Contains(err.Error(), "dependency cycle") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, j := range set.Jobs {
			if set.Job(j.Name) != j || j.Timeout <= 0 || j.Backoff <= 0 {
				t.Fatalf("job %+v not validated", j)
			}
			set.downstream(j) // terminates: no cycles
		}
	})
}
