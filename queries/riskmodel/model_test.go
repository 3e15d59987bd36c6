package riskmodel

import (
	"errors"
	"math"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/pophealth/pophealth/internal/synthlake"
	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/queries"
)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func day(y int, m time.Month, d int) *models.Date { return models.NewDate(y, m, d).Ptr() }

var index = models.NewDate(2024, time.March, 31)

// fixtureLake holds three people whose features on index are worked out
// by hand in TestExtract_FeaturesOnIndexDate.
func fixtureLake(t *testing.T) *lake.Lake {
	t.Helper()
	l, err := lake.Open(t.TempDir())
	must(t, err)
	b, err := l.Begin("B1")
	must(t, err)
	person := func(key, sex string, yob int16) models.PersonRow {
		return models.PersonRow{PersonKey: key, Source: "gp", BatchID: "B1", YearOfBirth: yob, MonthOfBirth: 6, Sex: sex,
			PracticeCode: "A81001", RegisteredFrom: day(2010, 1, 1), NHSNumberStatus: "verified"}
	}
	for _, p := range []models.PersonRow{person("p1", "female", 1940), person("p2", "male", 1990), person("p3", "male", 1950)} {
		must(t, lake.Append(b, lake.PseudoDir(models.TablePerson, models.FeedGP, nil), p))
	}
	// p3 died before the index date: not in the population.
	dead := person("p3", "male", 1950)
	dead.DeathMonth = day(2023, 1, 1)
	must(t, lake.Append(b, lake.PseudoDir(models.TablePerson, models.FeedGP, nil), dead))
	dx := func(key string, feed models.Feed, sys models.CodeSystem, code string, when *models.Date) {
		must(t, lake.Append(b, lake.PseudoDir(models.TableDiagnosis, feed, when),
			models.DiagnosisRow{PersonKey: key, Source: string(feed), BatchID: "B1", CodeSystem: string(sys), Code: code, RecordedDate: when}))
	}
	dx("p1", models.FeedHL7, models.ICD10, "I50.0", day(2023, 6, 1))
	dx("p1", models.FeedFHIR, models.ICD10, "i500", day(2023, 6, 2))    // same code, other spelling
	dx("p1", models.FeedHL7, models.ICD10, "E11.4", day(2024, 6, 1))    // after index: ignored
	dx("p1", models.FeedGP, models.SNOMED, "84114007", day(2020, 1, 1)) // heart failure
	dx("p1", models.FeedGP, models.SNOMED, "49436004", nil)             // AF, undated: counts
	med := func(key, code string, when *models.Date) {
		must(t, lake.Append(b, lake.PseudoDir(models.TableMedication, models.FeedGP, when),
			models.MedicationRow{PersonKey: key, Source: "gp", BatchID: "B1", CodeSystem: "dmd", Code: code, AuthoredDate: when}))
	}
	med("p1", "317971007", day(2023, 5, 1))
	med("p1", "317971007", day(2023, 9, 1)) // same medicine twice
	med("p1", "703907008", day(2024, 3, 31))
	med("p1", "320000009", day(2023, 3, 31)) // exactly 12 months before: outside
	obs := func(key, code string, v float64, when *models.Date) {
		must(t, lake.Append(b, lake.PseudoDir(models.TableObservation, models.FeedGP, when),
			models.ObservationRow{PersonKey: key, Source: "gp", BatchID: "B1", CodeSystem: "snomed", Code: code, Value: &v, EffectiveDate: when}))
	}
	obs("p1", "80274001", 70, day(2022, 1, 1))
	obs("p1", "80274001", 55, day(2024, 1, 1)) // latest before index: CKD by value
	obs("p1", "80274001", 80, day(2024, 5, 1)) // after index: ignored
	enc := func(key string, feed models.Feed, id, class, method string, start *models.Date) {
		must(t, lake.Append(b, lake.PseudoDir(models.TableEncounter, feed, start),
			models.EncounterRow{PersonKey: key, EncounterKey: id, Source: string(feed), BatchID: "B1", Event: "A01",
				Class: class, AdmissionMethod: method, StartDate: start, EndDate: start}))
	}
	enc("p1", models.FeedHL7, "e1", "inpatient", "emergency", day(2023, 7, 1))
	enc("p1", models.FeedFHIR, "e1f", "inpatient", "emergency", day(2023, 7, 1)) // same admission from another feed
	enc("p1", models.FeedHL7, "e2", "inpatient", "elective", day(2023, 8, 1))
	enc("p1", models.FeedHL7, "e3", "emergency", "", day(2023, 10, 1))          // A&E
	enc("p1", models.FeedHL7, "e4", "inpatient", "emergency", day(2022, 10, 1)) // before the window
	enc("p2", models.FeedHL7, "e5", "inpatient", "emergency", day(2024, 9, 1))  // outcome
	must(t, b.Commit(lake.Manifest{}))
	return l
}

func openEngine(t *testing.T, l *lake.Lake) *queries.Engine {
	t.Helper()
	e, err := queries.Open(t.Context(), l)
	must(t, err)
	t.Cleanup(func() { e.Close() })
	return e
}

