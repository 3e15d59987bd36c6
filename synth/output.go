package synth

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/pophealth/pophealth/models"
)

// partialSuffix marks files still being written.
const partialSuffix = ".partial"

// outFile is one output file being written under its partial name.
type outFile struct {
	path string // final path
	f    *os.File
	w    *bufio.Writer
	// lines and offset count what has been written so far, to locate
	// malformed records in the file.
	lines  int64
	offset int64
}

// output writes the feed files, truth.csv and malformed.csv.
type output struct {
	dir       string
	feeds     [numFiles]*outFile
	truth     *outFile
	malformed *outFile
	line      []byte // scratch for malformed.csv rows
	done      bool
}

func createOutput(dir string) (*output, error) {
	o := &output{dir: dir}
	open := func(rel, header string) (*outFile, error) {
		path := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("synth: %w", err)
		}
		f, err := os.Create(path + partialSuffix)
		if err != nil {
			return nil, fmt.Errorf("synth: %w", err)
		}
		of := &outFile{path: path, f: f, w: bufio.NewWriterSize(f, 1<<20)}
		if header != "" {
			of.w.WriteString(header + "\n")
			of.lines, of.offset = 1, int64(len(header)+1)
		}
		return of, nil
	}
	var err error
	for f := range numFiles {
		if o.feeds[f], err = open(fileSpecs[f].path, fileSpecs[f].header); err != nil {
			o.abort()
			return nil, err
		}
	}
	if o.truth, err = open(TruthFile, "feed,record_id,local_id,person_id"); err != nil {
		o.abort()
		return nil, err
	}
	if o.malformed, err = open(MalformedFile, "feed,file,line,offset,record_id,reason"); err != nil {
		o.abort()
		return nil, err
	}
	return o, nil
}

// write appends a chunk to the files.
func (o *output) write(c *chunk) error {
	for _, m := range c.malformed {
		of, spec := o.feeds[m.file], &fileSpecs[m.file]
		b := append(o.line[:0], spec.feed...)
		b = append(b, ',')
		b = append(b, spec.path...)
		b = append(b, ',')
		b = strconv.AppendInt(b, of.lines+m.record+1, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, of.offset+int64(m.offset), 10)
		b = append(b, ',')
		b = appendCSVField(b, m.recordID)
		b = append(b, ',')
		b = appendCSVField(b, m.reason)
		b = append(b, '\n')
		o.line = b
		if _, err := o.malformed.w.Write(b); err != nil {
			return fmt.Errorf("synth: writing %s: %w", o.malformed.path, err)
		}
	}
	for f := range numFiles {
		of := o.feeds[f]
		if _, err := of.w.Write(c.out[f]); err != nil {
			return fmt.Errorf("synth: writing %s: %w", of.path, err)
		}
		of.lines += c.records[f]
		of.offset += int64(len(c.out[f]))
	}
	if _, err := o.truth.w.Write(c.truth); err != nil {
		return fmt.Errorf("synth: writing %s: %w", o.truth.path, err)
	}
	return nil
}

func (o *output) all() []*outFile {
	files := append([]*outFile{}, o.feeds[:]...)
	return append(files, o.truth, o.malformed)
}

// commit flushes and closes every file, renames them into place and
// writes synth.json last.
func (o *output) commit(sum *Summary) error {
	for _, of := range o.all() {
		if err := of.w.Flush(); err != nil {
			return fmt.Errorf("synth: writing %s: %w", of.path, err)
		}
		if err := of.f.Close(); err != nil {
			return fmt.Errorf("synth: closing %s: %w", of.path, err)
		}
		of.f = nil
	}
	for _, of := range o.all() {
		if err := os.Rename(of.path+partialSuffix, of.path); err != nil {
			return fmt.Errorf("synth: %w", err)
		}
	}
	o.done = true
	data, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return fmt.Errorf("synth: encoding summary: %w", err)
	}
	path := filepath.Join(o.dir, SummaryFile)
	if err := os.WriteFile(path+partialSuffix, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	if err := os.Rename(path+partialSuffix, path); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	return nil
}

// abort closes and removes partial files; it does nothing after commit.
func (o *output) abort() {
	if o.done {
		return
	}
	for _, of := range o.all() {
		if of == nil {
			continue
		}
		if of.f != nil {
			of.f.Close()
		}
		os.Remove(of.path + partialSuffix)
	}
}

func newSummary(opts Options, m *model) Summary {
	opts.OutDir, opts.Workers = "", 0
	s := Summary{
		Options:    opts,
		Conditions: make(map[string]int, len(m.conds)),
		Files:      make(map[string]FileCounts, numFiles),
		Dirt:       map[models.Feed]DirtCounts{models.FeedFHIR: {}, models.FeedHL7: {}},
	}
	for _, k := range m.conds {
		s.Conditions[k.name] = 0
	}
	for f := range numFiles {
		s.Files[fileSpecs[f].path] = FileCounts{Feed: fileSpecs[f].feed}
	}
	return s
}

// add counts a chunk into s.
func (s *Summary) add(c *chunk, m *model) {
	st := &c.stats
	s.People += st.people
	s.Deaths += st.deaths
	s.FHIRPatients += st.fhirPatients
	s.AdmittedPeople += st.admitted
	s.EmergencySpells += st.emergency
	s.ElectiveSpells += st.elective
	s.MovedPeople += st.moved
	for k, n := range st.conds {
		s.Conditions[m.conds[k].name] += n
	}
	var malformed [numFiles]int64
	for _, r := range c.malformed {
		malformed[r.file]++
	}
	for f := range numFiles {
		fc := s.Files[fileSpecs[f].path]
		fc.Records += c.records[f]
		fc.Malformed += malformed[f]
		s.Files[fileSpecs[f].path] = fc
	}
	fhir, hl7 := s.Dirt[models.FeedFHIR], s.Dirt[models.FeedHL7]
	fhir.add(st.fhirDirt)
	hl7.add(st.hl7Dirt)
	s.Dirt[models.FeedFHIR], s.Dirt[models.FeedHL7] = fhir, hl7
	s.TruthRecords += c.truthRows
}
