package jobs

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/workspace"
)

// Environment of the scheduler process that
// TestScheduler_KillNineMidRunThenRestart kills.
const (
	schedulerChildEnv = "POPHEALTH_SCHEDULER_CHILD" // the workspace
	schedulerGraceEnv = "POPHEALTH_SCHEDULER_GRACE" // the grace period on SIGTERM
	schedulerReadyEnv = "POPHEALTH_SCHEDULER_READY" // a directory to mark ready-<pid> in once caught up
)

// crashRegistry has the real ingest kind.
var crashRegistry = Registry{"ingest": NewKind(RunIngest)}

// TestSchedulerChild is not a test: it is the scheduler process (with the
// workspace's job files and the real ingest kind) that
// TestScheduler_KillNineMidRunThenRestart kills. It does nothing unless
// started by it.
func TestSchedulerChild(t *testing.T) {
	dir := os.Getenv(schedulerChildEnv)
	if dir == "" {
		t.Skip("only run as TestScheduler_KillNineMidRunThenRestart's child")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	grace, _ := time.ParseDuration(os.Getenv(schedulerGraceEnv))
	ready := func(*Scheduler) {}
	if d := os.Getenv(schedulerReadyEnv); d != "" {
		ready = func(s *Scheduler) {
			for !s.Ready() {
				time.Sleep(time.Millisecond)
			}
			os.WriteFile(filepath.Join(d, fmt.Sprintf("ready-%d", os.Getpid())), nil, 0o600)
		}
	}
	if err := runWorkspaceScheduler(ctx, dir, grace, ready); err != nil {
		t.Fatal(err)
	}
}

// runWorkspaceScheduler runs a scheduler on the workspace in dir until ctx
// ends; started, if given, is called in a goroutine with the scheduler.
func runWorkspaceScheduler(ctx context.Context, dir string, grace time.Duration, started ...func(*Scheduler)) error {
	ws, err := workspace.Open(dir)
	if err != nil {
		return err
	}
	set, err := LoadDir(filepath.Join(dir, SpecDir), crashRegistry)
	if err != nil {
		return err
	}
	r, err := NewRunner(ws, set, nil, nil)
	if err != nil {
		return err
	}
	s := NewScheduler(r, grace)
	for _, f := range started {
		go f(s)
	}
	return s.Run(ctx)
}

// TestScheduler_KillNineMidRunThenRestart runs the scheduler in a real
// process that catches up a missed nightly ingest, stops it mid-run
// (SIGKILL, or SIGTERM with no grace period), and restarts a scheduler on
// the workspace: the restart records the crashed run as interrupted (the
// stopped one was recorded aborted), runs the missed night once more, and
// the lake then holds exactly what one uninterrupted ingest writes.
func TestScheduler_KillNineMidRunThenRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	opts := synthFeeds(t, dir, 300, 5)
	ref, err := lake.Open(filepath.Join(dir, "reference"))
	if err != nil {
		t.Fatal(err)
	}
	refWS := testWorkspace(t)
	key, err := refWS.LakeKey()
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	want, err := Ingest(context.Background(), ref, IngestOptions{Paths: []string{opts.OutDir}, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	window := time.Since(t0)
	wantRows := sum(want.Rows)

	for _, tc := range []struct {
		name   string
		signal syscall.Signal
		pct    int
		cut    Status // the stopped run's status if the signal landed mid-run
	}{
		{"SIGKILL as the run starts", syscall.SIGKILL, 0, Interrupted},
		{"SIGKILL half way through a run", syscall.SIGKILL, 50, Interrupted},
		{"SIGTERM without grace as the run starts", syscall.SIGTERM, 0, Aborted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws, r, owed := missedNightWorkspace(t, opts.OutDir)
			j := r.set.Job("nightly-ingest")

			child := startTestChild(t, "TestSchedulerChild", schedulerChildEnv+"="+ws.Dir, schedulerGraceEnv+"=0s")
			waitUntil(t, "the child's catch-up run to start", func() bool {
				ss := statuses(t, r, j.Name)
				last := ss[len(ss)-1]
				return last == Running || len(ss) >= 3 && last == Succeeded
			})
			time.Sleep(window * time.Duration(tc.pct) / 100)
			if err := child.Process.Signal(tc.signal); err != nil {
				t.Fatal(err)
			}
			child.Wait()
			before := statuses(t, r, j.Name)
			last := before[len(before)-1]
			cutMidRun := last == Running || last == Aborted
			t.Logf("history when stopped: %v", before)
			if tc.pct == 0 && !cutMidRun {
				t.Fatalf("the signal did not land mid-run: %v", before)
			}
			if tc.signal == syscall.SIGTERM && cutMidRun {
				if left := tempFiles(t, ws.LakeDir()); len(left) > 0 {
					t.Errorf("aborted run left temporary files: %v", left)
				}
			}

			// Restart: a scheduler on the same workspace catches up.
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- runWorkspaceScheduler(ctx, ws.Dir, time.Minute) }()
			waitUntil(t, "the restart's run", func() bool {
				ss := statuses(t, r, j.Name)
				return ss[len(ss)-1] == Succeeded
			})
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			wantHistory := "[succeeded missed succeeded]"
			if cutMidRun {
				wantHistory = fmt.Sprintf("[succeeded missed %s succeeded]", tc.cut)
			}
			if got := fmt.Sprint(statuses(t, r, j.Name)); got != wantHistory {
				t.Errorf("history %s, want %s", got, wantHistory)
			}
			runs, _ := r.hist.JobRuns(j.Name)
			for _, x := range runs[1:] {
				if !x.Scheduled.Equal(owed) {
					t.Errorf("run %s %s is for %v, want last night %v", x.ID, x.Status, x.Scheduled, owed)
				}
			}

			lk, err := lake.Open(ws.LakeDir())
			if err != nil {
				t.Fatal(err)
			}
			if err := lk.Verify(context.Background()); err != nil {
				t.Error(err)
			}
			ms, err := lk.Manifests()
			if err != nil {
				t.Fatal(err)
			}
			if rows := manifestRows(ms); len(ms) != 1 || rows != wantRows {
				t.Errorf("lake: %d batches, %d rows; one uninterrupted ingest writes 1 batch, %d rows", len(ms), rows, wantRows)
			}
			if left := tempFiles(t, ws.LakeDir()); len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

// missedNightWorkspace makes a workspace whose nightly ingest of feeds ran
// the night before last and missed last night, so that a scheduler
// starting on it catches up at once. It returns a runner on it (for
// reading the history) and the owed night.
func missedNightWorkspace(t *testing.T, feeds string) (*workspace.Workspace, *Runner, time.Time) {
	t.Helper()
	ws := testWorkspace(t)
	spec := fmt.Sprintf("jobs:\n  - {name: nightly-ingest, kind: ingest, schedule: '0 2 * * *', time_zone: Europe/London, params: {paths: [%s]}}\n", feeds)
	if err := os.MkdirAll(filepath.Join(ws.Dir, SpecDir), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws.Dir, SpecDir, "ingest.yaml"), []byte(spec), 0o640); err != nil {
		t.Fatal(err)
	}
	r := testRunner(t, ws, crashRegistry, spec)
	j := r.set.Job("nightly-ingest")
	var nights []time.Time
	for s := j.Next(time.Now().Add(-72 * time.Hour)); !s.After(time.Now()); s = j.Next(s) {
		nights = append(nights, s)
	}
	prev := nights[len(nights)-2]
	if err := r.hist.Append(Run{ID: "seed", Job: j.Name, Kind: j.Kind, Trigger: "schedule", Scheduled: prev, Start: prev, End: prev, Status: Succeeded}); err != nil {
		t.Fatal(err)
	}
	return ws, r, nights[len(nights)-1]
}

// TestScheduler_TwoProcessesOnOneWorkspaceCatchUpOnce starts two real
// scheduler processes on a workspace at once. Both may find last night's
// ingest owed; it runs once (one batch in the lake) and the missed night is
// recorded once. The second process records a skip if it caught up while
// the first was still on it, or finds nothing owed if after.
func TestScheduler_TwoProcessesOnOneWorkspaceCatchUpOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	opts := synthFeeds(t, t.TempDir(), 200, 6)
	ws, r, owed := missedNightWorkspace(t, opts.OutDir)
	marks := t.TempDir()
	var children []*exec.Cmd
	for range 2 {
		children = append(children, startTestChild(t, "TestSchedulerChild", schedulerChildEnv+"="+ws.Dir, schedulerGraceEnv+"=1m", schedulerReadyEnv+"="+marks))
	}
	waitUntil(t, "both schedulers caught up and the run done", func() bool {
		ready, _ := filepath.Glob(filepath.Join(marks, "ready-*"))
		return len(ready) == 2 && countStatus(statuses(t, r, "nightly-ingest"), Succeeded) >= 2
	})
	time.Sleep(100 * time.Millisecond) // a second run, were there one, would have started by now
	for _, c := range children {
		if err := c.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := c.Wait(); err != nil {
			t.Errorf("scheduler process: %v", err)
		}
	}
	runs, _ := r.hist.JobRuns("nightly-ingest")
	var got []string
	for _, x := range runs[1:] {
		got = append(got, string(x.Status))
		if !x.Scheduled.Equal(owed) {
			t.Errorf("%s record for %v, want last night %v", x.Status, x.Scheduled, owed)
		}
	}
	// The two schedulers race, so the records' order varies: what matters
	// is one missed night, one run of it, and at most one skip (the loser).
	counts := map[string]int{}
	for _, s := range got {
		counts[s]++
	}
	if counts["missed"] != 1 || counts["succeeded"] != 1 || counts["skipped"] > 1 || len(got) != 2+counts["skipped"] {
		t.Errorf("history %v, want one missed and one succeeded record (and at most one skip)", got)
	} else {
		t.Logf("history %v", got)
	}
	lk, err := lake.Open(ws.LakeDir())
	if err != nil {
		t.Fatal(err)
	}
	if ms, err := lk.Manifests(); err != nil || len(ms) != 1 {
		t.Errorf("lake has %d batches (%v), want 1", len(ms), err)
	}
}