func TestExtract_FeaturesOnIndexDate(t *testing.T) {
	eng := openEngine(t, fixtureLake(t))
	people, err := Extract(t.Context(), eng, index)
	must(t, err)
	if len(people) != 2 || people[0].Key != "p1" || people[1].Key != "p2" {
		t.Fatalf("population %+v, want p1 and p2 (p3 died)", people)
	}
	p1, p2 := people[0], people[1]
	if p1.Age == nil || *p1.Age != 83 || p1.Sex != "female" {
		t.Errorf("p1 age %v sex %s", p1.Age, p1.Sex)
	}
	if !slices.Equal(p1.ICD10, []string{"I500"}) {
		t.Errorf("p1 ICD-10 %v, want [I500]", p1.ICD10)
	}
	slices.Sort(p1.SNOMED)
	if !slices.Equal(p1.SNOMED, []string{"49436004", "84114007"}) {
		t.Errorf("p1 SNOMED %v", p1.SNOMED)
	}
	if len(p1.Measurements) != 1 || p1.Measurements[0].Value != 55 {
		t.Errorf("p1 measurements %+v, want the latest eGFR 55", p1.Measurements)
	}
	if p1.Medicines != 2 || p1.EmergencyPrior != 1 || p1.AEPrior != 1 || p1.Outcome {
		t.Errorf("p1 medicines %d emergency %d A&E %d outcome %v; want 2 1 1 false", p1.Medicines, p1.EmergencyPrior, p1.AEPrior, p1.Outcome)
	}
	if p2.EmergencyPrior != 0 || !p2.Outcome || len(p2.ICD10) != 0 {
		t.Errorf("p2 %+v, want no history and the outcome", p2)
	}
	s, err := NewScorer()
	must(t, err)
	r := s.Features(p1)
	// Heart failure (Quan 2011: 2); eFI: heart failure, AF, CKD by eGFR 55.
	if r.Charlson != 2 || r.EFI.Count != 3 {
		t.Errorf("p1 Charlson %d, eFI deficits %+v; want 2 and 3", r.Charlson, r.EFI.Deficits)
	}
	names := FeatureNames()
	if len(r.Features) != len(names) {
		t.Fatalf("%d features, %d names", len(r.Features), len(names))
	}
	want := map[string]float64{"age_per_10y": 3.3, "female": 1, "charlson": 2, "efi_deficits": 3, "emergency_prior": 1, "ae_prior": 1, "medicines": 2}
	for i, n := range names {
		if w, ok := want[n]; ok && math.Abs(r.Features[i]-w) > 1e-9 {
			t.Errorf("feature %s = %v, want %v", n, r.Features[i], w)
		}
	}
}

func TestFitOnLake_TemporalSplitValidatesAndRoundTrips(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the synthetic pipeline")
	}
	l, err := synthlake.Build(t.Context(), t.TempDir(), 3000, 11)
	must(t, err)
	eng := openEngine(t, l)
	ms, err := l.Manifests()
	must(t, err)
	var batches []string
	for _, m := range ms {
		batches = append(batches, m.BatchID)
	}
	m, err := FitOnLake(t.Context(), eng, models.NewDate(2024, time.March, 31), batches)
	must(t, err)
	v := m.Validation
	if m.ValidationIndex != "2025-03-31" || !slices.Equal(m.Snapshot, batches) || len(m.Coefficients) != len(FeatureNames())+1 {
		t.Errorf("model provenance %+v", m)
	}
	// The synthetic population's admissions rise with age and comorbidity:
	// a model that learnt nothing would score 0.5.
	if v.AUROC.AUC < 0.6 || v.AUROC.Lower >= v.AUROC.AUC || v.AUROC.Upper <= v.AUROC.AUC {
		t.Errorf("validation AUROC %+v", v.AUROC)
	}
	if math.Abs(v.MeanPredicted-v.ObservedRate) > 0.03 {
		t.Errorf("calibration in the large: predicted %.3f, observed %.3f", v.MeanPredicted, v.ObservedRate)
	}
	var people int64
	for i, g := range v.Calibration {
		people += g.People
		if i > 0 && g.Predicted < v.Calibration[i-1].Predicted {
			t.Errorf("decile %d predicted %.3f below decile %d", g.Group, g.Predicted, i)
		}
	}
	if people != int64(v.People) || len(v.Calibration) != 10 || len(v.Top) != 2 {
		t.Errorf("calibration covers %d of %d people in %d groups", people, v.People, len(v.Calibration))
	}
	if v.Top[0].PPV < v.ObservedRate {
		t.Errorf("PPV in top 0.5%% (%.3f) below the base rate %.3f", v.Top[0].PPV, v.ObservedRate)
	}

	dir := t.TempDir()
	if _, err := Load(dir, ""); !errors.Is(err, ErrNoModel) {
		t.Errorf("Load of empty dir: %v", err)
	}
	path, err := m.Save(dir)
	must(t, err)
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	back, err := Load(dir, "")
	must(t, err)
	if back.Version != m.Version || !slices.Equal(back.Coefficients, m.Coefficients) {
		t.Errorf("latest.json round trip: %s %v", back.Version, back.Coefficients)
	}
	if _, err := Load(dir, m.Version); err != nil {
		t.Errorf("load by version: %v", err)
	}
	if _, err := Load(dir, "../../etc/passwd"); err == nil {
		t.Error("path traversal in version accepted")
	}

	scored, err := Run(t.Context(), eng, back, models.NewDate(2026, time.March, 31))
	must(t, err)
	var counts [5]int
	for _, s := range scored {
		counts[s.Tier]++
	}
	n := len(scored)
	if counts[1] != topCount(0.005, n) || counts[1]+counts[2] != topCount(0.05, n) || counts[1]+counts[2]+counts[3] != topCount(0.2, n) {
		t.Errorf("tier sizes %v for %d people", counts, n)
	}
}
