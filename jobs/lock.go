package jobs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// errBusy is returned by lockJob when another run of the job holds its
// lock, in this process or another.
var errBusy = errors.New("already running")

// jobLock is the exclusive flock(2) on WORKSPACE/runs/locks/<job>.lock
// that a run holds from before it reads the history until after it
// records its end. flock locks belong to an open file description, so two
// schedulers in one process exclude each other as two processes do, and
// the kernel releases the lock of a process that dies.
type jobLock struct{ f *os.File }

// lockJob takes job's lock without waiting; holder describes the run that
// holds it (written into the file for the next one's message).
func lockJob(dir, job, holder string) (*jobLock, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("job %s: lock: %w", job, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, job+".lock"), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("job %s: lock: %w", job, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b := make([]byte, 256)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s)", errBusy, strings.TrimSpace(string(b[:n])))
		}
		return nil, fmt.Errorf("job %s: lock: %w", job, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(holder+"\n"), 0)
	}
	return &jobLock{f: f}, nil
}

// unlock releases the lock.
func (l *jobLock) unlock() error {
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	return errors.Join(err, l.f.Close())
}

// holderText is what a lock file says about its holder.
func holderText(pid int, host, runID string) string {
	return "held by pid " + strconv.Itoa(pid) + " on " + host + ", run " + runID
}
