package jobs

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/pseudonymise"
	"github.com/pophealth/pophealth/synth"
)

// Environment of the child process TestIngest_KillNine starts.
const (
	crashChildEnv = "POPHEALTH_CRASH_CHILD" // lake dir, key file, feeds dir, marker file, joined by '|'
	crashPauseEnv = "POPHEALTH_CRASH_PAUSE" // "1": stop at the first progress report until killed
)

// TestCrashChild is not a test: it is the ingest process that
// TestIngest_KillNine kills. It does nothing unless started by it.
func TestCrashChild(t *testing.T) {
	spec := os.Getenv(crashChildEnv)
	if spec == "" {
		t.Skip("only run as TestIngest_KillNine's child")
	}
	parts := strings.Split(spec, "|")
	lakeDir, keyFile, feeds, marker := parts[0], parts[1], parts[2], parts[3]
	key, err := pseudonymise.LoadKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	lk, err := lake.Open(lakeDir)
	if err != nil {
		t.Fatal(err)
	}
	pause := os.Getenv(crashPauseEnv) == "1"
	started := false
	_, err = Ingest(context.Background(), lk, IngestOptions{Paths: []string{feeds}, Key: key, Progress: func(p Progress) {
		if !started {
			started = true
			os.WriteFile(marker, []byte(fmt.Sprint(p.DoneBytes)), 0o600)
			if pause {
				select {} // mid-batch, files half written: wait for SIGKILL
			}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
}

// TestIngest_KillNine kills a real ingest process with SIGKILL at several
// moments, from mid-file to mid-commit, and checks after each kill that
// the lake shows no part of the batch (or all of it), and that a rerun
// completes it with the same account as an uninterrupted run.
func TestIngest_KillNine(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	opts := synthFeeds(t, dir, 300, 3)
	key, err := pseudonymise.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "lake.key")
	if err := pseudonymise.WriteKeyFile(keyFile, key); err != nil {
		t.Fatal(err)
	}

	// The account of an uninterrupted run, for comparison.
	ref, err := lake.Open(filepath.Join(dir, "reference"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := Ingest(context.Background(), ref, IngestOptions{Paths: []string{opts.OutDir}, Key: key})
	if err != nil {
		t.Fatal(err)
	}

	// How long a child runs from its first progress report to its exit:
	// the window the kills below are spread over.
	window := time.Since(func() time.Time {
		cmd, marker := crashChild(t, dir, "timing", keyFile, opts.OutDir, false)
		waitFor(t, cmd, marker)
		start := time.Now()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("uninterrupted child: %v", err)
		}
		return start
	}())

	// Kill at the first progress report (first file read, batch open),
	// then at moments spread over the rest of a run, its commit included.
	type kill struct {
		name  string
		pause bool
		after time.Duration
	}
	kills := []kill{{"paused mid-batch", true, 0}}
	for _, pct := range []int{20, 40, 60, 75, 90} {
		kills = append(kills, kill{fmt.Sprintf("at %d%% of a run", pct), false, window * time.Duration(pct) / 100})
	}
	for i, k := range kills {
		t.Run(k.name, func(t *testing.T) {
			cmd, marker := crashChild(t, dir, fmt.Sprint(i), keyFile, opts.OutDir, k.pause)
			lakeDir := filepath.Join(dir, "lake"+fmt.Sprint(i))
			waitFor(t, cmd, marker)
			time.Sleep(k.after)
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			t0 := time.Now()
			err := cmd.Wait()
			t.Logf("child reaped in %v", time.Since(t0))
			t0 = time.Now()
			defer func() { t.Logf("recovery and reruns took %v", time.Since(t0)) }()
			killed := err != nil && strings.Contains(err.Error(), "killed")

			// Before any repair: a reader sees the batch whole or not at all.
			lk, err := lake.Open(lakeDir) // Open recovers
			if err != nil {
				t.Fatal(err)
			}
			ms, err := lk.Manifests()
			if err != nil {
				t.Fatal(err)
			}
			visible, err := lk.Files("")
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case len(ms) == 0 && len(visible) != 0:
				t.Errorf("no batch committed but %d files visible", len(visible))
			case len(ms) == 1:
				if err := lk.Verify(context.Background()); err != nil {
					t.Errorf("committed batch does not verify: %v", err)
				}
			case len(ms) > 1:
				t.Errorf("%d batches from one run", len(ms))
			}
			if leftovers := tempFiles(t, lakeDir); len(leftovers) > 0 {
				t.Errorf("temporary files after recovery: %v", leftovers)
			}
			t.Logf("killed=%v, committed before kill: %v", killed, len(ms) == 1)

			// The rerun completes the work; a second rerun adds nothing.
			got, err := Ingest(context.Background(), lk, IngestOptions{Paths: []string{opts.OutDir}, Key: key})
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) == 0 {
				if got.BatchID == "" || got.Totals != want.Totals {
					t.Errorf("rerun totals %+v, want %+v", got.Totals, want.Totals)
				}
			} else if got.BatchID != "" {
				t.Errorf("rerun committed batch %s though the killed run had committed", got.BatchID)
			}
			again, err := Ingest(context.Background(), lk, IngestOptions{Paths: []string{opts.OutDir}, Key: key})
			if err != nil || again.BatchID != "" {
				t.Errorf("second rerun: batch %q, err %v; want nothing new", again.BatchID, err)
			}
			if err := lk.Verify(context.Background()); err != nil {
				t.Error(err)
			}
			ms, _ = lk.Manifests()
			if rows, wantRows := manifestRows(ms), sum(want.Rows); rows != wantRows {
				t.Errorf("lake holds %d rows after rerun, an uninterrupted run wrote %d", rows, wantRows)
			}
		})
	}
}

// synthFeeds generates a synthetic population's feeds in dir/feeds.
func synthFeeds(t *testing.T, dir string, people int, seed uint64) synth.Options {
	t.Helper()
	opts := synth.DefaultOptions()
	opts.People, opts.Seed, opts.OutDir = people, seed, filepath.Join(dir, "feeds")
	if _, err := synth.Generate(context.Background(), opts, nil); err != nil {
		t.Fatal(err)
	}
	return opts
}

// manifestRows is the number of rows the batches wrote.
func manifestRows(ms []lake.Manifest) int64 {
	var rows int64
	for _, m := range ms {
		rows += sum(m.Counts)
	}
	return rows
}

func sum(counts map[string]int64) int64 {
	var n int64
	for _, c := range counts {
		n += c
	}
	return n
}

// crashChild starts TestCrashChild ingesting feeds into dir/lake<name>.
func crashChild(t *testing.T, dir, name, keyFile, feeds string, pause bool) (*exec.Cmd, string) {
	t.Helper()
	lakeDir := filepath.Join(dir, "lake"+name)
	marker := filepath.Join(dir, "marker"+name)
	env := []string{crashChildEnv + "=" + strings.Join([]string{lakeDir, keyFile, feeds, marker}, "|")}
	if pause {
		env = append(env, crashPauseEnv+"=1")
	}
	return startTestChild(t, "TestCrashChild", env...), marker
}

// startTestChild starts this test binary running only the test named
// test, with env added to its environment: a real process to kill.
func startTestChild(t *testing.T, test string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// waitFor waits until the child has written its marker: it is ingesting.
func waitFor(t *testing.T, cmd *exec.Cmd, marker string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(marker); err == nil {
			return
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("child never started ingesting")
		}
		time.Sleep(time.Millisecond)
	}
}

// tempFiles lists files a batch leaves under temporary names.
func tempFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.Contains(d.Name(), ".tmp-") || strings.HasSuffix(d.Name(), ".json.tmp")) {
			out = append(out, p)
		}
		return nil
	})
	return out
}
