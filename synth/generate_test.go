package synth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pophealth/pophealth/codelists"
	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/models/nhsnumber"
)

func TestGenerate_IsByteIdenticalWhateverTheWorkers(t *testing.T) {
	// 2,500 people make three chunks, the last one partial.
	one, _ := generate(t, func(o *Options) { o.People, o.Workers = 2500, 1 })
	four, _ := generate(t, func(o *Options) { o.People, o.Workers = 2500, 4 })
	otherSeed, _ := generate(t, func(o *Options) { o.People, o.Workers, o.Seed = 2500, 4, 2 })

	files := 0
	err := filepath.WalkDir(one, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(one, path)
		a, _ := os.ReadFile(path)
		b, err := os.ReadFile(filepath.Join(four, rel))
		if err != nil {
			return err
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between 1 and 4 workers", rel)
		}
		if c, _ := os.ReadFile(filepath.Join(otherSeed, rel)); bytes.Equal(a, c) {
			t.Errorf("%s is the same for seeds 1 and 2", rel)
		}
		files++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := int(numFiles) + 3; files != want {
		t.Errorf("compared %d files, want %d", files, want)
	}
}

func TestGenerate_WritesGPExtractPerSpec(t *testing.T) {
	dir, sum := generate(t, func(o *Options) { o.People, o.Malformed = 3000, 0.01 })
	f := readFeeds(t, dir)
	spec := gpSpecColumns(t)
	for _, file := range []struct {
		name, section string
		check         func(row []string) error
	}{
		{"gp/patients.csv", "Patients file", checkGPPatient},
		{"gp/events.csv", "Events file", checkGPEvent},
	} {
		rows := readCSV(t, filepath.Join(dir, filepath.FromSlash(file.name)))
		if got, want := rows[0], spec[file.section]; !slices.Equal(got, want) {
			t.Errorf("%s header %v, spec says %v", file.name, got, want)
		}
		bad := 0
		for i, row := range rows[1:] {
			line := int64(i + 2)
			err := file.check(row)
			if listed := f.isMalformed(file.name, line); listed != (err != nil) {
				t.Errorf("%s:%d listed as malformed: %v, but check says %v: %q", file.name, line, listed, err, row)
			}
			if err != nil {
				bad++
			}
		}
		if fc := sum.Files[file.name]; fc.Records != int64(len(rows)-1) || fc.Malformed != int64(bad) || bad == 0 {
			t.Errorf("%s: summary %+v, file has %d rows of which %d malformed", file.name, fc, len(rows)-1, bad)
		}
	}
}

// gpSpecColumns reads the column names of each file from the spec's tables.
func gpSpecColumns(t *testing.T) map[string][]string {
	data, err := os.ReadFile("../docs/feeds/gp-extract.md")
	if err != nil {
		t.Fatal(err)
	}
	cols := map[string][]string{}
	section := ""
	row := regexp.MustCompile("^\\| `([a-z_]+)` \\|")
	for line := range strings.Lines(string(data)) {
		if s, ok := strings.CutPrefix(line, "## "); ok {
			section, _, _ = strings.Cut(strings.TrimSpace(s), " (")
		}
		if m := row.FindStringSubmatch(line); m != nil {
			cols[section] = append(cols[section], m[1])
		}
	}
	if len(cols["Patients file"]) == 0 || len(cols["Events file"]) == 0 {
		t.Fatalf("no column tables found in the spec: %v", cols)
	}
	return cols
}

// checkGPPatient applies the spec's rules to a patients row.
func checkGPPatient(row []string) error {
	if len(row) != 12 {
		return errors.New("column count")
	}
	for _, i := range []int{0, 4, 5, 7, 8} {
		if row[i] == "" {
			return errors.New("required field empty")
		}
	}
	for _, i := range []int{4, 8, 9, 10} {
		if row[i] == "" {
			continue
		}
		if _, err := models.ParseDate(row[i]); err != nil {
			return err
		}
	}
	if !slices.Contains([]string{"M", "F", "I", "U"}, row[5]) {
		return errors.New("sex")
	}
	return nil
}

// checkGPEvent applies the spec's rules to an events row.
func checkGPEvent(row []string) error {
	if len(row) != 8 {
		return errors.New("column count")
	}
	for i := range 6 {
		if row[i] == "" {
			return errors.New("required field empty")
		}
	}
	if _, err := models.ParseDate(row[2]); err != nil {
		return err
	}
	switch row[3] + "/" + row[4] {
	case "problem/snomed", "observation/snomed", "medication/dmd":
	default:
		return errors.New("event_type/code_system pair")
	}
	if row[6] != "" {
		if _, err := strconv.ParseFloat(row[6], 64); err != nil {
			return err
		}
	}
	return nil
}

func TestGenerate_FHIRLinesAreValidJSONExceptMalformedOnes(t *testing.T) {
	dir, sum := generate(t, func(o *Options) { o.People, o.Malformed = 3000, 0.01 })
	f := readFeeds(t, dir)
	patients := f.truth[models.FeedFHIR]
	ids := map[string]bool{}
	for _, name := range []string{"Patient", "Encounter", "Condition", "Observation", "MedicationRequest"} {
		rel := "fhir/" + name + ".ndjson"
		var n, bad int64
		lines(t, filepath.Join(dir, "fhir", name+".ndjson"), func(line int64, data []byte) {
			n++
			valid := json.Valid(data)
			if listed := f.isMalformed(rel, line); listed == valid {
				t.Errorf("%s:%d listed as malformed: %v, but valid JSON: %v", rel, line, listed, valid)
			}
			if !valid {
				bad++
				return
			}
			var res struct {
				ResourceType string
				ID           string
				Subject      struct{ Reference string }
			}
			if err := json.Unmarshal(data, &res); err != nil {
				t.Fatalf("%s:%d: %v", rel, line, err)
			}
			if res.ResourceType != name || res.ID == "" || ids[res.ID] {
				t.Errorf("%s:%d: resourceType %q id %q (seen before: %v)", rel, line, res.ResourceType, res.ID, ids[res.ID])
			}
			ids[res.ID] = true
			if name == "Patient" {
				return
			}
			if id, ok := strings.CutPrefix(res.Subject.Reference, "Patient/"); !ok || patients[id] == "" {
				t.Errorf("%s:%d: subject %q is no generated Patient", rel, line, res.Subject.Reference)
			}
		})
		if fc := sum.Files[rel]; fc.Records != n || fc.Malformed != bad {
			t.Errorf("%s: summary %+v, file has %d lines of which %d invalid", rel, fc, n, bad)
		}
	}
}

func TestGenerate_FHIRResourcesUseNHSCodingSystems(t *testing.T) {
	dir, _ := generate(t, func(o *Options) { o.People = 2000 })
	f := readFeeds(t, dir)
	verified, numbers := 0, 0
	readFHIR(t, f, "Patient", func(res fhirResource) {
		local := false
		for _, id := range res.Identifier {
			local = local || id.System == fhirLocalIDSystem && id.Value != ""
			if id.System != fhirNHSNumberSystem {
				continue
			}
			numbers++
			if len(id.Extension) != 1 || id.Extension[0].URL != fhirVerificationURL || len(id.Extension[0].ValueCodeableConcept.Coding) != 1 {
				t.Fatalf("NHS number %s without one verification status: %+v", id.Value, id.Extension)
			}
			if id.Extension[0].ValueCodeableConcept.Coding[0].Code == "01" {
				verified++
			}
		}
		if !local {
			t.Errorf("Patient %s has no local identifier", res.ID)
		}
	})
	if numbers == 0 || float64(verified)/float64(numbers) < 0.8 {
		t.Errorf("%d of %d NHS numbers verified, want most", verified, numbers)
	}
	readFHIR(t, f, "Encounter", func(res fhirResource) {
		if !slices.Contains([]string{"AMB", "HH", "VR"}, res.Class.Code) || res.Class.System != fhirActCodeSystem {
			t.Errorf("Encounter %s class %+v", res.ID, res.Class)
		}
		if res.Period.Start == "" || res.Period.End <= res.Period.Start {
			t.Errorf("Encounter %s period %+v", res.ID, res.Period)
		}
	})
	readFHIR(t, f, "Condition", func(res fhirResource) {
		if len(res.Code.Coding) != 1 || res.Code.Coding[0].System != "http://snomed.info/sct" {
			t.Errorf("Condition %s code %+v", res.ID, res.Code)
		}
	})
	readFHIR(t, f, "Observation", func(res fhirResource) {
		if len(res.Code.Coding) != 1 || res.Code.Coding[0].System != "http://snomed.info/sct" || res.ValueQuantity == nil || res.ValueQuantity.Value <= 0 {
			t.Errorf("Observation %s code %+v value %+v", res.ID, res.Code, res.ValueQuantity)
		}
	})
	readFHIR(t, f, "MedicationRequest", func(res fhirResource) {
		if c := res.MedicationCodeableConcept.Coding; len(c) != 1 || c[0].System != "https://dmd.nhs.uk" || c[0].Code == "" {
			t.Errorf("MedicationRequest %s medication %+v", res.ID, res.MedicationCodeableConcept)
		}
	})
}

func TestGenerate_HL7MessagesFollowV24ADT(t *testing.T) {
	dir, sum := generate(t, func(o *Options) { o.People, o.Malformed = 4000, 0.01 })
	f := readFeeds(t, dir)
	const rel = "hl7v2/adt.hl7"
	icd := regexp.MustCompile(`^[A-Z][0-9]{2}\.[0-9X]$`)
	structure := map[string]string{"A01": "ADT_A01", "A03": "ADT_A03", "A08": "ADT_A01"}
	seen := map[string]bool{}
	events := map[string]int{}
	var n, bad int64
	lines(t, filepath.Join(dir, "hl7v2", "adt.hl7"), func(line int64, data []byte) {
		n++
		raw := string(data)
		if !strings.HasSuffix(raw, "\r") || strings.Contains(raw, "\n") {
			t.Fatalf("%s:%d: segments must end in CR and the message in LF", rel, line)
		}
		m := parseHL7(raw)
		if m.field("MSH", 2) != `^~\&` || m.field("MSH", 12) != "2.4" {
			t.Fatalf("%s:%d: MSH %q", rel, line, m["MSH"])
		}
		msgType := strings.Split(m.field("MSH", 9), "^")
		if len(msgType) != 3 || msgType[0] != "ADT" || structure[msgType[1]] != msgType[2] || m.field("EVN", 1) != msgType[1] {
			t.Errorf("%s:%d: MSH-9 %q, EVN-1 %q", rel, line, m.field("MSH", 9), m.field("EVN", 1))
		}
		events[msgType[1]]++
		ctrl := m.field("MSH", 10)
		if ctrl == "" || seen[ctrl] {
			t.Errorf("%s:%d: control id %q empty or repeated", rel, line, ctrl)
		}
		seen[ctrl] = true

		var problem error
		if len(m["PID"]) != 1 {
			problem = errors.New("no PID")
		} else if _, err := models.ParseDate(hl7ToISO(m.field("PID", 7))); err != nil {
			problem = err
		}
		if listed := f.isMalformed(rel, line); listed != (problem != nil) {
			t.Errorf("%s:%d listed as malformed: %v, but structure check says %v", rel, line, listed, problem)
		}
		if problem != nil {
			bad++
			return
		}

		ids := strings.Split(m.field("PID", 3), "~")
		mrn := strings.Split(ids[0], "^")
		if len(mrn) != 5 || mrn[3] != hospitalODS || mrn[4] != "MR" || f.local[models.FeedHL7][ctrl] != mrn[0] {
			t.Errorf("%s:%d: PID-3 %q, truth has MRN %q", rel, line, m.field("PID", 3), f.local[models.FeedHL7][ctrl])
		}
		if len(ids) == 2 && !strings.HasSuffix(ids[1], "^^^NHS^NH") || len(ids) > 2 || strings.HasPrefix(ids[len(ids)-1], "^") {
			t.Errorf("%s:%d: PID-3 %q", rel, line, m.field("PID", 3))
		}
		if name := strings.Split(m.field("PID", 5), "^"); len(name) != 2 || name[0] == "" || name[1] == "" {
			t.Errorf("%s:%d: PID-5 %q", rel, line, m.field("PID", 5))
		}
		if !slices.Contains([]string{"M", "F"}, m.field("PID", 8)) || len(strings.Split(m.field("PID", 11), "^")) < 5 {
			t.Errorf("%s:%d: PID-8 %q, PID-11 %q", rel, line, m.field("PID", 8), m.field("PID", 11))
		}
		if d := m.field("PID", 29); d != "" && (m.field("PID", 30) != "Y" || msgType[1] != "A03" || m.field("PV1", 36) != "4") {
			t.Errorf("%s:%d: death %q without Y, A03 and discharge method 4", rel, line, d)
		}
		if ods := strings.Split(m.field("PD1", 3), "^"); len(ods) != 3 || !regexp.MustCompile(`^B8[3-7]\d{3}$`).MatchString(ods[2]) {
			t.Errorf("%s:%d: PD1-3 %q", rel, line, m.field("PD1", 3))
		}
		if !slices.Contains([]string{"I", "E"}, m.field("PV1", 2)) ||
			!slices.Contains([]string{"11", "12", "13", "21", "22", "24", "28"}, m.field("PV1", 4)) ||
			m.field("PV1", 19) == "" || len(m.field("PV1", 44)) != 12 {
			t.Errorf("%s:%d: PV1 %q", rel, line, m["PV1"])
		}
		if (msgType[1] == "A03") != (m.field("PV1", 45) != "") {
			t.Errorf("%s:%d: %s with PV1-45 %q", rel, line, msgType[1], m.field("PV1", 45))
		}
		if msgType[1] != "A08" && len(m["DG1"]) == 0 {
			t.Errorf("%s:%d: %s without DG1", rel, line, msgType[1])
		}
		for _, dg := range m["DG1"] {
			code := strings.Split(dg[3], "^")
			if len(code) != 3 || !icd.MatchString(code[0]) || code[1] == "" || code[2] != "I10" {
				t.Errorf("%s:%d: DG1-3 %q", rel, line, dg[3])
			}
		}
		if strings.Contains(strings.TrimPrefix(raw, `MSH|^~\&`), "&") {
			t.Errorf("%s:%d: unescaped &", rel, line)
		}
	})
	if fc := sum.Files[rel]; fc.Records != n || fc.Malformed != bad || bad == 0 {
		t.Errorf("summary %+v, file has %d messages of which %d malformed", fc, n, bad)
	}
	if events["A01"] == 0 || events["A03"] == 0 || events["A08"] == 0 {
		t.Errorf("events %v: want A01, A03 and A08", events)
	}
}

// hl7ToISO turns YYYYMMDD into YYYY-MM-DD.
func hl7ToISO(d string) string {
	if len(d) != 8 {
		return d
	}
	return d[:4] + "-" + d[4:6] + "-" + d[6:]
}

func TestGenerate_TruthCoversEveryPersonRecord(t *testing.T) {
	dir, sum := generate(t, func(o *Options) { o.People, o.Malformed = 3000, 0.01 })
	f := readFeeds(t, dir)

	// GP: one row per person, patient_id as record and local id.
	gp := f.truth[models.FeedGP]
	if len(gp) != sum.People {
		t.Errorf("truth has %d GP records for %d people", len(gp), sum.People)
	}
	for i := range sum.People {
		id := "P" + pad(uint64(i)+1, 8)
		if _, ok := f.gpByPerson[id]; !ok {
			t.Errorf("person %s has no GP record", id)
		}
	}
	rows := readCSV(t, filepath.Join(dir, "gp", "patients.csv"))[1:]
	for _, row := range rows {
		if gp[row[0]] == "" || f.local[models.FeedGP][row[0]] != row[0] {
			t.Errorf("GP patient %s not in truth", row[0])
		}
	}

	// FHIR: one row per Patient line, malformed or not.
	patients := 0
	lines(t, filepath.Join(dir, "fhir", "Patient.ndjson"), func(line int64, data []byte) {
		patients++
		id := f.malformed["fhir/Patient.ndjson"][line].recordID
		if id == "" {
			var p struct{ ID string }
			if err := json.Unmarshal(data, &p); err != nil {
				t.Fatal(err)
			}
			id = p.ID
		}
		if f.truth[models.FeedFHIR][id] == "" || f.local[models.FeedFHIR][id] != id {
			t.Errorf("FHIR Patient %s not in truth", id)
		}
	})
	if patients != len(f.truth[models.FeedFHIR]) || patients != sum.FHIRPatients {
		t.Errorf("%d Patient lines, %d truth rows, summary %d", patients, len(f.truth[models.FeedFHIR]), sum.FHIRPatients)
	}

	// HL7: one row per message, keyed by MSH-10.
	messages := 0
	lines(t, filepath.Join(dir, "hl7v2", "adt.hl7"), func(line int64, data []byte) {
		messages++
		if ctrl := parseHL7(string(data)).field("MSH", 10); f.truth[models.FeedHL7][ctrl] == "" {
			t.Errorf("HL7 message %s not in truth", ctrl)
		}
	})
	if messages != len(f.truth[models.FeedHL7]) {
		t.Errorf("%d messages, %d truth rows", messages, len(f.truth[models.FeedHL7]))
	}
	if want := int64(len(gp) + patients + messages); sum.TruthRecords != want {
		t.Errorf("summary counts %d truth rows, want %d", sum.TruthRecords, want)
	}
}

func TestGenerate_MalformedFileLocatesEachBrokenRecord(t *testing.T) {
	dir, sum := generate(t, func(o *Options) { o.People, o.Malformed = 2000, 0.02 })
	f := readFeeds(t, dir)
	for rel, fc := range sum.Files {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		listed := f.malformed[rel]
		if int64(len(listed)) != fc.Malformed || fc.Malformed == 0 {
			t.Errorf("%s: %d listed, summary says %d", rel, len(listed), fc.Malformed)
		}
		for line, m := range listed {
			if m.offset > 0 && data[m.offset-1] != '\n' {
				t.Errorf("%s:%d: offset %d is not the start of a line", rel, line, m.offset)
			}
			if got := int64(bytes.Count(data[:m.offset], []byte("\n"))) + 1; got != line {
				t.Errorf("%s: offset %d is on line %d, listed as %d", rel, m.offset, got, line)
			}
			if m.reason == "" || m.recordID == "" {
				t.Errorf("%s:%d: reason %q, record %q", rel, line, m.reason, m.recordID)
			}
		}
	}
}

func TestGenerate_WithoutDirtFeedsAgreeWithGP(t *testing.T) {
	dir, sum := generate(t, func(o *Options) {
		o.People = 2000
		o.MissingNHS, o.WrongNHS, o.NameVariant, o.MovedPostcode, o.Malformed = 0, 0, 0, 0, 0
	})
	f := readFeeds(t, dir)
	for rel, fc := range sum.Files {
		if fc.Malformed != 0 {
			t.Errorf("%s: %d malformed with share 0", rel, fc.Malformed)
		}
	}
	for feed, d := range sum.Dirt {
		if d != (DirtCounts{PersonRecords: d.PersonRecords}) {
			t.Errorf("%s dirt %+v with shares 0", feed, d)
		}
	}
	for _, p := range fhirPeople(t, f) {
		if p.nhs != p.trueNHS || p.given != p.trueGiven || p.family != p.trueFamily || p.postcode != p.truePostcode {
			t.Errorf("FHIR Patient %+v differs from GP", p)
		}
	}
}

func TestGenerate_AppliesAndCountsIdentifierDirt(t *testing.T) {
	dir, sum := generate(t, func(o *Options) {
		o.People = 4000
		o.MissingNHS, o.WrongNHS, o.NameVariant, o.MovedPostcode, o.Malformed = 0.2, 0.3, 0.4, 0.3, 0
	})
	f := readFeeds(t, dir)
	var got DirtCounts
	valid, other := 0, 0
	for _, p := range fhirPeople(t, f) {
		got.PersonRecords++
		switch {
		case p.nhs == "":
			got.MissingNHS++
		case p.nhs != p.trueNHS:
			got.WrongNHS++
			if nhsnumber.Valid(p.nhs) {
				valid++
				if slices.Contains(p.everyNHS, p.nhs) {
					other++
				}
			}
		}
		if p.given != p.trueGiven || p.family != p.trueFamily {
			got.Nickname++ // any name variant
		}
		if p.postcode != p.truePostcode {
			got.OldPostcode++
		}
	}
	want := sum.Dirt[models.FeedFHIR]
	if got.PersonRecords != want.PersonRecords || got.MissingNHS != want.MissingNHS || got.WrongNHS != want.WrongNHS ||
		valid != want.WrongNHSValid || other != want.WrongNHSOtherPerson ||
		got.Nickname != want.Nickname+want.NameTypo+want.SurnameVariant || got.OldPostcode != want.OldPostcode {
		t.Errorf("FHIR Patients show %+v (valid wrong %d, other person %d); summary says %+v", got, valid, other, want)
	}
	for _, n := range []int{want.MissingNHS, want.WrongNHS, want.WrongNHSValid, want.Nickname, want.NameTypo, want.SurnameVariant, want.OldPostcode} {
		if n == 0 {
			t.Errorf("summary %+v: every kind of dirt should occur at these shares", want)
			break
		}
	}
	if h := sum.Dirt[models.FeedHL7]; h.MissingNHS == 0 || h.WrongNHS == 0 || h.OldPostcode == 0 {
		t.Errorf("HL7 dirt %+v", h)
	}
}

// fhirPerson is a FHIR Patient next to the GP's (true) identity.
type fhirPerson struct {
	nhs, given, family, postcode                 string
	trueNHS, trueGiven, trueFamily, truePostcode string
	everyNHS                                     []string // every GP NHS number, for lookups
}

func fhirPeople(t *testing.T, f *feeds) []fhirPerson {
	t.Helper()
	var every []string
	for _, row := range f.patients {
		every = append(every, nhsnumber.Normalise(row[f.patHdr["nhs_number"]]))
	}
	var out []fhirPerson
	readFHIR(t, f, "Patient", func(p fhirResource) {
		person := f.truth[models.FeedFHIR][p.ID]
		fp := fhirPerson{family: p.Name[0].Family, given: p.Name[0].Given[0], postcode: p.Address[0].PostalCode, everyNHS: every}
		for _, id := range p.Identifier {
			if id.System == fhirNHSNumberSystem {
				fp.nhs = id.Value
			}
		}
		nhs, _ := f.patient(person, "nhs_number")
		fp.trueNHS = nhsnumber.Normalise(nhs)
		fp.trueGiven, _ = f.patient(person, "given_name")
		fp.trueFamily, _ = f.patient(person, "family_name")
		fp.truePostcode, _ = f.patient(person, "postcode")
		out = append(out, fp)
	})
	if len(out) == 0 {
		t.Fatal("no FHIR Patients")
	}
	return out
}

func TestGenerate_NHSNumbersAreValidUniqueAndInTestRange(t *testing.T) {
	dir, _ := generate(t, func(o *Options) { o.People, o.Malformed = 5000, 0 })
	f := readFeeds(t, dir)
	seen := map[string]bool{}
	for id, row := range f.patients {
		n := nhsnumber.Normalise(row[f.patHdr["nhs_number"]])
		if err := nhsnumber.Check(n); err != nil || !strings.HasPrefix(n, "999") || seen[n] {
			t.Errorf("patient %s NHS number %q: %v, repeated: %v", id, n, err, seen[n])
		}
		seen[n] = true
	}
	if len(seen) != 5000 {
		t.Errorf("%d numbers for 5000 people", len(seen))
	}
}

func TestGenerate_PrevalenceMeetsTargets(t *testing.T) {
	const people = 20000
	dir, sum := generate(t, func(o *Options) { o.People, o.Malformed = people, 0 })
	// Count people with each condition from the GP problem list.
	condOf := map[string]string{}
	for _, e := range codelists.LongTermConditions() {
		if e.System == models.SNOMED {
			condOf[e.Code] = e.Name
		}
	}
	has := map[string]map[string]bool{}
	for _, row := range readCSV(t, filepath.Join(dir, "gp", "events.csv"))[1:] {
		if name, ok := condOf[row[5]]; ok && row[3] == "problem" {
			if has[name] == nil {
				has[name] = map[string]bool{}
			}
			has[name][row[1]] = true
		}
	}
	for _, c := range conditionShapes {
		n := len(has[c.name])
		if n != sum.Conditions[c.name] {
			t.Errorf("%s: %d people with the problem code, summary says %d", c.name, n, sum.Conditions[c.name])
		}
		got := float64(n) / people
		se := math.Sqrt(c.prevalence * (1 - c.prevalence) / people)
		t.Logf("%s prevalence %.4f, target %.4f", c.name, got, c.prevalence)
		if math.Abs(got-c.prevalence) > 4*se {
			t.Errorf("%s prevalence %.4f, want %.4f ± %.4f", c.name, got, c.prevalence, 4*se)
		}
	}
	t1, t2 := float64(len(has["diabetes_t1"])), float64(len(has["diabetes_t2"]))
	if share := t1 / (t1 + t2); share < 0.06 || share > 0.14 {
		t.Errorf("type 1 is %.3f of diabetes, want about 0.1", share)
	}
}

func TestGenerate_AgeStructureFollowsONSBands(t *testing.T) {
	const people = 20000
	dir, sum := generate(t, func(o *Options) { o.People, o.Malformed = people, 0 })
	f := readFeeds(t, dir)
	total := 0.0
	for _, b := range ageBands {
		total += b.thousands
	}
	var count [len(ageBands)]int
	males := 0
	for _, row := range f.patients {
		age := ageAtStart(t, row[f.patHdr["date_of_birth"]])
		i := slices.IndexFunc(ageBands[:], func(b ageBand) bool { return age >= b.from && age <= b.to })
		if i < 0 {
			t.Fatalf("age %d outside every band", age)
		}
		count[i]++
		if row[f.patHdr["sex"]] == "M" {
			males++
		}
	}
	for i, b := range ageBands {
		want := b.thousands / total
		got := float64(count[i]) / people
		if se := math.Sqrt(want * (1 - want) / people); math.Abs(got-want) > 4*se {
			t.Errorf("ages %d-%d: share %.4f, want %.4f ± %.4f", b.from, b.to, got, want, 4*se)
		}
	}
	if share := float64(males) / people; share < 0.48 || share > 0.505 {
		t.Errorf("male share %.3f, want about 0.49", share)
	}
	// Deaths: about 1% a year in England.
	if rate := float64(sum.Deaths) / people / 3; rate < 0.007 || rate > 0.013 {
		t.Errorf("%d deaths, %.4f a year, want about 0.01", sum.Deaths, rate)
	}
}

func TestGenerate_EmergencyAdmissionsRiseWithAgeAndConditions(t *testing.T) {
	const people = 20000
	dir, _ := generate(t, func(o *Options) { o.People, o.Malformed = people, 0 })
	f := readFeeds(t, dir)

	conds := map[string]map[string]bool{} // GP patient_id -> SNOMED problem codes
	for _, row := range readCSV(t, filepath.Join(dir, "gp", "events.csv"))[1:] {
		if row[3] == "problem" {
			if conds[row[1]] == nil {
				conds[row[1]] = map[string]bool{}
			}
			conds[row[1]][row[5]] = true
		}
	}
	emergencies := map[string]int{} // person id -> emergency admissions
	lines(t, filepath.Join(dir, "hl7v2", "adt.hl7"), func(_ int64, data []byte) {
		m := parseHL7(string(data))
		if m.field("EVN", 1) == "A01" && strings.HasPrefix(m.field("PV1", 4), "2") {
			emergencies[f.truth[models.FeedHL7][m.field("MSH", 10)]]++
		}
	})

	ageGroups := []int{0, 40, 65, 80}
	var byAge, byConds, byCondsOld [4]struct{ people, admissions int }
	for person, gpID := range f.gpByPerson {
		row := f.patients[gpID]
		age := ageAtStart(t, row[f.patHdr["date_of_birth"]])
		a := 0
		for i, from := range ageGroups {
			if age >= from {
				a = i
			}
		}
		n := min(len(conds[gpID]), 3)
		e := emergencies[person]
		byAge[a].people++
		byAge[a].admissions += e
		byConds[n].people++
		byConds[n].admissions += e
		if age >= 65 {
			byCondsOld[n].people++
			byCondsOld[n].admissions += e
		}
	}
	for _, c := range []struct {
		name   string
		groups [4]struct{ people, admissions int }
	}{
		{"age group (0-39, 40-64, 65-79, 80+)", byAge},
		{"conditions (0, 1, 2, 3+)", byConds},
		{"conditions at 65+ (0, 1, 2, 3+)", byCondsOld},
	} {
		rates := make([]float64, 4)
		for i, g := range c.groups {
			rates[i] = float64(g.admissions) / float64(g.people)
		}
		t.Logf("emergency admissions per person by %s: %.3f", c.name, rates)
		for i := 1; i < 4; i++ {
			if rates[i] <= rates[i-1] {
				t.Errorf("emergency admissions per person by %s: %.3f, want rising", c.name, rates)
				break
			}
		}
	}
}

func TestGenerate_CancelledLeavesNoFiles(t *testing.T) {
	opts := DefaultOptions()
	opts.OutDir = t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err := Generate(ctx, opts, func(done, total int) {
		calls++
		cancel()
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Generate after cancel: %v, want context.Canceled", err)
	}
	if calls != 1 {
		t.Errorf("progress called %d times after cancel", calls)
	}
	filepath.WalkDir(opts.OutDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("left %s behind", path)
		}
		return err
	})
}

