package riskmodel

import (
	"testing"
	"time"

	"github.com/pophealth/pophealth/internal/synthlake"
	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/queries"
)

// BenchmarkRun scores everyone on a 20,000-person synthetic lake. "sql"
// is features.sql alone in DuckDB (the reference); "extract" adds moving
// the rows into Go; "run" adds Charlson, eFI, the model and the tiers.
func BenchmarkRun(b *testing.B) {
	l, err := synthlake.Build(b.Context(), b.TempDir(), 20000, 3)
	must(b, err)
	eng, err := queries.Open(b.Context(), l)
	must(b, err)
	defer eng.Close()
	asOf := models.NewDate(2026, time.March, 31)
	m := &Model{Name: ModelName, Features: FeatureNames(), Coefficients: make([]float64, len(FeatureNames())+1)}
	body, err := sqlFiles.ReadFile("sql/features.sql")
	must(b, err)
	b.Run("sql", func(b *testing.B) {
		for b.Loop() {
			_, err := eng.Query(b.Context(), "SELECT count(*), sum(len(icd10)), sum(len(snomed)) FROM ("+string(body)+")", asOf.Time())
			must(b, err)
		}
	})
	b.Run("extract", func(b *testing.B) {
		for b.Loop() {
			_, err := Extract(b.Context(), eng, asOf)
			must(b, err)
		}
	})
	b.Run("run", func(b *testing.B) {
		for b.Loop() {
			s, err := Run(b.Context(), eng, m, asOf)
			must(b, err)
			b.ReportMetric(float64(len(s)), "people")
		}
	})
}
