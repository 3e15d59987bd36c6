package queries

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pophealth/pophealth/codelists"
	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/models"
)

const benchPeople = 100_000

// benchLake writes a synthetic lake of n people in one batch: GP person
// rows, diagnoses drawn from the long-term condition list (more with age,
// half SNOMED from the GP, half ICD-10 from the hospital with a fourth
// character), and HL7 admit/discharge pairs, a fifth of them emergencies.
func benchLake(b *testing.B, n int) *lake.Lake {
	b.Helper()
	start := time.Now()
	l, err := lake.Open(b.TempDir())
	must(b, err)
	batch, err := l.Begin("BENCH")
	must(b, err)
	byCondition := map[string][]codelists.Entry{}
	var conditions []string
	for _, c := range codelists.LongTermConditions() {
		if byCondition[c.Name] == nil {
			conditions = append(conditions, c.Name)
		}
		byCondition[c.Name] = append(byCondition[c.Name], c)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	day := func(from models.Date, days int) *models.Date { return from.AddDays(rng.IntN(days)).Ptr() }
	sexes := []string{"female", "male", "female", "male", "unknown"}
	var rows int
	for i := range n {
		key := fmt.Sprintf("%016x%016x", rng.Uint64(), i)
		yob := 1925 + rng.IntN(99)
		age := asOf.Year() - yob
		p := models.PersonRow{
			PersonKey: key, Source: "gp", BatchID: "BENCH", YearOfBirth: int16(yob), MonthOfBirth: int8(1 + rng.IntN(12)),
			Sex: sexes[rng.IntN(len(sexes))], PracticeCode: fmt.Sprintf("P%03d", rng.IntN(40)),
			RegisteredFrom: day(models.NewDate(2000, time.January, 1), 8000), NHSNumberStatus: "verified",
		}
		if rng.IntN(100) == 0 {
			p.DeathMonth = day(models.NewDate(2022, time.January, 1), 700)
		}
		must(b, lake.Append(batch, lake.PseudoDir(models.TablePerson, models.FeedGP, nil), p))
		rows++
		for range rng.IntN(1 + age/15) {
			entries := byCondition[conditions[rng.IntN(len(conditions))]]
			c := entries[rng.IntN(len(entries))]
			d := models.DiagnosisRow{PersonKey: key, BatchID: "BENCH", CodeSystem: string(c.System), Code: c.Code,
				RecordedDate: day(models.NewDate(2005, time.January, 1), 7300)}
			feed := models.FeedGP
			if c.System == models.ICD10 {
				feed, d.Code = models.FeedHL7, c.Code+fmt.Sprint(rng.IntN(10))
			}
			d.Source = string(feed)
			must(b, lake.Append(batch, lake.PseudoDir(models.TableDiagnosis, feed, d.RecordedDate), d))
			rows++
		}
		for j := range rng.IntN(1 + age/30) {
			admitted := day(models.NewDate(2022, time.January, 1), 820)
			method := "elective"
			if rng.IntN(5) == 0 {
				method = "emergency"
			}
			dir := lake.PseudoDir(models.TableEncounter, models.FeedHL7, admitted)
			e := models.EncounterRow{PersonKey: key, EncounterKey: fmt.Sprintf("%s-%d", key, j), Source: "hl7v2", BatchID: "BENCH",
				Event: "A01", Class: "inpatient", AdmissionMethod: method, StartDate: admitted}
			must(b, lake.Append(batch, dir, e))
			e.Event, e.EndDate = "A03", admitted.AddDays(rng.IntN(10)).Ptr()
			must(b, lake.Append(batch, dir, e))
			rows += 2
		}
	}
	must(b, batch.Commit(lake.Manifest{}))
	files, err := l.Files("pseudo")
	must(b, err)
	b.Logf("lake of %d people: %d rows in %d files, written in %v", n, rows, len(files), time.Since(start).Round(time.Millisecond))
	return l
}

func BenchmarkOpen(b *testing.B) {
	l := benchLake(b, benchPeople)
	for b.Loop() {
		e, err := Open(b.Context(), l)
		must(b, err)
		e.Close()
	}
}

func BenchmarkCohortReport(b *testing.B) {
	e := openEngine(b, benchLake(b, benchPeople))
	for b.Loop() {
		if _, err := e.CohortReport(b.Context(), asOf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRiskRanking(b *testing.B) {
	e := openEngine(b, benchLake(b, benchPeople))
	for b.Loop() {
		if _, err := e.RiskRanking(b.Context(), asOf); err != nil {
			b.Fatal(err)
		}
	}
}
