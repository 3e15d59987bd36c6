package jobs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/parquet-go/parquet-go"

	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/link"
)

// indexColumns are the master person index columns that link.Index.Load
// reads, in the order readIndexFile fills them. The other columns (the
// details probabilistic linkage compares) are left unread: decoding whole
// LinkRows through parquet-go's reflection made loading the index a quarter
// of an HL7 v2 ingest into a lake that already held GP and FHIR feeds.
var indexColumns = [...]string{"feed", "local_id", "person_id", "nhs_number", "nhs_number_status"}

// loadIndex reads the master person index committed by earlier batches.
func loadIndex(lk *lake.Lake) (*link.Index, error) {
	ix := link.NewIndex()
	files, err := lk.Files(mpiDir)
	if err != nil {
		return nil, err
	}
	var rows []link.Entry
	for _, f := range files {
		if rows, err = readIndexFile(f, rows, ix.Load); err != nil {
			return nil, fmt.Errorf("master person index %s: %w", f, err)
		}
	}
	return ix, nil
}

// readIndexFile passes the rows of one index file to load a row group at a
// time, with only the fields of indexColumns set, and returns the buffer it
// used so the next file can reuse it. The strings of one page of a column
// share one allocation; feed and status values are interned.
func readIndexFile(path string, rows []link.Entry, load func([]link.Entry)) ([]link.Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return rows, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return rows, err
	}
	pf, err := parquet.OpenFile(f, info.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return rows, err
	}
	var cols [len(indexColumns)]int
	for i, name := range indexColumns {
		leaf, ok := pf.Schema().Lookup(name)
		if !ok {
			return rows, fmt.Errorf("no column %q", name)
		}
		cols[i] = leaf.ColumnIndex
	}
	fields := [len(indexColumns)]func(r *link.Entry) *string{
		func(r *link.Entry) *string { return &r.Feed },
		func(r *link.Entry) *string { return &r.LocalID },
		func(r *link.Entry) *string { return &r.PersonID },
		func(r *link.Entry) *string { return &r.NHSNumber },
		func(r *link.Entry) *string { return &r.NHSNumberStatus },
	}
	interned := map[string]string{}
	var values []parquet.Value
	var data []byte
	for _, rg := range pf.RowGroups() {
		n := int(rg.NumRows())
		rows = append(rows[:0], make([]link.Entry, n)...)
		for c, col := range cols {
			at := 0
			intern := c == 0 || c == 4 // feed, nhs_number_status: a handful of values
			err := eachPage(rg.ColumnChunks()[col], func(p parquet.Page) error {
				values = slices.Grow(values[:0], int(p.NumValues()))[:p.NumValues()]
				k, err := p.Values().ReadValues(values)
				if err != nil && !errors.Is(err, io.EOF) {
					return err
				}
				if values = values[:k]; at+k > n {
					return fmt.Errorf("more values than the row group's %d rows", n)
				}
				var page string
				if !intern {
					data = data[:0]
					for _, v := range values {
						data = append(data, v.ByteArray()...)
					}
					page = string(data) // one allocation for the page's strings
				}
				off := 0
				for _, v := range values {
					var s string
					switch b := v.ByteArray(); {
					case v.IsNull() || len(b) == 0:
					case intern:
						var ok bool
						if s, ok = interned[string(b)]; !ok {
							s = string(b)
							interned[s] = s
						}
					default:
						s = page[off : off+len(b)]
						off += len(b)
					}
					*fields[c](&rows[at]) = s
					at++
				}
				return nil
			})
			if err != nil {
				return rows, fmt.Errorf("column %s: %w", indexColumns[c], err)
			}
			if at != n {
				return rows, fmt.Errorf("column %s: %d values for %d rows", indexColumns[c], at, n)
			}
		}
		load(rows)
	}
	return rows, nil
}

// eachPage calls fn with each page of a column chunk, releasing the page
// after it.
func eachPage(cc parquet.ColumnChunk, fn func(parquet.Page) error) error {
	pages := cc.Pages()
	defer pages.Close()
	for {
		p, err := pages.ReadPage()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		err = fn(p)
		parquet.Release(p)
		if err != nil {
			return err
		}
	}
}
