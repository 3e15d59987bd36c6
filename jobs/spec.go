package jobs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// SpecDir is the directory of job files in a workspace: every *.yaml file
// in WORKSPACE/jobs is read, in name order. jobs/examples/ in the
// repository documents the format by example; docs/jobs.md is the reference.
const SpecDir = "jobs"

// Defaults for fields a job spec leaves out.
const (
	DefaultTimeout = time.Hour
	DefaultBackoff = time.Minute
	// MaxRetries bounds retries: a job that fails eleven times in a row
	// needs an operator, not a twelfth attempt.
	MaxRetries = 10
)

// File is one job file as written: a list of jobs and, optionally, the
// receivers "pophealth serve" starts beside the scheduler.
type File struct {
	Jobs      []Spec    `yaml:"jobs"`
	Receivers Receivers `yaml:"receivers"`
}

// Receivers are long-running listeners rather than scheduled jobs. At most
// one job file in a workspace may configure each.
type Receivers struct {
	MLLP *MLLPReceiver `yaml:"mllp"`
}

// MLLPReceiver configures the HL7 v2 MLLP listener (ingest/mllp) that
// serve runs: messages land durably in Landing, and an ingest job whose
// paths include Landing takes them into the lake.
type MLLPReceiver struct {
	// Listen is the TCP address, for example 127.0.0.1:2575.
	Listen string `yaml:"listen"`
	// Landing is the landing directory, relative to the workspace unless
	// absolute; default landing/hl7v2.
	Landing         string        `yaml:"landing"`
	MaxConns        int           `yaml:"max_conns"`
	MaxMessageBytes int           `yaml:"max_message_bytes"`
	IdleTimeout     time.Duration `yaml:"idle_timeout"`
	MessageTimeout  time.Duration `yaml:"message_timeout"`
}

// Spec is one job: what to run (Kind and Params), when (Schedule in
// TimeZone, and/or After other jobs), and how hard to try (Timeout,
// Retries, Backoff).
type Spec struct {
	// Name identifies the job in history, locks, metrics and the CLI:
	// lower-case letters, digits, '-' and '_', at most 64.
	Name        string `yaml:"name"`
	Kind        string `yaml:"kind"`
	Description string `yaml:"description"`
	// Schedule is a five-field cron expression or a descriptor (@daily);
	// empty for a job that runs only after its dependencies or by hand.
	Schedule string `yaml:"schedule"`
	// TimeZone is the IANA zone the schedule is read in (default UTC).
	TimeZone string `yaml:"time_zone"`
	// Timeout bounds one attempt (default one hour).
	Timeout time.Duration `yaml:"timeout"`
	// Retries is how many more attempts follow a failed one (default 0).
	Retries int `yaml:"retries"`
	// Backoff is the wait before the first retry, doubled before each
	// further one (default one minute).
	Backoff time.Duration `yaml:"backoff"`
	// After names jobs this one depends on: it runs when one of them
	// succeeds with something new, provided the others' latest runs
	// succeeded too, and its own schedule's runs wait for the same.
	After []string `yaml:"after"`
	// Purpose is the purpose the job's reports are published under: the
	// web front shows them to commissioners named on that purpose.
	Purpose string `yaml:"purpose"`
	// Params are the kind's own settings (docs/jobs.md lists each kind's).
	Params yaml.Node `yaml:"params"`

	// File and Line say where the spec was written, for error messages.
	File string `yaml:"-"`
	Line int    `yaml:"-"`

	schedule *Schedule // nil when Schedule is empty
	kind     Kind
	params   any // Params decoded by the kind
}

// Scheduled reports whether the job has a schedule of its own.
func (s *Spec) Scheduled() bool { return s.schedule != nil }

// Next returns the job's first scheduled time after t, or zero when it
// has no schedule.
func (s *Spec) Next(t time.Time) time.Time {
	if s.schedule == nil {
		return time.Time{}
	}
	return s.schedule.Next(t)
}

// Describe returns the schedule as shown to operators.
func (s *Spec) Describe() string {
	switch {
	case s.schedule != nil && len(s.After) > 0:
		return s.schedule.String() + "; after " + strings.Join(s.After, ", ")
	case s.schedule != nil:
		return s.schedule.String()
	case len(s.After) > 0:
		return "after " + strings.Join(s.After, ", ")
	}
	return "on demand"
}

func (s *Spec) where() string { return fmt.Sprintf("%s:%d: job %q", s.File, s.Line, s.Name) }

// Set is every job of a workspace, validated: names unique, kinds known,
// params decoded, schedules parsed, dependencies present and acyclic.
type Set struct {
	// Jobs in file order, then declaration order.
	Jobs []*Spec
	// MLLP is the MLLP receiver's configuration, nil when none.
	MLLP   *MLLPReceiver
	byName map[string]*Spec
}

// Job returns the job called name, or nil.
func (s *Set) Job(name string) *Spec { return s.byName[name] }

// Dependents returns the jobs that list name in After, in set order.
func (s *Set) Dependents(name string) []*Spec {
	var out []*Spec
	for _, j := range s.Jobs {
		if slices.Contains(j.After, name) {
			out = append(out, j)
		}
	}
	return out
}

// LoadDir reads every *.yaml file of dir (a workspace's SpecDir) into one
// Set. A missing directory is an empty set.
func LoadDir(dir string, reg Registry) (*Set, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("jobs %s: %w", dir, err)
	}
	sort.Strings(names)
	files := make(map[string][]byte, len(names))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("jobs: %w", err)
		}
		files[n] = b
	}
	return Parse(files, reg)
}

