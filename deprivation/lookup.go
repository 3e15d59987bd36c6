package deprivation

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Area is one LSOA of a lookup.
type Area struct {
	// Code is the ONS code of the LSOA (E01… in England, W01… in Wales).
	Code string
	// District is the local authority district's name, when the file has it.
	District string
	// Decile is the IMD decile: 1 is the most deprived tenth of LSOAs in
	// England, 10 the least.
	Decile int8
}

// Lookup maps LSOA codes to IMD deciles. It is read-only once made and
// safe for concurrent use.
type Lookup struct {
	// Vintage is the census year of the LSOA boundaries the file is
	// keyed by ("2011" for IMD 2019, "2021" for IMD 2025), or "" when its
	// header does not say.
	Vintage string
	areas   []Area // in file order
	decile  map[string]int8
}

// Header names the lookup accepts, compared case-insensitively after
// trimming. The published IMD files ("File 7 - All IoD2019 Scores, Ranks,
// Deciles and Population Denominators" and its 2025 equivalent) name their
// columns in full; a hand-made two-column file may use the short names.
const (
	imdDecileColumn = "index of multiple deprivation (imd) decile (where 1 is most deprived 10% of lsoas)"
	lsoaCodePrefix  = "lsoa code ("
)

var (
	shortCodeColumns   = []string{"lsoa_code", "lsoa11cd", "lsoa21cd"}
	shortDecileColumns = []string{"imd_decile"}
	districtPrefix     = "local authority district name"
)

//go:embed imd-synthetic.csv
var synthetic []byte

// Synthetic returns the synthetic lookup shipped with pophealth, as CSV in
// the published file's format: 1,388 made-up LSOAs of a West Yorkshire-like
// ICS (Bradford, Calderdale, Kirklees, Leeds, Wakefield) with deciles skewed
// towards the deprived end as West Yorkshire's are. It is not the IMD.
func Synthetic() []byte { return slices.Clone(synthetic) }

// ReadFile reads a lookup from a CSV file (see Read).
func ReadFile(path string) (*Lookup, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("deprivation: %w", err)
	}
	defer f.Close()
	return Read(f, path)
}

// Read parses a lookup in CSV: a header row, then one row per LSOA. The
// LSOA code column is the one whose name starts with "LSOA code (" (the
// published files: "LSOA code (2011)" or "LSOA code (2021)") or is
// lsoa_code, lsoa11cd or lsoa21cd; the decile column is "Index of Multiple
// Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)" or
// imd_decile. Other columns are ignored. A row with a decile outside 1-10,
// an empty code, or a code given twice with different deciles is an error
// naming the file and line: a lookup is reference data, and a silently
// skipped row would leave people without a decile.
func Read(r io.Reader, name string) (*Lookup, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("deprivation: %s: empty file", name)
	}
	if err != nil {
		return nil, fmt.Errorf("deprivation: %s: header: %w", name, err)
	}
	l := &Lookup{decile: map[string]int8{}}
	codeCol, decileCol, districtCol := -1, -1, -1
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		switch {
		case codeCol < 0 && strings.HasPrefix(h, lsoaCodePrefix):
			codeCol = i
			l.Vintage = strings.TrimSuffix(strings.TrimPrefix(h, lsoaCodePrefix), ")")
		case codeCol < 0 && slices.Contains(shortCodeColumns, h):
			codeCol = i
			if h != "lsoa_code" {
				l.Vintage = "20" + h[4:6]
			}
		case decileCol < 0 && (h == imdDecileColumn || slices.Contains(shortDecileColumns, h)):
			decileCol = i
		case districtCol < 0 && strings.HasPrefix(h, districtPrefix):
			districtCol = i
		}
	}
	if codeCol < 0 || decileCol < 0 {
		return nil, fmt.Errorf("deprivation: %s: header needs an LSOA code column (\"LSOA code (2011)\", \"LSOA code (2021)\" or lsoa_code) and an IMD decile column (%q or imd_decile)",
			name, "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)")
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("deprivation: %s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if codeCol >= len(rec) || decileCol >= len(rec) {
			return nil, fmt.Errorf("deprivation: %s line %d: %d fields, too few for the header", name, line, len(rec))
		}
		code := NormaliseLSOA(rec[codeCol])
		if code == "" {
			return nil, fmt.Errorf("deprivation: %s line %d: empty LSOA code", name, line)
		}
		d, err := strconv.Atoi(strings.TrimSpace(rec[decileCol]))
		if err != nil || d < 1 || d > 10 {
			return nil, fmt.Errorf("deprivation: %s line %d: decile %q for %s is not a whole number from 1 to 10", name, line, rec[decileCol], code)
		}
		if prev, ok := l.decile[code]; ok {
			if prev != int8(d) {
				return nil, fmt.Errorf("deprivation: %s line %d: %s has decile %d here and %d on an earlier line", name, line, code, d, prev)
			}
			continue
		}
		a := Area{Code: code, Decile: int8(d)}
		if districtCol >= 0 && districtCol < len(rec) {
			a.District = strings.TrimSpace(rec[districtCol])
		}
		l.decile[code] = a.Decile
		l.areas = append(l.areas, a)
	}
	if len(l.areas) == 0 {
		return nil, fmt.Errorf("deprivation: %s: no areas", name)
	}
	return l, nil
}

// NormaliseLSOA returns an LSOA code as the lookup keys it: trimmed and
// upper-cased.
func NormaliseLSOA(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

// Decile returns the IMD decile of an LSOA code (in any case, with
// surrounding spaces), and false when the lookup does not hold it. A nil
// Lookup holds nothing.
func (l *Lookup) Decile(lsoa string) (int8, bool) {
	if l == nil {
		return 0, false
	}
	d, ok := l.decile[lsoa]
	if !ok {
		d, ok = l.decile[NormaliseLSOA(lsoa)]
	}
	return d, ok
}

// Len returns the number of areas.
func (l *Lookup) Len() int { return len(l.areas) }

// Areas returns the areas in file order (a copy).
func (l *Lookup) Areas() []Area { return slices.Clone(l.areas) }

// ReadSynthetic parses Synthetic.
func ReadSynthetic() (*Lookup, error) {
	return Read(bytes.NewReader(synthetic), "synthetic IMD lookup")
}

// IsSynthetic reports whether every area of l has a code of the synthetic
// range (E019…), which ONS has never issued: a workspace still using the
// shipped lookup with real data gives nobody a decile, and ingest says so.
func (l *Lookup) IsSynthetic() bool {
	for _, a := range l.areas {
		if !strings.HasPrefix(a.Code, "E019") {
			return false
		}
	}
	return len(l.areas) > 0
}
