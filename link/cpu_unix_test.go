//go:build unix

package link

import (
	"syscall"
	"time"
)

// cpuSeconds is the process's user and system CPU time so far: on a
// shared machine it says what the work cost when wall time says how busy
// the machine was.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
