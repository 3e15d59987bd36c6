package cohort

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Codelist is a set of codes of one system.
type Codelist struct {
	System string
	// Codes are distinct and sorted; ICD-10 codes without dots, upper case.
	Codes []string
	// Invalid are codes that do not have the shape of the system's codes
	// (Check reports them); they are left out of Codes.
	Invalid []string
	// Unverified are SNOMED CT or dm+d codes of the right shape whose check
	// digit or partition says they are not concept ids (Check warns); they
	// stay in Codes, since a lake's data may carry the same mistake.
	Unverified []string
	// HeaderVersion is the version the header file beside the CSV
	// (HeaderFile) gives for it, or "".
	HeaderVersion string
}

// Systems the cohort language knows.
const (
	SNOMED = "snomed"
	ICD10  = "icd10"
	DMD    = "dmd"
)

// ReadCodelistFile reads an OpenCodelists CSV download.
func ReadCodelistFile(path, system string) (*Codelist, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cl, err := ParseCodelist(b, system)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cl, nil
}

// ParseCodelist parses CSV in OpenCodelists' download format: a header
// row with a code column (named code, or dmd_id for dm+d lists) and
// usually a term column, then one code per row. Blank codes are skipped.
func ParseCodelist(data []byte, system string) (*Codelist, error) {
	if system != SNOMED && system != ICD10 && system != DMD {
		return nil, fmt.Errorf("system %q: want snomed, icd10 or dmd", system)
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("empty code list")
	}
	if err != nil {
		return nil, err
	}
	col := -1
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if h == "code" || h == "dmd_id" {
			col = i
			break
		}
	}
	if col < 0 {
		return nil, fmt.Errorf("header %q has no code column", header)
	}
	cl := &Codelist{System: system}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if col >= len(rec) {
			return nil, fmt.Errorf("line %d: %d fields, code is field %d", line, len(rec), col+1)
		}
		code := strings.TrimSpace(rec[col])
		if code == "" {
			continue
		}
		if norm, ok := normaliseCode(system, code); ok {
			cl.Codes = append(cl.Codes, norm)
			if system != ICD10 && !isConceptID(norm) {
				cl.Unverified = append(cl.Unverified, norm)
			}
		} else {
			cl.Invalid = append(cl.Invalid, code)
		}
	}
	slices.Sort(cl.Codes)
	cl.Codes = slices.Compact(cl.Codes)
	return cl, nil
}

// normaliseCode checks a code's shape: SNOMED CT and dm+d ids are 6 to 18
// digits; ICD-10 codes are a letter, two digits and up to three more
// letters or digits, with an optional dot after the third character.
func normaliseCode(system, code string) (string, bool) {
	switch system {
	case SNOMED, DMD:
		if len(code) < 6 || len(code) > 18 || code[0] == '0' {
			return "", false
		}
		for i := 0; i < len(code); i++ {
			if code[i] < '0' || code[i] > '9' {
				return "", false
			}
		}
		return code, true
	case ICD10:
		c := strings.ToUpper(code)
		if len(c) > 3 && c[3] == '.' {
			c = c[:3] + c[4:]
		}
		if len(c) < 3 || len(c) > 6 || c[0] < 'A' || c[0] > 'Z' || !isDigit(c[1]) || !isDigit(c[2]) {
			return "", false
		}
		for i := 3; i < len(c); i++ {
			if !isDigit(c[i]) && (c[i] < 'A' || c[i] > 'Z') {
				return "", false
			}
		}
		return c, true
	}
	return "", false
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }
