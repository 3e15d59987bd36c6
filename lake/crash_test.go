package lake

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/pophealth/pophealth/models"
)

// Environment of the child process in TestCommit_SurvivesSIGKILL.
const (
	crashRootEnv = "LAKE_TEST_CRASH_ROOT"
	crashStepEnv = "LAKE_TEST_CRASH_STEP"
	// beforeCommit kills the child after appending, before Commit starts.
	beforeCommit = "before-commit"
)

func TestMain(m *testing.M) {
	if step := os.Getenv(crashStepEnv); step != "" {
		crashChild(os.Getenv(crashRootEnv), step)
		fmt.Fprintln(os.Stderr, "crash child: survived step", step)
		os.Exit(3)
	}
	os.Exit(m.Run())
}

// crashOpenFiles makes the crashed batch spill half of appendSample's
// directories, so that recovery must remove the spill too.
const crashOpenFiles = 2

// crashChild writes batch B1 into the lake at root and SIGKILLs itself at
// step: a real crash, with no deferred function or cleanup running.
func crashChild(root, step string) {
	l, err := Open(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
	l.cfg.maxOpenFiles = crashOpenFiles
	die := func() {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
	l.hook = func(s commitStep) error {
		if s.String() == step {
			die()
		}
		return nil
	}
	b, err := l.Begin("B1")
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
	appendSample(failer{}, b, 50)
	if step == beforeCommit {
		die()
	}
	if err := b.Commit(sampleManifest("B1")); err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
}

// failer lets the child reuse the test helpers outside a test.
type failer struct{ testing.TB }

func (failer) Helper() {}
func (failer) Fatal(args ...any) {
	fmt.Fprintln(os.Stderr, append([]any{"crash child:"}, args...)...)
	os.Exit(2)
}

var errCrash = errors.New("simulated crash")

// crashCases lists every point a writer can die at, and whether batch B1
// must be in the lake afterwards.
var crashCases = []struct {
	step      string
	committed bool
}{
	{beforeCommit, false},
	{stepDataSynced.String(), false},
	{stepManifestWritten.String(), false},
	{stepCommitted.String(), true},
	{stepFirstRenamed.String(), true},
	{stepRenamed.String(), true},
}

func TestCommit_CrashAtAnyStepLeavesWholeBatchOrNothing(t *testing.T) {
	for _, tc := range crashCases {
		t.Run(tc.step, func(t *testing.T) {
			root := t.TempDir()
			commitSample(t, mustOpen(t, root), "B0", 2)

			l := mustOpen(t, root)
			l.cfg.maxOpenFiles = crashOpenFiles
			l.hook = func(s commitStep) error {
				if s.String() == tc.step {
					return errCrash
				}
				return nil
			}
			b := mustBegin(t, l, "B1")
			appendSample(t, b, 50)
			if tc.step == beforeCommit {
				b.abandon() // as the process dies
			} else if err := b.Commit(sampleManifest("B1")); !errors.Is(err, errCrash) {
				t.Fatalf("Commit: err = %v, want the simulated crash", err)
			}
			checkRecovered(t, root, tc.committed, tc.step != stepRenamed.String())
		})
	}
}

func TestCommit_SurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for _, tc := range crashCases {
		t.Run(tc.step, func(t *testing.T) {
			root := t.TempDir()
			commitSample(t, mustOpen(t, root), "B0", 2)

			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), crashRootEnv+"="+root, crashStepEnv+"="+tc.step)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("child: err = %v, want death by SIGKILL; output:\n%s", err, out)
			}
			if ws, ok := exit.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("child ended with %v, want SIGKILL; output:\n%s", exit, out)
			}
			checkRecovered(t, root, tc.committed, tc.step != stepRenamed.String())
		})
	}
}

