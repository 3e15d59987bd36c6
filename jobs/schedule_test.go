package jobs

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the machine's zoneinfo
)

func mustLondon(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestScheduleNextRunsOncePerDayAcrossClockChanges(t *testing.T) {
	london := mustLondon(t)
	// 01:30 is the hard case in London: on 29 March 2026 the clocks jump
	// from 01:00 GMT to 02:00 BST, so 01:30 never happens; on 25 October
	// 2026 they fall back from 02:00 BST to 01:00 GMT, so it happens twice.
	s, err := ParseSchedule("30 1 * * *", "Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 22, 12, 0, 0, 0, london)
	end := time.Date(2026, 11, 1, 12, 0, 0, 0, london)
	days := map[string]int{}
	var runs []time.Time
	for tm := s.Next(start); tm.Before(end); tm = s.Next(tm) {
		days[tm.In(london).Format(time.DateOnly)]++
		runs = append(runs, tm)
	}
	if want := 224; len(days) != want { // 23 March to 1 November
		t.Errorf("runs on %d days, want %d", len(days), want)
	}
	for d, n := range days {
		if n != 1 {
			t.Errorf("%s: %d runs, want 1", d, n)
		}
	}
	for _, tm := range runs {
		local := tm.In(london)
		want := "01:30"
		if local.Format(time.DateOnly) == "2026-03-29" {
			want = "02:30" // 01:30 GMT, the moment the clocks went forward past it
		}
		if got := local.Format("15:04"); got != want {
			t.Errorf("run at %v, want %s local", local, want)
		}
	}
}

func TestScheduleMissedCatchesUpOnce(t *testing.T) {
	s, err := ParseSchedule("@daily", "Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	london := mustLondon(t)
	last := time.Date(2026, 6, 1, 0, 0, 0, 0, london)
	tests := []struct {
		name   string
		now    time.Time
		wantN  int
		latest time.Time
	}{
		{"same day", time.Date(2026, 6, 1, 23, 59, 0, 0, london), 0, time.Time{}},
		{"exactly due", time.Date(2026, 6, 2, 0, 0, 0, 0, london), 1, time.Date(2026, 6, 2, 0, 0, 0, 0, london)},
		{"three nights down", time.Date(2026, 6, 4, 9, 0, 0, 0, london), 3, time.Date(2026, 6, 4, 0, 0, 0, 0, london)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			latest, n := s.Missed(last, tc.now)
			if n != tc.wantN || !latest.Equal(tc.latest) {
				t.Errorf("Missed = %v, %d; want %v, %d", latest, n, tc.latest, tc.wantN)
			}
		})
	}
}

func TestParseScheduleErrors(t *testing.T) {
	tests := []struct{ spec, zone, want string }{
		{"30 1 * *", "", "expected exactly 5 fields"},
		{"0 30 1 * * *", "", "expected exactly 5 fields"}, // seconds are not offered
		{"61 * * * *", "", "above maximum"},
		{"@daily", "Mars/Olympus", "time zone"},
	}
	for _, tc := range tests {
		_, err := ParseSchedule(tc.spec, tc.zone)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.spec) {
			t.Errorf("ParseSchedule(%q, %q) = %v, want error naming the spec and containing %q", tc.spec, tc.zone, err, tc.want)
		}
	}
}
