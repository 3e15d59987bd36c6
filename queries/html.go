package queries

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/pophealth/pophealth/queries/suppress"
)

// The report templates: a "report" fragment (charts, table, notes) and a
// "page" that wraps fragments in one self-contained file with an inline
// stylesheet and SVG charts, no scripts and nothing fetched from a network,
// so it opens the same on a machine with no internet as on the one that
// made it. The web front embeds the same fragment in its own pages.
var (
	//go:embed templates/report.html
	reportHTML string
	//go:embed templates/report.css
	reportCSS string

	reportTemplates = template.Must(template.New("report.html").Parse(reportHTML))
)

// ReportCSS is the stylesheet the report fragment's classes need: pages
// that embed HTMLFragment serve it alongside.
func ReportCSS() string { return reportCSS }

// HTMLFragment renders one report (its charts, table and notes) as an HTML
// section to embed in a page that also serves ReportCSS.
func HTMLFragment(r *Report) (template.HTML, error) {
	var b strings.Builder
	if err := reportTemplates.ExecuteTemplate(&b, "report", r.htmlView()); err != nil {
		return "", fmt.Errorf("queries: html report %q: %w", r.Title, err)
	}
	return template.HTML(b.String()), nil // #nosec: produced by html/template
}

// htmlCell is a table cell as the template draws it.
type htmlCell struct{ Text, Class string }

// htmlReport is a Report laid out for the template.
type htmlReport struct {
	ID      string // the section's anchor on a page
	Title   string
	AsOf    string
	Columns []string
	Rows    [][]htmlCell
	// NumCols marks the columns whose cells are numbers, to align their
	// headings with them.
	NumCols []bool
	Charts  []svgChart
	Notes   []string
}

// KeyFigure is one number a page leads with, above its tables: the size of
// a cohort, the share of it in deprived areas. Its value is a Cell, so it
// has been through suppression like every other number on the page.
type KeyFigure struct {
	Label string
	Value Cell
	// Unit follows a shown value ("%"); it is left off a withheld one.
	Unit string
	// Detail is a line of context under the label.
	Detail string
}

// Page is one self-contained HTML report: a title, key figures, and for
// each report its charts, table and notes.
type Page struct {
	Title string
	// Subtitle describes what the page covers; the suppression rule is
	// always added.
	Subtitle   string
	Generated  time.Time
	KeyFigures []KeyFigure
	Reports    []*Report
	// Profile is the suppression profile of the page's cells (see
	// Report.Profile); empty means NHSD.
	Profile suppress.Profile
}

// WriteHTML writes reports as one self-contained HTML page titled title:
// for each report its charts, its table and its notes. The page is built
// only from the reports' cells, which are suppressed when they are made, so
// it shows nothing the text report would not.
func WriteHTML(w io.Writer, title string, generated time.Time, reports []*Report) error {
	p := &Page{Title: title, Generated: generated, Reports: reports}
	return p.WriteHTML(w)
}

// htmlFigure is a KeyFigure laid out for the template.
type htmlFigure struct{ Value, Label, Detail, Class string }

// WriteHTML writes the page: a header, a row of key figures, a list of the
// reports linking to each, then the reports. Like WriteHTML it holds only
// cells, so nothing unsuppressed can reach it.
func (p *Page) WriteHTML(w io.Writer) error {
	sub := p.Subtitle
	if sub != "" {
		sub += " "
	}
	page := struct {
		Title, Subtitle, Generated string
		CSS                        template.CSS
		Figures                    []htmlFigure
		Reports                    []htmlReport
	}{
		Title:     p.Title,
		Subtitle:  sub + profileNote(p.Profile),
		Generated: p.Generated.UTC().Format(time.RFC3339),
		CSS:       template.CSS(reportCSS), // our own embedded file
	}
	for _, f := range p.KeyFigures {
		h := htmlFigure{Value: f.Value.display(), Label: f.Label, Detail: f.Detail}
		switch f.Value.kind {
		case kindNumber:
			h.Value += f.Unit
		case kindSuppressed:
			h.Class = "suppressed"
		}
		page.Figures = append(page.Figures, h)
	}
	for i, r := range p.Reports {
		v := r.htmlView()
		v.ID = "report-" + strconv.Itoa(i+1)
		page.Reports = append(page.Reports, v)
	}
	if err := reportTemplates.ExecuteTemplate(w, "page", page); err != nil {
		return fmt.Errorf("queries: html report: %w", err)
	}
	return nil
}

// htmlView lays the report out for the templates.
func (r *Report) htmlView() htmlReport {
	h := htmlReport{Title: r.Title, AsOf: r.AsOf.String(), Columns: r.Columns,
		Notes: append(r.Notes[:len(r.Notes):len(r.Notes)], profileNote(r.Profile))}
	h.NumCols = make([]bool, len(r.Columns))
	for i := range h.NumCols {
		h.NumCols[i] = len(r.Rows) > 0
	}
	for _, row := range r.Rows {
		cells := make([]htmlCell, len(row))
		for i, c := range row {
			cells[i] = htmlCell{Text: c.display(), Class: c.htmlClass()}
			if i < len(h.NumCols) && c.kind == kindLabel {
				h.NumCols[i] = false
			}
		}
		h.Rows = append(h.Rows, cells)
	}
	for i := range r.Charts {
		h.Charts = append(h.Charts, r.Charts[i].layout())
	}
	return h
}

// display is the cell as a page shows it: whole numbers of 1,000 or more
// with thousands separators, everything else as it is.
func (c Cell) display() string {
	if c.kind != kindNumber || len(c.text) < 4 || strings.ContainsAny(c.text, ".-") {
		return c.text
	}
	var b strings.Builder
	for i, r := range c.text {
		if i > 0 && (len(c.text)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
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
