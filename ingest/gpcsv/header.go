package gpcsv

import (
	"fmt"
	"slices"
	"strings"
)

// HeaderError is the error Parse returns when a file's header does not
// make it a patients file or an events file. Nothing in such a file can be
// read, so unlike a bad row it cannot be quarantined row by row: the caller
// should set the whole file aside rather than retry it.
type HeaderError struct {
	File string
	// Missing lists, sorted, the required columns the header lacks: those
	// of the kind of file it came closest to, or of both kinds when it was
	// equally far from each. It is empty when the header is wrong in some
	// other way (an empty file, a duplicated column).
	Missing []string
	// Reason says what is wrong, naming the missing columns.
	Reason string
}

func (e *HeaderError) Error() string {
	return fmt.Sprintf("gpcsv: %s: header: %s", e.File, e.Reason)
}

// column is a column of the GP extract specification.
type column int

// The columns of docs/feeds/gp-extract.md. colPatientID is in both kinds
// of file; the others belong to one.
const (
	colPatientID column = iota
	colNHSNumber
	colGivenName
	colFamilyName
	colDateOfBirth
	colSex
	colPostcode
	colPracticeCode
	colRegistrationDate
	colDeregistrationDate
	colDateOfDeath
	colLSOACode
	colEventID
	colEventDate
	colEventType
	colCodeSystem
	colCode
	colValue
	colUnit
	numColumns
)

func (c column) String() string {
	switch c {
	case colPatientID:
		return "patient_id"
	case colNHSNumber:
		return "nhs_number"
	case colGivenName:
		return "given_name"
	case colFamilyName:
		return "family_name"
	case colDateOfBirth:
		return "date_of_birth"
	case colSex:
		return "sex"
	case colPostcode:
		return "postcode"
	case colPracticeCode:
		return "practice_code"
	case colRegistrationDate:
		return "registration_date"
	case colDeregistrationDate:
		return "deregistration_date"
	case colDateOfDeath:
		return "date_of_death"
	case colLSOACode:
		return "lsoa_code"
	case colEventID:
		return "event_id"
	case colEventDate:
		return "event_date"
	case colEventType:
		return "event_type"
	case colCodeSystem:
		return "code_system"
	case colCode:
		return "code"
	case colValue:
		return "value"
	case colUnit:
		return "unit"
	}
	return fmt.Sprintf("column(%d)", int(c))
}

// fileKind is the kind of a GP extract file, decided by its header.
type fileKind int

const (
	patientsFile fileKind = iota + 1
	eventsFile
)

func (k fileKind) String() string {
	if k == patientsFile {
		return "patients"
	}
	return "events"
}

// columns returns the columns of a kind of file, required ones first, and
// how many are required.
func (k fileKind) columns() (cols []column, required int) {
	if k == patientsFile {
		return []column{
			colPatientID, colDateOfBirth, colSex, colPracticeCode, colRegistrationDate,
			colNHSNumber, colGivenName, colFamilyName, colPostcode, colDeregistrationDate, colDateOfDeath, colLSOACode,
		}, 5
	}
	return []column{
		colPatientID, colEventID, colEventDate, colEventType, colCodeSystem, colCode,
		colValue, colUnit,
	}, 6
}

// header is what the header row says about the rows that follow.
type header struct {
	kind fileKind
	// index maps a column to its field index in a row, or -1.
	index [numColumns]int
	// width is the number of fields every row must have.
	width int
	// unused lists the "column:<name>" Skip kinds of the header's columns
	// whose values do not reach the records.
	unused []string
}

// parseHeader reads a header row. Names are matched case-insensitively
// after trimming spaces; their order is free. The kind of file is the one
// whose required columns are all present.
func parseHeader(file string, names []string) (*header, error) {
	h := &header{width: len(names)}
	for c := range h.index {
		h.index[c] = -1
	}
	var dup []string
	for i, name := range names {
		name = strings.ToLower(strings.TrimSpace(name))
		c, ok := lookupColumn(name)
		switch {
		case !ok:
			if name == "" {
				name = fmt.Sprintf("#%d", i+1)
			}
			h.unused = append(h.unused, "column:"+name)
		case h.index[c] >= 0:
			dup = append(dup, name)
		default:
			h.index[c] = i
		}
	}

	pMissing, pScore := h.match(patientsFile)
	eMissing, eScore := h.match(eventsFile)
	switch {
	case len(pMissing) == 0 && len(eMissing) == 0:
		return nil, &HeaderError{File: file, Reason: "has the required columns of both a patients and an events file"}
	case len(pMissing) == 0:
		h.kind = patientsFile
	case len(eMissing) == 0:
		h.kind = eventsFile
	case pScore > eScore:
		return nil, missingError(file, patientsFile, pMissing)
	case eScore > pScore:
		return nil, missingError(file, eventsFile, eMissing)
	default:
		all := slices.Concat(pMissing, eMissing)
		slices.Sort(all)
		return nil, &HeaderError{
			File:    file,
			Missing: slices.Compact(all),
			Reason: fmt.Sprintf("neither a patients file (missing %s) nor an events file (missing %s)",
				strings.Join(pMissing, ", "), strings.Join(eMissing, ", ")),
		}
	}

	// A column of the other kind of file is as unused as an unknown one.
	cols, _ := h.kind.columns()
	for c := range numColumns {
		if i := h.index[c]; i >= 0 && !slices.Contains(cols, c) {
			h.unused = append(h.unused, "column:"+c.String())
			h.index[c] = -1
		}
	}
	for _, name := range dup {
		if c, _ := lookupColumn(name); h.index[c] >= 0 {
			return nil, &HeaderError{File: file, Reason: fmt.Sprintf("column %s appears more than once", name)}
		}
		h.unused = append(h.unused, "column:"+name)
	}
	return h, nil
}

// match returns, sorted, the required columns of kind k that the header
// lacks, and how many of the columns only k has it holds: the measure of
// which kind a header without all its required columns was meant to be.
func (h *header) match(k fileKind) (missing []string, score int) {
	cols, required := k.columns()
	for i, c := range cols {
		switch {
		case h.index[c] < 0 && i < required:
			missing = append(missing, c.String())
		case h.index[c] >= 0 && c != colPatientID:
			score++
		}
	}
	slices.Sort(missing)
	return missing, score
}

func missingError(file string, k fileKind, missing []string) *HeaderError {
	return &HeaderError{
		File:    file,
		Missing: missing,
		Reason:  fmt.Sprintf("%s file without required column(s) %s", k, strings.Join(missing, ", ")),
	}
}

// lookupColumn returns the column a lower-case header name names.
func lookupColumn(name string) (column, bool) {
	for c := range numColumns {
		if c.String() == name {
			return c, true
		}
	}
	return 0, false
}
