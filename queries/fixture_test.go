package queries

import (
	"fmt"
	"testing"
	"time"

	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/models"
)

// The fixture lake: a few hand-made people whose cohort membership and
// risk scores are worked out by hand in the tests, written with the same
// lake.Append calls the ingest job uses.
//
// Batch B1 is a GP extract, batch B2 (committed later) hospital feeds.

var asOf = models.NewDate(2024, time.March, 31)

func date(y int, m time.Month, d int) *models.Date { return models.NewDate(y, m, d).Ptr() }

// gpPerson is a registered GP patient.
func gpPerson(key, sex string, yob int16, mob int8) models.PersonRow {
	return models.PersonRow{
		PersonKey: key, Source: "gp", BatchID: "B1", YearOfBirth: yob, MonthOfBirth: mob, Sex: sex,
		PracticeCode: "A81001", RegisteredFrom: date(2010, time.January, 1), NHSNumberStatus: "verified",
	}
}

type dx struct {
	batch  string
	feed   models.Feed
	system models.CodeSystem
	code   string
	when   *models.Date
}

// Codes from codelists/ltc.csv.
const (
	t2d  = "44054006"  // diabetes_t2
	htn  = "38341003"  // hypertension
	ast  = "195967001" // asthma
	ckd  = "709044004" // ckd
	dep  = "35489007"  // depression
	af   = "49436004"  // af
	hf   = "84114007"  // heart_failure
	gpDx = "B1"
)

func snomed(code string) dx {
	return dx{gpDx, models.FeedGP, models.SNOMED, code, date(2020, time.January, 1)}
}

func icd(feed models.Feed, code string, when *models.Date) dx {
	return dx{"B2", feed, models.ICD10, code, when}
}

type event struct {
	feed      models.Feed
	encounter string
	event     string
	class     string
	method    string
	start     *models.Date
	end       *models.Date
	cancelled bool
}

// fixturePeople is the population; the comments give what the tests expect.
func fixturePeople() (people []models.PersonRow, diagnoses map[string][]dx, events map[string][]event) {
	diagnoses = map[string][]dx{}
	events = map[string][]event{}
	add := func(p models.PersonRow, d ...dx) {
		people = append(people, p)
		diagnoses[p.PersonKey] = append(diagnoses[p.PersonKey], d...)
	}
	// Age 73, 70-79 female: T2D, and hypertension coded by GP and hospital
	// (one condition). Cohort. One emergency admission (FHIR) in the year;
	// a second FHIR encounter is cancelled. Score 3+2+2 = 7.
	add(gpPerson("p01", "female", 1950, 5), snomed(t2d), snomed(htn), icd(models.FeedHL7, "I10", date(2023, time.January, 1)))
	events["p01"] = []event{
		{models.FeedFHIR, "f1", "", "inpatient", "emergency", date(2024, time.March, 1), date(2024, time.March, 4), false},
		{models.FeedFHIR, "f2", "", "inpatient", "emergency", date(2024, time.February, 1), nil, true},
	}
	// Age 44, 40-59 male: T2D as ICD-10 E119 (matches E11 by prefix) + asthma. Cohort. Score 1+2.
	add(gpPerson("p02", "male", 1980, 1), icd(models.FeedHL7, "E119", date(2021, time.May, 1)), snomed(ast))
	// Age 73, 70-79 female: T2D only. Registered, not cohort. Score 3+1.
	// A pre-admission booked for 2099 (after any commit date, so not data).
	add(gpPerson("p03", "female", 1950, 6), snomed(t2d))
	events["p03"] = []event{{models.FeedHL7, "e9", "A05", "inpatient", "elective", date(2099, time.January, 1), nil, false}}
	// Age 84, 80+ male: hypertension + CKD, no diabetes. Not cohort.
	// Three emergency admissions in the year (see events). Score 4+2+6 = 12.
	add(gpPerson("p04", "male", 1940, 2), snomed(htn), snomed(ckd))
	events["p04"] = []event{
		{models.FeedHL7, "e1", "A01", "inpatient", "emergency", date(2023, time.June, 1), nil, false},
		{models.FeedHL7, "e1", "A03", "inpatient", "emergency", date(2023, time.June, 1), date(2023, time.June, 5), false},
		{models.FeedHL7, "e2", "A01", "inpatient", "emergency", date(2023, time.September, 10), nil, false},
		{models.FeedHL7, "e2", "A08", "inpatient", "", date(2023, time.September, 10), nil, false},
		{models.FeedHL7, "e3", "A01", "inpatient", "emergency", date(2024, time.January, 15), nil, false},
		{models.FeedHL7, "e4", "A01", "inpatient", "emergency", date(2023, time.December, 1), nil, false},
		{models.FeedHL7, "e4", "A11", "inpatient", "emergency", date(2023, time.December, 1), nil, true},
		{models.FeedHL7, "e5", "A01", "inpatient", "emergency", date(2022, time.December, 1), nil, false},
		{models.FeedHL7, "e6", "A04", "emergency", "", date(2024, time.February, 1), nil, false},
		{models.FeedHL7, "e7", "A01", "inpatient", "elective", date(2024, time.February, 10), nil, false},
		{models.FeedHL7, "e8", "A01", "inpatient", "elective", date(2023, time.May, 1), nil, false},
		{models.FeedHL7, "e8", "A03", "inpatient", "elective", date(2023, time.May, 1), date(2023, time.May, 3), false},
		{models.FeedHL7, "e8", "A13", "inpatient", "elective", date(2023, time.May, 1), date(2023, time.May, 3), true},
	}
	// Died November 2023: T2D + depression, but not alive on the as-at date.
	dead := gpPerson("p05", "female", 1950, 4)
	dead.DeathMonth = date(2023, time.November, 1)
	add(dead, snomed(t2d), snomed(dep))
	// Known only to the hospital, no practice: not registered. T2D + COPD.
	add(models.PersonRow{PersonKey: "p06", Source: "hl7v2", BatchID: "B2", YearOfBirth: 1950, MonthOfBirth: 4, Sex: "female", NHSNumberStatus: "valid"},
		icd(models.FeedHL7, "E11", date(2022, time.March, 1)), icd(models.FeedHL7, "J44", date(2022, time.March, 1)))
	// Age 64 (birthday month is the as-at month), 60-69 male: T2D, atrial
	// fibrillation recorded after the as-at date. Not cohort. Score 2+1.
	add(gpPerson("p07", "male", 1960, 3), snomed(t2d), dx{gpDx, models.FeedGP, models.SNOMED, af, date(2024, time.June, 1)})
	// Age 68, 60-69 female, described by the GP (B1) and later by the
	// hospital (B2, no practice): practice from the GP, postcode district
	// from the newer hospital row. T2D + CHD (undated ICD-10 I25). Cohort. Score 2+2.
	gp8 := gpPerson("p08", "female", 1955, 7)
	gp8.PracticeCode = "B82002"
	add(gp8, snomed(t2d), icd(models.FeedHL7, "I25", nil))
	people = append(people, models.PersonRow{PersonKey: "p08", Source: "hl7v2", BatchID: "B2", YearOfBirth: 1955, MonthOfBirth: 7, Sex: "female", PostcodeDistrict: "LS1", NHSNumberStatus: "verified"})
	// Age 14, 0-17 male: T2D + hypertension. Cohort. Score 0+2.
	add(gpPerson("p10", "male", 2010, 1), snomed(t2d), snomed(htn))
	// Age 53, 40-59 male: T2D coded "E11.9" (dot removed) + I10, from FHIR. Cohort. Score 1+2.
	add(gpPerson("p11", "male", 1970, 8), icd(models.FeedFHIR, "E11.9", date(2019, time.July, 1)), icd(models.FeedFHIR, "I10", date(2019, time.July, 1)))
	// Registers in May 2024, after the as-at date: not registered. T2D + asthma.
	late := gpPerson("p12", "female", 1960, 1)
	late.RegisteredFrom = date(2024, time.May, 1)
	add(late, snomed(t2d), snomed(ast))
	// Month of birth unknown (taken as January): age 74, 70-79 female.
	// T2D + heart failure. Cohort. Score 3+2.
	add(gpPerson("p13", "female", 1950, 0), snomed(t2d), snomed(hf))
	// Twelve women aged 76 (70-79): T2D + hypertension. Cohort. Score 3+2.
	for i := 1; i <= 12; i++ {
		add(gpPerson(fmt.Sprintf("p70-%02d", i), "female", 1948, 1), snomed(t2d), snomed(htn))
	}
	return people, diagnoses, events
}