// Parse validates job files given by name and content, as LoadDir does.
func Parse(files map[string][]byte, reg Registry) (*Set, error) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	set := &Set{byName: map[string]*Spec{}}
	var errs []error
	mllpFrom := ""
	for _, name := range names {
		f, lines, err := decodeFile(files[name])
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		if f.Receivers.MLLP != nil {
			if mllpFrom != "" {
				errs = append(errs, fmt.Errorf("%s: receivers.mllp is configured in %s already: one receiver per workspace", name, mllpFrom))
			} else if err := f.Receivers.MLLP.check(); err != nil {
				errs = append(errs, fmt.Errorf("%s: receivers.mllp: %w", name, err))
			}
			mllpFrom, set.MLLP = name, f.Receivers.MLLP
		}
		for i := range f.Jobs {
			j := &f.Jobs[i]
			j.File, j.Line = name, lines[i]
			if err := j.prepare(reg); err != nil {
				errs = append(errs, err)
				continue
			}
			if prev := set.byName[j.Name]; prev != nil {
				errs = append(errs, fmt.Errorf("%s: defined twice (first at %s:%d)", j.where(), prev.File, prev.Line))
				continue
			}
			set.byName[j.Name] = j
			set.Jobs = append(set.Jobs, j)
		}
	}
	for _, j := range set.Jobs {
		for _, d := range j.After {
			if set.byName[d] == nil {
				errs = append(errs, fmt.Errorf("%s: after: no job called %q", j.where(), d))
			}
		}
	}
	if len(errs) == 0 {
		if cycle := set.cycle(); cycle != nil {
			errs = append(errs, fmt.Errorf("jobs: dependency cycle: %s", strings.Join(cycle, " -> ")))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return set, nil
}

// decodeFile decodes one job file strictly and returns each job's line.
func decodeFile(data []byte) (File, []int, error) {
	var f File
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return f, nil, err
	}
	if len(doc.Content) == 0 {
		return f, nil, nil // empty file
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return f, nil, err
	}
	lines := make([]int, len(f.Jobs))
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "jobs" {
			for k, n := range root.Content[i+1].Content {
				if k < len(lines) {
					lines[k] = n.Line
				}
			}
		}
	}
	return f, lines, nil
}

var jobName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// prepare applies defaults and validates one spec against the registry.
func (j *Spec) prepare(reg Registry) error {
	if !jobName.MatchString(j.Name) {
		return fmt.Errorf("%s: name must be 1-64 lower-case letters, digits, '-' or '_', starting with a letter or digit", j.where())
	}
	k, ok := reg[j.Kind]
	if !ok {
		return fmt.Errorf("%s: unknown kind %q (known: %s)", j.where(), j.Kind, strings.Join(reg.Names(), ", "))
	}
	j.kind = k
	if j.Schedule == "" && j.TimeZone != "" {
		return fmt.Errorf("%s: time_zone given without a schedule", j.where())
	}
	if j.Schedule != "" {
		s, err := ParseSchedule(j.Schedule, j.TimeZone)
		if err != nil {
			return fmt.Errorf("%s: %w", j.where(), err)
		}
		j.schedule = &s
	}
	switch {
	case j.Timeout < 0 || j.Backoff < 0:
		return fmt.Errorf("%s: timeout and backoff must not be negative", j.where())
	case j.Retries < 0 || j.Retries > MaxRetries:
		return fmt.Errorf("%s: retries %d: want 0 to %d", j.where(), j.Retries, MaxRetries)
	}
	if j.Timeout == 0 {
		j.Timeout = DefaultTimeout
	}
	if j.Backoff == 0 {
		j.Backoff = DefaultBackoff
	}
	if slices.Contains(j.After, j.Name) {
		return fmt.Errorf("%s: a job cannot run after itself", j.where())
	}
	p, err := k.decode(&j.Params)
	if err != nil {
		return fmt.Errorf("%s: params: %w", j.where(), err)
	}
	j.params = p
	return nil
}

// cycle returns a dependency cycle, or nil.
func (s *Set) cycle() []string {
	const (
		unseen = iota
		onPath
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(name string) []string
	visit = func(name string) []string {
		switch state[name] {
		case onPath:
			i := slices.Index(path, name)
			return append(slices.Clone(path[i:]), name)
		case done:
			return nil
		}
		state[name] = onPath
		path = append(path, name)
		for _, d := range s.byName[name].After {
			if c := visit(d); c != nil {
				return c
			}
		}
		path = path[:len(path)-1]
		state[name] = done
		return nil
	}
	for _, j := range s.Jobs {
		if c := visit(j.Name); c != nil {
			return c
		}
	}
	return nil
}

func (m *MLLPReceiver) check() error {
	if m.Listen == "" {
		return errors.New("listen: give a TCP address such as 127.0.0.1:2575")
	}
	if m.Landing == "" {
		m.Landing = filepath.Join("landing", "hl7v2")
	}
	if m.MaxConns < 0 || m.MaxMessageBytes < 0 || m.IdleTimeout < 0 || m.MessageTimeout < 0 {
		return errors.New("limits must not be negative")
	}
	return nil
}

// downstream returns j and every job that depends on it, directly or not,
// in an order where each job comes after its dependencies.
func (s *Set) downstream(j *Spec) []*Spec {
	reach := map[string]bool{j.Name: true}
	for grew := true; grew; {
		grew = false
		for _, x := range s.Jobs {
			if !reach[x.Name] && slices.ContainsFunc(x.After, func(d string) bool { return reach[d] }) {
				reach[x.Name], grew = true, true
			}
		}
	}
	var out []*Spec
	placed := map[string]bool{}
	for len(out) < len(reach) {
		for _, x := range s.Jobs {
			if reach[x.Name] && !placed[x.Name] && !slices.ContainsFunc(x.After, func(d string) bool { return reach[d] && !placed[d] }) {
				out = append(out, x)
				placed[x.Name] = true
			}
		}
	}
	return out
}