func TestGenerate_ReportsProgressUpToTotal(t *testing.T) {
	var got []int
	opts := DefaultOptions()
	opts.People, opts.OutDir = 2500, t.TempDir()
	if _, err := Generate(context.Background(), opts, func(done, total int) {
		if total != 2500 {
			t.Errorf("total %d", total)
		}
		got = append(got, done)
	}); err != nil {
		t.Fatal(err)
	}
	if want := []int{1000, 2000, 2500}; !slices.Equal(got, want) {
		t.Errorf("progress %v, want %v", got, want)
	}
}

func TestGenerate_WritesSummaryFile(t *testing.T) {
	dir, sum := generate(t, func(o *Options) { o.People = 1500 })
	data, err := os.ReadFile(filepath.Join(dir, SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	var read Summary
	if err := json.Unmarshal(data, &read); err != nil {
		t.Fatal(err)
	}
	want := sum
	want.Options.OutDir, want.Options.Workers = "", 0
	a, _ := json.Marshal(read)
	b, _ := json.Marshal(want)
	if !bytes.Equal(a, b) || read.Options.Start != DefaultOptions().Start || read.People != 1500 {
		t.Errorf("synth.json reads back as\n%s\nwant\n%s", a, b)
	}
}

func TestGenerate_FailsOnUnwritableOutDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	opts := DefaultOptions()
	opts.People, opts.OutDir = 10, file
	if _, err := Generate(context.Background(), opts, nil); err == nil || !strings.Contains(err.Error(), "not-a-dir") {
		t.Fatalf("Generate into a file: %v, want an error naming it", err)
	}
}
