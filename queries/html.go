package queries

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"html/template"
	"io"
	"time"
)

// reportHTML is the page template: one self-contained file with inline
// styles and SVG charts, no scripts and nothing fetched from a network, so
// it opens the same on a machine with no internet as on the one that made it.
//
//go:embed templates/report.html
var reportHTML string

var reportPage = template.Must(template.New("report.html").Parse(reportHTML))

// htmlCell is a table cell as the template draws it.
type htmlCell struct{ Text, Class string }

// htmlReport is a Report laid out for the template.
type htmlReport struct {
	Title   string
	AsOf    string
	Columns []string
	Rows    [][]htmlCell
	Charts  []svgChart
	Notes   []string
}

// WriteHTML writes reports as one self-contained HTML page titled title:
// for each report its charts, its table and its notes. The page is built
// only from the reports' cells, which are suppressed when they are made, so
// it shows nothing the text report would not.
func WriteHTML(w io.Writer, title string, generated time.Time, reports []*Report) error {
	page := struct {
		Title, Subtitle, Generated string
		Reports                    []htmlReport
	}{
		Title:     title,
		Subtitle:  fmt.Sprintf("%d reports. Small numbers suppressed: %s", len(reports), suppressionNote),
		Generated: generated.UTC().Format(time.RFC3339),
	}
	for _, r := range reports {
		h := htmlReport{Title: r.Title, AsOf: r.AsOf.String(), Columns: r.Columns,
			Notes: append(r.Notes[:len(r.Notes):len(r.Notes)], suppressionNote)}
		for _, row := range r.Rows {
			cells := make([]htmlCell, len(row))
			for i, c := range row {
				cells[i] = htmlCell{Text: c.text, Class: c.htmlClass()}
			}
			h.Rows = append(h.Rows, cells)
		}
		for i := range r.Charts {
			h.Charts = append(h.Charts, r.Charts[i].layout())
		}
		page.Reports = append(page.Reports, h)
	}
	if err := reportPage.Execute(w, page); err != nil {
		return fmt.Errorf("queries: html report: %w", err)
	}
	return nil
}

func (c Cell) htmlClass() string {
	switch c.kind {
	case kindNumber:
		return "num"
	case kindSuppressed:
		return "num suppressed"
	case kindEmpty:
		return "num"
	}
	return ""
}

// WriteCSV writes the report's table as CSV: a header row of column names,
// then the rows as shown (suppressed cells as "*", values that do not apply
// empty). Title, date and notes are not part of a CSV table; the caller
// names the file after the report.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(r.Columns); err != nil {
		return err
	}
	for _, row := range r.Rows {
		rec := make([]string, len(row))
		for i, c := range row {
			if c.kind != kindEmpty {
				rec[i] = c.text
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
