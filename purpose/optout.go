package purpose

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/models/nhsnumber"
)

// Register kinds: the national data opt-out and Type 1 (GP) opt-outs.
const (
	RegisterNational = "national"
	RegisterType1    = "type1"
)

// What a register's numbers are.
const (
	// ListOptedOut lists the people who opted out.
	ListOptedOut = "opted-out"
	// ListCleared lists the people checked and found not opted out: what
	// NHS England's Check for National Data Opt-outs service returns (the
	// submitted NHS numbers less those with an opt-out). Anyone whose number
	// is not on it was not cleared and is left out.
	ListCleared = "cleared"
)

// Register is an opt-out register file (format: docs/purposes.md):
//
//	# pophealth opt-out register v1
//	# kind: national
//	# list: cleared
//	# as-of: 2026-11-30
//	9000000017,
//	9000000025,
//
// Header lines ("# key: value") come before the numbers; the body is the
// check service's .dat format: one NHS number per line, optionally followed
// by a comma, LF or CRLF line ends. Other "#" lines are comments.
type Register struct {
	File    string
	Kind    string
	List    string
	AsOf    models.Date
	Numbers map[string]bool
}

// ParseRegister reads a register. Every problem names the file and line.
func ParseRegister(name string, r io.Reader) (*Register, error) { return parseRegister(name, r, 0) }

// parseRegister parses a register whose first line is line firstLine+1 of
// the file named in errors (import prepends a header to a file).
func parseRegister(name string, r io.Reader, firstLine int) (*Register, error) {
	reg := &Register{File: name, Numbers: map[string]bool{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	line, body := firstLine, false
	var sawMagic, sawAsOf bool
	for sc.Scan() {
		line++
		text := strings.TrimSpace(string(bytes.TrimPrefix(sc.Bytes(), []byte("\ufeff"))))
		switch {
		case text == "":
			continue
		case !sawMagic && text != "# pophealth opt-out register v1":
			return nil, fmt.Errorf("%s:%d: not an opt-out register: the first line must be \"# pophealth opt-out register v1\"", name, line)
		case strings.HasPrefix(text, "#"):
			if body {
				continue // a comment among the numbers
			}
			h := strings.TrimSpace(strings.TrimPrefix(text, "#"))
			if h == "pophealth opt-out register v1" {
				sawMagic = true
				continue
			}
			key, value, ok := strings.Cut(h, ":")
			if !ok {
				continue // a comment in the header
			}
			key, value = strings.TrimSpace(key), strings.TrimSpace(value)
			switch key {
			case "kind":
				if value != RegisterNational && value != RegisterType1 {
					return nil, fmt.Errorf("%s:%d: kind %q: want national or type1", name, line, value)
				}
				reg.Kind = value
			case "list":
				if value != ListOptedOut && value != ListCleared {
					return nil, fmt.Errorf("%s:%d: list %q: want opted-out or cleared", name, line, value)
				}
				reg.List = value
			case "as-of":
				d, err := models.ParseDate(value)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: as-of: %w", name, line, err)
				}
				reg.AsOf, sawAsOf = d, true
			default:
				return nil, fmt.Errorf("%s:%d: unknown header %q (want kind, list, as-of)", name, line, key)
			}
		default:
			body = true
			n := strings.TrimSpace(strings.TrimSuffix(text, ","))
			if len(n) != 10 || strings.Trim(n, "0123456789") != "" {
				return nil, fmt.Errorf("%s:%d: %q is not a 10-digit NHS number", name, line, truncate(text, 20))
			}
			if err := nhsnumber.Check(n); err != nil {
				return nil, fmt.Errorf("%s:%d: NHS number fails its check digit", name, line)
			}
			reg.Numbers[n] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	switch {
	case !sawMagic:
		return nil, fmt.Errorf("%s: empty: not an opt-out register", name)
	case reg.Kind == "":
		return nil, fmt.Errorf("%s: header \"# kind:\" missing", name)
	case reg.List == "":
		return nil, fmt.Errorf("%s: header \"# list:\" missing", name)
	case !sawAsOf:
		return nil, fmt.Errorf("%s: header \"# as-of:\" missing", name)
	}
	return reg, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// LoadRegister reads the register of the given kind at path and refuses
// it when it is missing, of another kind, dated in the future, or older
// than maxAgeDays on now's date.
func LoadRegister(path, kind string, maxAgeDays int, now time.Time) (*Register, error) {
	if path == "" {
		return nil, fmt.Errorf("no %s opt-out register configured (opt_outs in pophealth.yaml)", kind)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s opt-out register: %w", kind, err)
	}
	defer f.Close()
	reg, err := ParseRegister(path, f)
	if err != nil {
		return nil, err
	}
	if reg.Kind != kind {
		return nil, fmt.Errorf("%s: a %s register where the %s register belongs", path, reg.Kind, kind)
	}
	today := models.DateOf(now)
	age := int(today - reg.AsOf)
	switch {
	case age < 0:
		return nil, fmt.Errorf("%s: as-of %s is in the future", path, reg.AsOf)
	case age > maxAgeDays:
		return nil, fmt.Errorf("%s opt-out register %s is %d days old (as of %s); the limit is %d days: fetch a new one", kind, path, age, reg.AsOf, maxAgeDays)
	}
	return reg, nil
}

// excludes reports whether a person with these valid NHS numbers is left
// out by the register: on an opted-out list, any of their numbers listed;
// on a cleared list, any of their numbers missing.
func (r *Register) excludes(numbers []string) bool {
	for _, n := range numbers {
		if r.Numbers[n] == (r.List == ListOptedOut) {
			return true
		}
	}
	return false
}

// roundTo5 rounds a count to the nearest multiple of 5, so that run
// reports never give an exact small number of people.
func roundTo5(n int) int { return (n + 2) / 5 * 5 }
