package queries

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/queries/suppress"
)

// UnmarshalJSON reads a cell as MarshalJSON writes it, so that a report
// stored by a job run can be shown again later. It accepts only what
// suppression produces, so a stored file cannot smuggle a small count into
// a page: a whole number must be 0 or a multiple of 5 of at least 10
// (Suppress), a fractional one must have one decimal place (a rate), "*"
// is a withheld value, null one that does not apply, any other string a
// label.
func (c *Cell) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*c = Cell{kind: kindEmpty, text: "-"}
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "*" {
			*c = Cell{kind: kindSuppressed, text: "*"}
		} else {
			*c = label(s)
		}
		return nil
	}
	text := string(b)
	if whole, frac, ok := strings.Cut(text, "."); ok {
		if _, err := strconv.ParseUint(whole, 10, 63); err != nil || len(frac) != 1 || frac[0] < '0' || frac[0] > '9' {
			return fmt.Errorf("report cell %s: not a rate with one decimal place", text)
		}
	} else {
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil || (n != 0 && (n < 10 || n%suppress.RoundTo != 0)) {
			return fmt.Errorf("report cell %s: not a suppressed count (0, or a multiple of %d above %d)", text, suppress.RoundTo, suppressMax)
		}
	}
	*c = Cell{kind: kindNumber, text: text}
	return nil
}

// UnmarshalJSON reads a report as MarshalJSON writes it. Charts are not
// part of that form; see StoredReport.
func (r *Report) UnmarshalJSON(b []byte) error {
	var v struct {
		Title   string   `json:"title"`
		AsOf    string   `json:"as_of"`
		Columns []string `json:"columns"`
		Rows    [][]Cell `json:"rows"`
		Notes   []string `json:"notes"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	var asOf models.Date
	if v.AsOf != "" {
		d, err := models.ParseDate(v.AsOf)
		if err != nil {
			return fmt.Errorf("report %q: as_of: %w", v.Title, err)
		}
		asOf = d
	}
	*r = Report{Title: v.Title, AsOf: asOf, Columns: v.Columns, Rows: v.Rows, Notes: v.Notes}
	return nil
}

// StoredReport is a report with its charts, the form in which job runs
// keep reports on disk for the web front.
type StoredReport struct {
	Report *Report `json:"report"`
	Charts []Chart `json:"charts,omitempty"`
}

// Store returns r in its stored form.
func Store(r *Report) StoredReport { return StoredReport{Report: r, Charts: r.Charts} }

// Load returns the stored report with its charts attached.
func (s StoredReport) Load() (*Report, error) {
	if s.Report == nil {
		return nil, fmt.Errorf("stored report: no report")
	}
	r := *s.Report
	r.Charts = s.Charts
	return &r, nil
}
