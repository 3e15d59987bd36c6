package lake

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lock takes the lake's writer lock without waiting. flock(2) locks belong
// to an open file description, so two Lakes in one process exclude each
// other just as two processes do, and the kernel drops the lock when its
// holder dies.
func (l *Lake) lock() (*os.File, error) {
	name := filepath.Join(l.root, lockName)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("lake %s: lock: %w", l.root, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := lockHolder(f)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lake %s: %w (%s)", l.root, ErrLocked, holder)
		}
		return nil, fmt.Errorf("lake %s: lock: %w", l.root, err)
	}
	// Record the holder for the message other writers get; the lock itself
	// does not depend on it.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte("pid "+strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// lockHolder describes who holds the lock, as recorded by its holder.
func lockHolder(f *os.File) string {
	b := make([]byte, 64)
	n, _ := f.ReadAt(b, 0)
	if s := strings.TrimSpace(string(b[:n])); s != "" {
		return "held by " + s
	}
	return "holder unknown"
}

// unlock releases a lock taken by lock.
func unlock(f *os.File) error {
	if f == nil {
		return nil
	}
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return errors.Join(err, f.Close())
}
