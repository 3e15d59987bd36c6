package main

import (
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// defaultIngestMemoryLimit is the soft memory limit of "pophealth ingest"
// (docs/ingest.md). What ingest holds is bounded by its buffers, but with
// the Go runtime's default pacing (GOGC=100) the heap grows to about twice
// what is live before it is collected; under the limit the collector runs
// earlier instead. On the 2 GB GP extract, when it held about 225 MB live,
// 320 MiB took peak RSS from 512 to 333 MiB for about 10% more CPU, while
// 280 MiB cost 40% more and 256 MiB 130% more: below about 1.5 times the
// live heap the collector runs all the time. Since the lake bounds its
// open files that extract holds about 105 MB live and the limit is not
// reached; it stays as the bound for feeds with a larger live heap (a much
// larger patient index). Where it is not reached it costs nothing.
const defaultIngestMemoryLimit = "320MiB"

// setMemoryLimit applies the soft memory limit flag (or, when the flag is
// empty, GOMEMLIMIT if set, else def) with debug.SetMemoryLimit and
// returns the limit in bytes (math.MaxInt64: none).
func setMemoryLimit(flag, def string) (int64, error) {
	v := flag
	if v == "" {
		if env, ok := os.LookupEnv("GOMEMLIMIT"); ok && env != "" {
			// The runtime has applied it already.
			return debug.SetMemoryLimit(-1), nil
		}
		v = def
	}
	n, err := parseMemoryLimit(v)
	if err != nil {
		return 0, err
	}
	debug.SetMemoryLimit(n)
	return n, nil
}

// parseMemoryLimit reads a size in GOMEMLIMIT's syntax: a whole number of
// bytes with an optional unit B, KiB, MiB, GiB or TiB; "off" (or 0) is
// no limit.
func parseMemoryLimit(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "off" || s == "0" {
		return math.MaxInt64, nil
	}
	units := []struct {
		suffix string
		shift  uint
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}}
	num, shift := s, uint(0)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			num, shift = strings.TrimSuffix(s, u.suffix), u.shift
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64>>shift {
		return 0, fmt.Errorf("memory limit %q: want a number of bytes with an optional unit B, KiB, MiB, GiB or TiB (e.g. 256MiB), or off", s)
	}
	if n == 0 {
		return math.MaxInt64, nil
	}
	return n << shift, nil
}