// fixtureLake writes the fixture population to a new lake and returns it.
func fixtureLake(t testing.TB) *lake.Lake {
	t.Helper()
	l, err := lake.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	people, diagnoses, events := fixturePeople()
	var seq int64
	for _, id := range []string{"B1", "B2"} {
		b, err := l.Begin(id)
		if err != nil {
			t.Fatal(err)
		}
		// The master person index must stay out of the engine's reach.
		must(t, lake.Append(b, "mpi/links", models.LinkRow{Feed: "gp", LocalID: id, PersonID: "secret-person", NHSNumber: "9434765919", NHSNumberStatus: "verified", Method: "new", BatchID: id}))
		for _, p := range people {
			if p.BatchID == id {
				must(t, lake.Append(b, lake.PseudoDir(models.TablePerson, models.Feed(p.Source), nil), p))
			}
		}
		for key, ds := range diagnoses {
			for _, d := range ds {
				if d.batch == id {
					row := models.DiagnosisRow{PersonKey: key, Source: string(d.feed), BatchID: id, CodeSystem: string(d.system), Code: d.code, RecordedDate: d.when}
					must(t, lake.Append(b, lake.PseudoDir(models.TableDiagnosis, d.feed, d.when), row))
				}
			}
		}
		if id == "B1" {
			// One observation and one medication, so every table has a file.
			must(t, lake.Append(b, lake.PseudoDir(models.TableObservation, models.FeedGP, &asOf), models.ObservationRow{PersonKey: "p01", Source: "gp", BatchID: id, CodeSystem: "snomed", Code: "999791000000106", Value: new(53.0), Unit: "mmol/mol", EffectiveDate: &asOf}))
			must(t, lake.Append(b, lake.PseudoDir(models.TableMedication, models.FeedGP, &asOf), models.MedicationRow{PersonKey: "p01", Source: "gp", BatchID: id, CodeSystem: "dmd", Code: "325278002", AuthoredDate: &asOf}))
		} else {
			for key, es := range events {
				for _, e := range es {
					seq++ // events arrive in the order listed
					row := models.EncounterRow{PersonKey: key, EncounterKey: e.encounter, Source: string(e.feed), BatchID: id, Event: e.event,
						Class: e.class, AdmissionMethod: e.method, StartDate: e.start, EndDate: e.end, Cancelled: e.cancelled, Seq: seq}
					must(t, lake.Append(b, lake.PseudoDir(models.TableEncounter, e.feed, e.start), row))
				}
			}
		}
		must(t, b.Commit(lake.Manifest{}))
	}
	return l
}

func openEngine(t testing.TB, l *lake.Lake) *Engine {
	t.Helper()
	e, err := Open(t.Context(), l)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