// checkRecovered opens the lake at root after a writer of B1 died, and
// checks that Open's recovery left B0 intact and B1 either whole
// (committed) or absent, that it did work when something was left to do
// (recoveryNeeded), and that recovering again changes nothing.
func checkRecovered(t *testing.T, root string, committed, recoveryNeeded bool) {
	t.Helper()
	l := mustOpen(t, root)
	rep := l.Recovered()
	switch {
	case !recoveryNeeded:
		if !rep.Empty() {
			t.Errorf("recovery report = %+v, want nothing done", rep)
		}
	case committed:
		if !slices.Equal(rep.RolledForward, []string{"B1"}) || len(rep.RolledBack) != 0 {
			t.Errorf("recovery report = %+v, want B1 rolled forward", rep)
		}
	default:
		if !slices.Equal(rep.RolledBack, []string{"B1"}) || len(rep.RolledForward) != 0 {
			t.Errorf("recovery report = %+v, want B1 rolled back", rep)
		}
	}

	want := []string{"B0"}
	if committed {
		want = append(want, "B1")
	}
	if got := diskFiles(t, root); !slices.Equal(got, expectedFiles(want...)) {
		t.Errorf("after recovery the lake holds\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(expectedFiles(want...), "\n"))
	}
	ms, err := l.Manifests()
	must(t, err)
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.BatchID)
	}
	if !slices.Equal(ids, want) {
		t.Errorf("Manifests() = %v, want %v", ids, want)
	}
	files, err := l.Files("pseudo/person")
	must(t, err)
	wantPeople := 2
	if committed {
		wantPeople += 50
	}
	if got := len(readRows[models.PersonRow](t, files)); got != wantPeople {
		t.Errorf("person rows visible = %d, want %d", got, wantPeople)
	}
	must(t, l.Verify(t.Context()))

	again, err := l.Recover()
	must(t, err)
	if !again.Empty() {
		t.Errorf("second Recover = %+v, want nothing to do", again)
	}
	if got := diskFiles(t, root); !slices.Equal(got, expectedFiles(want...)) {
		t.Errorf("second Recover changed the lake: %v", got)
	}
}

func TestFiles_HidesBatchWhileItIsBeingRenamed(t *testing.T) {
	root := t.TempDir()
	w := mustOpen(t, root)
	commitSample(t, w, "B0", 1)
	w.hook = func(s commitStep) error {
		if s == stepFirstRenamed {
			return errCrash
		}
		return nil
	}
	b := mustBegin(t, w, "B1")
	appendSample(t, b, 1)
	if err := b.Commit(sampleManifest("B1")); !errors.Is(err, errCrash) {
		t.Fatalf("Commit: err = %v, want the simulated crash", err)
	}

	// While a (live) writer holds the lock, readers open without recovering
	// and must not see B1's half-renamed files.
	held, err := w.lock()
	must(t, err)
	r := mustOpen(t, root)
	if !r.Recovered().Empty() {
		t.Fatalf("Open recovered while the lake was locked: %+v", r.Recovered())
	}
	if _, ok, err := r.Ingested(sampleManifest("B1").Inputs[0].SHA256); err != nil || !ok {
		t.Errorf("Ingested(B1 input) = %v, %v; want true: B1 is committed", ok, err)
	}
	for _, dir := range []string{"pseudo/person", "pseudo/encounter", "mpi/links"} {
		files, err := r.Files(dir)
		must(t, err)
		for _, f := range files {
			if !strings.Contains(filepath.Base(f), "B0") {
				t.Errorf("Files(%s) shows %s of the half-renamed batch", dir, f)
			}
		}
		if len(files) == 0 {
			t.Errorf("Files(%s) lost batch B0", dir)
		}
	}
	must(t, unlock(held))

	rep, err := r.Recover()
	must(t, err)
	if !slices.Equal(rep.RolledForward, []string{"B1"}) {
		t.Errorf("Recover = %+v, want B1 rolled forward", rep)
	}
	files, err := r.Files("pseudo/person")
	must(t, err)
	if len(files) != 2 {
		t.Errorf("after recovery Files(pseudo/person) = %v, want B0's and B1's", files)
	}
}

func TestBegin_FailsWhileAnotherWriterHoldsTheLake(t *testing.T) {
	root := t.TempDir()
	first, second := mustOpen(t, root), mustOpen(t, root)
	b := mustBegin(t, first, "B1")
	appendSample(t, b, 1)

	for name, try := range map[string]func() error{
		"Begin on another Lake":  func() error { _, err := second.Begin("B2"); return err },
		"Begin on the same Lake": func() error { _, err := first.Begin("B2"); return err },
		"Recover":                func() error { _, err := second.Recover(); return err },
	} {
		err := try()
		if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
			t.Errorf("%s while B1 is open: err = %v, want ErrLocked naming pid %d", name, err, os.Getpid())
		}
	}
	// Readers are not blocked, and do not disturb the open batch.
	reader := mustOpen(t, root)
	if files, err := reader.Files("pseudo"); err != nil || len(files) != 0 {
		t.Errorf("reader Files(pseudo) = %v, %v; want none yet", files, err)
	}

	must(t, b.Commit(sampleManifest("B1")))
	b2 := mustBegin(t, second, "B2")
	must(t, b2.Abort())
	if got := diskFiles(t, root); !slices.Equal(got, expectedFiles("B1")) {
		t.Errorf("lake holds %v, want B1 only", got)
	}
}
