// Package synthlake builds a lake from a synthetic population through the
// real pipeline (synth, then the ingest job), for tests and benchmarks
// that need realistic data: admissions that rise with age and comorbidity,
// observations, prescriptions, linkage dirt.
package synthlake

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/pophealth/pophealth/deprivation"
	"github.com/pophealth/pophealth/jobs"
	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/pseudonymise"
	"github.com/pophealth/pophealth/synth"
)

// Build generates people synthetic people with seed into dir/feeds and
// ingests them into a new lake in dir/lake, with a fresh random key.
func Build(ctx context.Context, dir string, people int, seed uint64) (*lake.Lake, error) {
	opts := synth.DefaultOptions()
	opts.People, opts.Seed, opts.OutDir = people, seed, filepath.Join(dir, "feeds")
	if _, err := synth.Generate(ctx, opts, nil); err != nil {
		return nil, fmt.Errorf("synthlake: %w", err)
	}
	l, err := lake.Open(filepath.Join(dir, "lake"))
	if err != nil {
		return nil, fmt.Errorf("synthlake: %w", err)
	}
	key, err := pseudonymise.NewKey()
	if err != nil {
		return nil, fmt.Errorf("synthlake: %w", err)
	}
	imd, err := deprivation.ReadSynthetic()
	if err != nil {
		return nil, fmt.Errorf("synthlake: %w", err)
	}
	if _, err := jobs.Ingest(ctx, l, jobs.IngestOptions{Paths: []string{opts.OutDir}, Key: key, Deprivation: imd}); err != nil {
		return nil, fmt.Errorf("synthlake: %w", err)
	}
	return l, nil
}
