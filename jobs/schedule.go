package jobs

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule says when a job runs: a five-field cron expression (or a
// descriptor such as @daily) read in a named time zone. The zone matters in
// England: a job set for 01:30 Europe/London must run at 01:30 local time
// in both GMT and BST, not drift by an hour at each clock change.
type Schedule struct {
	spec string
	loc  *time.Location
	cron cron.Schedule
}

// scheduleParser accepts the standard five fields and @descriptors. Seconds
// are not offered: no pophealth job needs them, and a six-field spec pasted
// from elsewhere would silently mean something else.
var scheduleParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule parses spec (for example "30 1 * * *" or "@daily") in the
// IANA time zone zone (for example "Europe/London"; empty means UTC).
func ParseSchedule(spec, zone string) (Schedule, error) {
	loc := time.UTC
	if zone != "" {
		var err error
		if loc, err = time.LoadLocation(zone); err != nil {
			return Schedule{}, fmt.Errorf("schedule %q: time zone: %w", spec, err)
		}
	}
	s, err := scheduleParser.Parse(spec)
	if err != nil {
		return Schedule{}, fmt.Errorf("schedule %q: %w", spec, err)
	}
	return Schedule{spec: spec, loc: loc, cron: s}, nil
}

// String returns the spec and its zone, as an operator wrote them.
func (s Schedule) String() string {
	return s.spec + " (" + s.loc.String() + ")"
}

// Next returns the first run time strictly after t.
//
// Times are matched on the local wall clock, then mapped to an instant, so
// a daily job runs once on every calendar day across clock changes:
//   - a time the spring change skips (01:30 on the last Sunday of March in
//     London) runs when the clocks have gone forward (02:30 BST, the same
//     instant as 01:30 GMT), not never;
//   - a time the autumn change repeats (01:30 on the last Sunday of
//     October) runs once, not twice.
//
// robfig/cron's own time-zone support does neither, which is why the
// expression is evaluated in a zone-free wall-clock timeline here.
func (s Schedule) Next(t time.Time) time.Time {
	wall := wallClock(t.In(s.loc))
	for range 1000 { // bounded: each step moves wall forward
		wall = s.cron.Next(wall)
		if wall.IsZero() {
			return time.Time{} // the expression never matches (e.g. 30 February)
		}
		y, mo, d := wall.Date()
		at := time.Date(y, mo, d, wall.Hour(), wall.Minute(), 0, 0, s.loc)
		if at.After(t) {
			return at
		}
	}
	return time.Time{}
}

// wallClock returns t's local date and time of day as the same fields in
// UTC, a timeline without clock changes.
func wallClock(t time.Time) time.Time {
	y, mo, d := t.Date()
	return time.Date(y, mo, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// Missed returns the latest run time in (last, now] and how many run times
// fell in that interval. A scheduler starting after downtime runs a job
// once for the latest missed time, not once per missed time: a nightly
// ingest that missed three nights has three nights of files waiting, and
// one run takes them all.
func (s Schedule) Missed(last, now time.Time) (latest time.Time, n int) {
	for t := s.Next(last); !t.IsZero() && !t.After(now); t = s.Next(t) {
		latest, n = t, n+1
	}
	return latest, n
}
