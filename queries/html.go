package queries

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
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
		CSS                        template.CSS
		Reports                    []htmlReport
	}{
		Title:     title,
		Subtitle:  fmt.Sprintf("%d reports. %s", len(reports), suppressionNote),
		Generated: generated.UTC().Format(time.RFC3339),
		CSS:       template.CSS(reportCSS), // our own embedded file
	}
	for _, r := range reports {
		page.Reports = append(page.Reports, r.htmlView())
	}
	if err := reportTemplates.ExecuteTemplate(w, "page", page); err != nil {
		return fmt.Errorf("queries: html report: %w", err)
	}
	return nil
}

// htmlView lays the report out for the templates.
func (r *Report) htmlView() htmlReport {
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
	return h
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
