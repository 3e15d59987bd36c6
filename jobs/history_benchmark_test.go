package jobs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"
)

// BenchmarkHistory measures reading a run history of a year of a busy
// workspace (20 jobs, a run every 15 minutes for one of them, nightly for
// the rest: about 70,000 records, each written twice): "open" is a fresh
// reader (a new process: jobs status), "append+read" is the scheduler's
// steady state, one record appended and read back incrementally.
func BenchmarkHistory(b *testing.B) {
	dir := b.TempDir()
	h, err := OpenHistory(dir)
	if err != nil {
		b.Fatal(err)
	}
	// Written in one go: Append fsyncs each record, which is the cost of
	// a run's start and end, not of reading.
	var buf bytes.Buffer
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	for day := range 365 {
		for j := range 20 {
			runs := 1
			if j == 0 {
				runs = 96
			}
			for k := range runs {
				t := start.AddDate(0, 0, day).Add(time.Duration(k) * 15 * time.Minute)
				r := Run{ID: fmt.Sprintf("r%d", n), Job: fmt.Sprintf("job-%d", j), Kind: "ingest", Trigger: "schedule", Scheduled: t, Start: t, Status: Running, PID: 1}
				line, _ := json.Marshal(r)
				buf.Write(append(line, '\n'))
				r.Status, r.End, r.RecordsIn, r.RecordsOut = Succeeded, t.Add(time.Minute), 1000, 990
				line, _ = json.Marshal(r)
				buf.Write(append(line, '\n'))
				n++
			}
		}
	}
	if err := os.WriteFile(h.path, buf.Bytes(), 0o640); err != nil {
		b.Fatal(err)
	}
	b.Run("open", func(b *testing.B) {
		for b.Loop() {
			fresh, _ := OpenHistory(dir)
			runs, err := fresh.Runs()
			if err != nil || len(runs) != n {
				b.Fatalf("%d runs, %v", len(runs), err)
			}
		}
		b.ReportMetric(float64(n), "runs")
	})
	b.Run("append+read", func(b *testing.B) {
		for b.Loop() {
			if err := h.Append(Run{ID: "x", Job: "job-1", Status: Skipped, Start: start}); err != nil {
				b.Fatal(err)
			}
			if _, err := h.JobRuns("job-1"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
