package jobs

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pophealth/pophealth/ingest/feed"
	"github.com/pophealth/pophealth/ingest/fhir"
	"github.com/pophealth/pophealth/ingest/gpcsv"
	"github.com/pophealth/pophealth/ingest/hl7v2"
	"github.com/pophealth/pophealth/models"
)

// input is one feed file of an ingest run.
type input struct {
	path   string
	feed   models.Feed
	parser feed.Parser
	// rank orders files so that those describing patients are read before
	// those that refer to them, which keeps deferred records rare.
	rank   int
	sha256 string
	size   int64
	result int // index in IngestResult.Files
}

// mayHoldPatients reports whether the file can hold patient records: any
// FHIR or HL7 v2 file, and a GP patients file (GP events files hold none).
func (in *input) mayHoldPatients() bool { return in.feed != models.FeedGP || in.rank == 0 }

// patientsDone reports whether, reading rest[0] and then the rest, no
// patient record of rest[0]'s feed can arrive any more.
func patientsDone(rest []*input) bool {
	for _, in := range rest {
		if in.feed == rest[0].feed && in.mayHoldPatients() {
			return false
		}
	}
	return true
}

// collectInputs expands paths into feed files in processing order, and
// lists the files it could not place in any feed.
func collectInputs(paths []string) (inputs []*input, ignored []string, err error) {
	if len(paths) == 0 {
		return nil, nil, fmt.Errorf("ingest: no input files or directories given")
	}
	for _, root := range paths {
		info, err := os.Stat(root)
		if err != nil {
			return nil, nil, fmt.Errorf("ingest: %w", err)
		}
		if !info.IsDir() {
			in, err := classify(root)
			if err != nil {
				return nil, nil, err
			}
			if in == nil {
				return nil, nil, fmt.Errorf("ingest %s: cannot tell which feed this file belongs to (want .csv, .ndjson/.json or .hl7)", root)
			}
			inputs = append(inputs, in)
			continue
		}
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || strings.HasPrefix(d.Name(), ".") {
				return nil
			}
			in, err := classify(path)
			if err != nil {
				return err
			}
			if in == nil {
				ignored = append(ignored, path)
				return nil
			}
			inputs = append(inputs, in)
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("ingest: %w", err)
		}
	}
	sort.SliceStable(inputs, func(i, j int) bool {
		if inputs[i].rank != inputs[j].rank {
			return inputs[i].rank < inputs[j].rank
		}
		return inputs[i].path < inputs[j].path
	})
	return inputs, ignored, nil
}

// classify decides a file's feed from its name and first bytes; it returns
// nil for files that belong to no feed (READMEs, ground truth, ...).
func classify(path string) (*input, error) {
	head, err := readHead(path, 4096)
	if err != nil {
		return nil, fmt.Errorf("ingest %s: %w", path, err)
	}
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	name := strings.ToLower(filepath.Base(path))
	ext := filepath.Ext(name)
	switch {
	case ext == ".hl7" || ext == ".adt" || ext == ".mllp" || looksHL7(head):
		return &input{path: path, feed: models.FeedHL7, parser: hl7v2.Parse}, nil
	case ext == ".ndjson" || ext == ".jsonl" || (ext == ".json" && looksFHIR(head)):
		rank := 1
		if strings.HasPrefix(name, "patient") {
			rank = 0
		}
		return &input{path: path, feed: models.FeedFHIR, parser: fhir.Parse, rank: rank}, nil
	case ext == ".csv" && looksGP(head):
		rank := 1
		if bytes.Contains(bytes.ToLower(firstLine(head)), []byte("date_of_birth")) {
			rank = 0
		}
		return &input{path: path, feed: models.FeedGP, parser: gpcsv.Parse, rank: rank}, nil
	}
	return nil, nil
}

func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, n)
	m, err := io.ReadFull(f, buf)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, err
	}
	return buf[:m], nil
}

func firstLine(b []byte) []byte {
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		return b[:i]
	}
	return b
}

func looksHL7(head []byte) bool {
	head = bytes.TrimLeft(head, "\x0b\r\n ")
	return bytes.HasPrefix(head, []byte("MSH")) || bytes.HasPrefix(head, []byte("FHS")) || bytes.HasPrefix(head, []byte("BHS"))
}

func looksFHIR(head []byte) bool {
	return bytes.Contains(head, []byte(`"resourceType"`))
}

// looksGP accepts a CSV whose header names a GP extract's patient id
// column; other CSVs (such as synth's truth.csv) are not feeds.
func looksGP(head []byte) bool {
	return bytes.Contains(bytes.ToLower(firstLine(head)), []byte("patient_id")) &&
		!bytes.Contains(bytes.ToLower(firstLine(head)), []byte("person_id"))
}
