package hl7v2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/pophealth/pophealth/ingest/feed"
	"github.com/pophealth/pophealth/models"
)

// recorder is a feed.Sink that keeps everything it is given.
type recorder struct {
	records     []models.Record
	quarantined []models.Quarantined
}

func (r *recorder) Record(rec models.Record) error {
	r.records = append(r.records, rec)
	return nil
}

func (r *recorder) Quarantine(q models.Quarantined) error {
	r.quarantined = append(r.quarantined, q)
	return nil
}

func (r *recorder) patients() []*models.PatientRecord { return recordsOf[*models.PatientRecord](r) }
func (r *recorder) encounters() []*models.Encounter   { return recordsOf[*models.Encounter](r) }
func (r *recorder) diagnoses() []*models.Diagnosis    { return recordsOf[*models.Diagnosis](r) }

func recordsOf[T models.Record](r *recorder) []T {
	var out []T
	for _, rec := range r.records {
		if v, ok := rec.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// parse runs Parse over data and checks the invariants every run must
// keep (see checkRun).
func parse(t testing.TB, data []byte) (feed.Stats, *recorder) {
	t.Helper()
	rec := &recorder{}
	st, err := Parse(context.Background(), bytes.NewReader(data), "test.hl7", rec)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	checkRun(t, data, st, rec)
	return st, rec
}

// checkRun asserts what must hold after any successful Parse of data:
// the accounting balances and matches what the sink saw, every record
// points back at an MSH in data, and every quarantined record's Raw is the
// bytes at its offset.
func checkRun(t testing.TB, data []byte, st feed.Stats, rec *recorder) {
	t.Helper()
	if err := st.Balanced(); err != nil {
		t.Fatal(err)
	}
	if st.Emitted != int64(len(rec.records)) || st.Quarantined != int64(len(rec.quarantined)) {
		t.Fatalf("stats %+v disagree with sink: %d records, %d quarantined", st, len(rec.records), len(rec.quarantined))
	}
	for _, r := range rec.records {
		ref := r.Source()
		_, unread := r.(*models.Unread) // not about one patient
		if ref.Feed != models.FeedHL7 || ref.Line < 1 || ref.Offset < 0 || ref.RecordID == "" || (r.Subject() == "" && !unread) {
			t.Fatalf("record %T has an incomplete source: %+v subject %q", r, *ref, r.Subject())
		}
		if !bytes.HasPrefix(data[ref.Offset:], []byte("MSH")) {
			t.Fatalf("record %T offset %d does not point at an MSH", r, ref.Offset)
		}
	}
	for _, q := range rec.quarantined {
		if q.Reason == "" || q.Ref.Line < 1 {
			t.Fatalf("quarantined record without reason or line: %+v", q.Ref)
		}
		if len(q.Raw) == 0 || len(q.Raw) > maxMessageSize || !bytes.HasPrefix(data[q.Ref.Offset:], q.Raw) {
			t.Fatalf("quarantined Raw (%d bytes) is not the bytes at offset %d", len(q.Raw), q.Ref.Offset)
		}
	}
}

// seg builds a segment with the standard delimiters from its ID and its
// fields by number, so that tests need not count bars.
func seg(id string, fields map[int]string) string {
	n := 0
	for k := range fields {
		n = max(n, k)
	}
	parts := make([]string, n+1)
	parts[0] = id
	for k, v := range fields {
		parts[k] = v
	}
	return strings.Join(parts, "|")
}

// msh builds an MSH segment: MSH-1 and MSH-2 are the standard |^~\&.
func msh(fields map[int]string) string {
	f := map[int]string{1: `^~\&`}
	for k, v := range fields {
		f[k-1] = v
	}
	return seg("MSH", f)
}

// ukA01 returns the segments of a well-formed UK ITK-style A01. Tests vary
// it one field at a time with set and drop.
func ukA01() []string {
	return []string{
		msh(map[int]string{3: "PAS", 4: "RGT01", 7: "20240105113000", 9: "ADT^A01^ADT_A01", 10: "T0001", 11: "P", 12: "2.4", 18: "UNICODE UTF-8"}),
		seg("EVN", map[int]string{1: "A01", 2: "20240105113000"}),
		seg("PID", map[int]string{1: "1", 3: "9434765919^^^NHS^NH~RGT0000001^^^RGT^MR", 5: "DOE^JOHN^^^MR", 7: "19800229", 8: "M", 11: "1 NEW ROAD^^LEEDS^^LS1 2AB^GBR^H", 32: "NSTS01"}),
		seg("PD1", map[int]string{3: "NEW ROAD SURGERY^^B86001^^^NHS^ODS"}),
		seg("PV1", map[int]string{1: "1", 2: "I", 4: "21", 19: "IP0001^^^RGT^VN", 44: "20240105110000"}),
		seg("DG1", map[int]string{1: "1", 2: "I10", 3: "J18.9^Pneumonia, unspecified^I10", 5: "20240105"}),
	}
}

// set returns a copy of segs with field n of the first segment with the
// given ID replaced (MSH fields numbered as in the standard).
func set(segs []string, id string, n int, v string) []string {
	out := append([]string(nil), segs...)
	for i, s := range out {
		if !strings.HasPrefix(s, id+"|") {
			continue
		}
		parts := strings.Split(s, "|")
		k := n
		if id == "MSH" {
			k = n - 1
		}
		for len(parts) <= k {
			parts = append(parts, "")
		}
		parts[k] = v
		out[i] = strings.Join(parts, "|")
		return out
	}
	panic("no segment " + id)
}

// drop returns a copy of segs without the segments with the given ID.
func drop(segs []string, id string) []string {
	var out []string
	for _, s := range segs {
		if !strings.HasPrefix(s, id+"|") {
			out = append(out, s)
		}
	}
	return out
}

// wire joins segments into a message with CR terminators, as sent.
func wire(segs ...string) []byte { return []byte(strings.Join(segs, "\r") + "\r") }

func date(y int, m time.Month, d int) *models.Date { return models.NewDate(y, m, d).Ptr() }

func TestParse_MapsUKAdmission(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "a01_uk.hl7"))
	if err != nil {
		t.Fatal(err)
	}
	st, rec := parse(t, data)
	ref := models.SourceRef{Feed: models.FeedHL7, File: "test.hl7", Line: 1, Offset: 0, RecordID: "T0001"}
	want := []models.Record{
		&models.PatientRecord{
			Ref:             ref,
			LocalID:         "RGT0000001",
			NHSNumber:       "9434765919",
			NHSNumberStatus: models.NHSVerified,
			GivenName:       "JOHN",
			FamilyName:      "DOE",
			BirthDate:       date(1980, time.February, 29),
			Sex:             models.SexMale,
			Postcode:        "LS1 2AB",
			PracticeCode:    "B86001",
		},
		&models.Encounter{
			Ref:             ref,
			PatientID:       "RGT0000001",
			EncounterID:     "IP0001",
			Event:           "A01",
			Class:           "inpatient",
			AdmissionMethod: "emergency",
			Start:           date(2024, time.January, 5),
		},
		&models.Diagnosis{Ref: ref, PatientID: "RGT0000001", EncounterID: "IP0001", System: models.ICD10, Code: "J189", Date: date(2024, time.January, 5)},
		&models.Diagnosis{Ref: ref, PatientID: "RGT0000001", EncounterID: "IP0001", System: models.ICD10, Code: "E119", Date: date(2024, time.January, 5)},
	}
	if !reflect.DeepEqual(rec.records, want) {
		t.Errorf("records:\n got %s\nwant %s", dump(rec.records), dump(want))
	}
	wantStats := feed.Stats{Read: 1, Accepted: 1, Emitted: 4, Skipped: map[string]int64{"dg1:unknown-system": 1}}
	if !reflect.DeepEqual(st, wantStats) {
		t.Errorf("stats = %+v, want %+v", st, wantStats)
	}
}

func dump(recs []models.Record) string {
	var b strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&b, "\n  %T %+v", r, r)
	}
	return b.String()
}

func TestParse_Quarantines(t *testing.T) {
	tests := []struct {
		name   string
		segs   []string
		reason string
	}{
		{"message without MSH", drop(ukA01(), "MSH"), `no MSH segment: block starts "EVN|A01|20240105"`},
		{"space as field separator", append([]string{"MSH ^~\\& PAS"}, ukA01()[1:]...), `MSH-1: ' ' cannot be a field separator`},
		{"duplicate encoding character", set(ukA01(), "MSH", 2, `^~\\`), `MSH-2: encoding characters "^~\\\\" are not distinct punctuation`},
		{"missing message control ID", set(ukA01(), "MSH", 10, ""), "MSH-10: missing message control ID"},
		{"missing message type", set(ukA01(), "MSH", 9, ""), "MSH-9: missing message type"},
		{"malformed message type", set(ukA01(), "MSH", 9, "ADMIT^A01"), `MSH-9: malformed message type "ADMIT"`},
		{"missing trigger event", drop(set(ukA01(), "MSH", 9, "ADT"), "EVN"), "MSH-9: missing trigger event"},
		{"unknown trigger event", set(ukA01(), "MSH", 9, "ADT^A99^ADT_A01"), `MSH-9: unknown ADT trigger event "A99"`},
		{"missing version", set(ukA01(), "MSH", 12, ""), "MSH-12: missing version"},
		{"version 3", set(ukA01(), "MSH", 12, "3.0"), `MSH-12: unsupported version "3.0"`},
		{"unsupported character set", set(ukA01(), "MSH", 18, "ISO IR87"), `MSH-18: unsupported character set "ISO IR87"`},
		{"impossible message time", set(ukA01(), "MSH", 7, "20241345250000"), "MSH-7: impossible date 20241345250000"},
		{"not a segment", append(ukA01(), "hello world"), `segment 7: not an HL7 segment: "hello world"`},
		{"lower-case segment ID", append(ukA01(), "zpd|1"), `segment 7: not an HL7 segment: "zpd|1"`},
		{"missing PID", drop(ukA01(), "PID"), "PID: missing segment"},
		{"two patients", append(ukA01(), ukA01()[2]), "PID: repeated; A01 carries one patient"},
		{"no patient identifier", set(ukA01(), "PID", 3, ""), "PID-3: no patient identifier"},
		{"identifier without ID", set(ukA01(), "PID", 3, "^^^RGT^MR"), "PID-3: no patient identifier"},
		{"impossible birth date", set(ukA01(), "PID", 7, "20230230"), "PID-7: impossible date 20230230"},
		{"malformed birth date", set(ukA01(), "PID", 7, "196203520"), `PID-7: malformed date "196203520"`},
		{"birth year only", set(ukA01(), "PID", 7, "1980"), "PID-7: incomplete date 1980 (want at least YYYYMMDD)"},
		{"future birth date", set(ukA01(), "PID", 7, "29990101"), "PID-7: birth date 2999-01-01 is in the future"},
		{"implausibly early birth date", set(ukA01(), "PID", 7, "10131113"), "PID-7: implausible birth date 1013-11-13 (before 1850)"},
		{"impossible death date", set(ukA01(), "PID", 29, "20240431"), "PID-29: impossible date 20240431"},
		{"name not UTF-8", set(ukA01(), "PID", 5, "BRONT\xcb^ZOE"), "PID-5: text is not valid UTF-8 (is MSH-18 missing?)"},
		{"missing PV1 on admission", drop(ukA01(), "PV1"), "PV1: missing segment (required for A01)"},
		{"impossible admission date", set(ukA01(), "PV1", 44, "20240230"), "PV1-44: impossible date 20240230"},
		{"impossible discharge date", set(ukA01(), "PV1", 45, "2024010525"), "PV1-45: impossible date 2024010525"},
		{"impossible diagnosis date", set(ukA01(), "DG1", 5, "20241301"), "DG1-5: impossible date 20241301"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := wire(tt.segs...)
			st, rec := parse(t, data)
			if st.Read != 1 || st.Quarantined != 1 || len(rec.records) != 0 {
				t.Fatalf("stats = %+v, records %d; want the one message quarantined", st, len(rec.records))
			}
			q := rec.quarantined[0]
			if q.Reason != tt.reason {
				t.Errorf("reason = %q, want %q", q.Reason, tt.reason)
			}
			if !bytes.Equal(q.Raw, data) {
				t.Errorf("raw = %q, want the whole message", q.Raw)
			}
			if q.Ref.Line != 1 || q.Ref.Offset != 0 || q.Ref.File != "test.hl7" || q.Ref.Feed != models.FeedHL7 {
				t.Errorf("ref = %+v, want line 1 offset 0 of test.hl7", q.Ref)
			}
		})
	}
}

func TestParse_QuarantineNamesMessageControlID(t *testing.T) {
	_, rec := parse(t, wire(set(ukA01(), "PID", 7, "20230230")...))
	if got := rec.quarantined[0].Ref.RecordID; got != "T0001" {
		t.Errorf("RecordID = %q, want MSH-10 T0001", got)
	}
}

func TestParse_TriggerEvents(t *testing.T) {
	type want struct {
		patients, encounters, diagnoses int
		cancelled                       bool
		skipped                         map[string]int64
	}
	tests := []struct {
		name string
		segs []string
		want want
	}{
		{"A01 admit", ukA01(), want{1, 1, 1, false, nil}},
		{"A02 transfer", set(ukA01(), "MSH", 9, "ADT^A02^ADT_A02"), want{1, 1, 1, false, nil}},
		{"A03 discharge", set(ukA01(), "MSH", 9, "ADT^A03^ADT_A03"), want{1, 1, 1, false, nil}},
		{"A04 register", set(ukA01(), "MSH", 9, "ADT^A04^ADT_A01"), want{1, 1, 1, false, nil}},
		{"A05 pre-admit", set(ukA01(), "MSH", 9, "ADT^A05^ADT_A05"), want{1, 1, 1, false, nil}},
		{"A08 update with visit", set(ukA01(), "MSH", 9, "ADT^A08^ADT_A01"), want{1, 1, 1, false, nil}},
		{"A08 update, visit not applicable", set(set(ukA01(), "MSH", 9, "ADT^A08^ADT_A01"), "PV1", 2, "N"), want{1, 0, 1, false, nil}},
		{"A08 update without PV1", drop(set(ukA01(), "MSH", 9, "ADT^A08^ADT_A01"), "PV1"), want{1, 0, 1, false, nil}},
		{"A11 cancel admit", set(ukA01(), "MSH", 9, "ADT^A11^ADT_A09"), want{1, 1, 1, true, nil}},
		{"A12 cancel transfer", set(ukA01(), "MSH", 9, "ADT^A12^ADT_A12"), want{1, 1, 1, true, nil}},
		{"A13 cancel discharge", set(ukA01(), "MSH", 9, "ADT^A13^ADT_A01"), want{1, 1, 1, true, nil}},
		{"A28 add person", set(ukA01(), "MSH", 9, "ADT^A28^ADT_A05"), want{1, 0, 1, false, nil}},
		{"A31 update person", set(ukA01(), "MSH", 9, "ADT^A31^ADT_A05"), want{1, 0, 1, false, nil}},
		{"A28 without PV1", drop(set(ukA01(), "MSH", 9, "ADT^A28^ADT_A05"), "PV1"), want{1, 0, 1, false, nil}},
		{"A40 merge", append(set(drop(ukA01(), "PV1"), "MSH", 9, "ADT^A40^ADT_A39"), "MRG|RGT0000009^^^RGT^MR"), want{1, 0, 0, false, nil}},
		{"A17 swap beds", append(set(ukA01(), "MSH", 9, "ADT^A17^ADT_A17"), ukA01()[2:]...), want{0, 0, 0, false, map[string]int64{"event:A17": 1}}},
		{"v2.2 trigger in EVN-1 only", set(set(ukA01(), "MSH", 9, "ADT"), "MSH", 12, "2.2"), want{1, 1, 1, false, nil}},
		{"ORU result", set(drop(ukA01(), "PV1"), "MSH", 9, "ORU^R01"), want{0, 0, 0, false, map[string]int64{"message:ORU": 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, rec := parse(t, wire(tt.segs...))
			if st.Accepted != 1 {
				t.Fatalf("stats = %+v, quarantined %+v; want accepted", st, rec.quarantined)
			}
			got := want{len(rec.patients()), len(rec.encounters()), len(rec.diagnoses()), false, st.Skipped}
			for _, e := range rec.encounters() {
				got.cancelled = e.Cancelled
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParse_EncounterEventIsTrigger(t *testing.T) {
	for _, ev := range []string{"A01", "A02", "A03", "A04", "A05", "A08", "A11", "A12", "A13"} {
		_, rec := parse(t, wire(set(ukA01(), "MSH", 9, "ADT^"+ev)...))
		if e := rec.encounters(); len(e) != 1 || e[0].Event != ev {
			t.Errorf("%s: encounters %+v, want one with Event %s", ev, e, ev)
		}
	}
}

func TestParse_PatientIdentifiers(t *testing.T) {
	tests := []struct {
		name       string
		pid2, pid3 string
		pid32      string
		version    string
		local, nhs string
		status     models.NHSNumberStatus
	}{
		{name: "verified by NSTS01", pid3: "9434765919^^^NHS^NH~RGT1^^^RGT^MR", pid32: "NSTS01",
			local: "RGT1", nhs: "9434765919", status: models.NHSVerified},
		{name: "verified by bare 01", pid3: "9434765919^^^NHS^NH~RGT1^^^RGT^MR", pid32: "01",
			local: "RGT1", nhs: "9434765919", status: models.NHSVerified},
		{name: "verified in a later repetition", pid3: "9434765919^^^NHS^NH~RGT1^^^RGT^MR", pid32: "XX~NSTS01",
			local: "RGT1", nhs: "9434765919", status: models.NHSVerified},
		{name: "present, not traced", pid3: "9434765919^^^NHS^NH~RGT1^^^RGT^MR", pid32: "NSTS02",
			local: "RGT1", nhs: "9434765919", status: models.NHSValid},
		{name: "no status", pid3: "9434765919^^^NHS^NH~RGT1^^^RGT^MR",
			local: "RGT1", nhs: "9434765919", status: models.NHSValid},
		{name: "type HN with authority NHS (Epic)", pid3: "40800000^^^MRENTR^MEDREC~9434765919^^^NHS^HN",
			local: "40800000", nhs: "9434765919", status: models.NHSValid},
		{name: "spaced NHS number", pid3: "943 476 5919^^^NHS^NH~RGT1^^^RGT^MR",
			local: "RGT1", nhs: "9434765919", status: models.NHSValid},
		{name: "invalid check digit kept, flagged", pid3: "9434765918^^^NHS^NH~RGT1^^^RGT^MR", pid32: "NSTS01",
			local: "RGT1", nhs: "9434765918", status: models.NHSInvalid},
		{name: "not ten digits", pid3: "12345^^^NHS^NH~RGT1^^^RGT^MR",
			local: "RGT1", nhs: "12345", status: models.NHSInvalid},
		{name: "no NHS number", pid3: "RGT1^^^RGT^MR", pid32: "NSTS03",
			local: "RGT1", status: models.NHSMissing},
		{name: "MR preferred over earlier identifiers", pid3: "X9^^^EPI^PI~RGT1^^^RGT^MR",
			local: "RGT1", status: models.NHSMissing},
		{name: "first non-NHS identifier without MR", pid3: "9434765919^^^NHS^NH~X9^^^EPI^PI~Y8^^^EPI^PI",
			local: "X9", nhs: "9434765919", status: models.NHSValid},
		{name: "only an NHS number", pid3: "9434765919^^^NHS^NH",
			local: "nhs:9434765919", nhs: "9434765919", status: models.NHSValid},
		{name: "NHS number in PID-2, v2.2", pid2: "9434765919", pid3: "RGT1^^^RGT^MR", version: "2.2",
			local: "RGT1", nhs: "9434765919", status: models.NHSValid},
		{name: "unqualified PID-2 ignored from v2.3", pid2: "9434765919", pid3: "RGT1^^^RGT^MR", version: "2.4",
			local: "RGT1", status: models.NHSMissing},
		{name: "qualified PID-2 read from v2.3", pid2: "9434765919^^^NHS^NH", pid3: "RGT1^^^RGT^MR", version: "2.4",
			local: "RGT1", nhs: "9434765919", status: models.NHSValid},
		{name: "PID-3 wins over PID-2", pid2: "9000000009", pid3: "9434765919^^^NHS^NH~RGT1^^^RGT^MR", version: "2.2",
			local: "RGT1", nhs: "9434765919", status: models.NHSValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			segs := set(set(set(ukA01(), "PID", 2, tt.pid2), "PID", 3, tt.pid3), "PID", 32, tt.pid32)
			if tt.version != "" {
				segs = set(segs, "MSH", 12, tt.version)
			}
			_, rec := parse(t, wire(segs...))
			p := rec.patients()
			if len(p) != 1 {
				t.Fatalf("patients %d, quarantined %+v", len(p), rec.quarantined)
			}
			if p[0].LocalID != tt.local || p[0].NHSNumber != tt.nhs || p[0].NHSNumberStatus != tt.status {
				t.Errorf("local, nhs, status = %q, %q, %q; want %q, %q, %q",
					p[0].LocalID, p[0].NHSNumber, p[0].NHSNumberStatus, tt.local, tt.nhs, tt.status)
			}
			for _, r := range rec.records {
				if r.Subject() != tt.local {
					t.Errorf("%T subject = %q, want %q", r, r.Subject(), tt.local)
				}
			}
		})
	}
}

func TestParse_PatientDemographics(t *testing.T) {
	tests := []struct {
		name  string
		field int
		value string
		check func(*models.PatientRecord) bool
	}{
		{"legal name preferred", 5, "DISPLAY^DEE^^^^^D~LEGAL^LEE^^^^^L", func(p *models.PatientRecord) bool {
			return p.FamilyName == "LEGAL" && p.GivenName == "LEE"
		}},
		{"first name when none is legal", 5, "BROWN^JANE~SMITH^JANE^^^^^M", func(p *models.PatientRecord) bool {
			return p.FamilyName == "BROWN" && p.GivenName == "JANE"
		}},
		{"surname subcomponent", 5, "EVERYMAN&&&&Aniston^ADAM", func(p *models.PatientRecord) bool {
			return p.FamilyName == "EVERYMAN" && p.GivenName == "ADAM"
		}},
		{"escaped name", 5, `O'NEILL\T\SMITH^MARY JO`, func(p *models.PatientRecord) bool {
			return p.FamilyName == "O'NEILL&SMITH" && p.GivenName == "MARY JO"
		}},
		{"birth date with time", 7, "19250704000000", func(p *models.PatientRecord) bool {
			return reflect.DeepEqual(p.BirthDate, date(1925, time.July, 4))
		}},
		{"birth date with precision component", 7, "19800101^D", func(p *models.PatientRecord) bool {
			return reflect.DeepEqual(p.BirthDate, date(1980, time.January, 1))
		}},
		{"no birth date", 7, "", func(p *models.PatientRecord) bool { return p.BirthDate == nil }},
		{"explicit null birth date", 7, `""`, func(p *models.PatientRecord) bool { return p.BirthDate == nil }},
		{"sex F", 8, "F", func(p *models.PatientRecord) bool { return p.Sex == models.SexFemale }},
		{"sex A", 8, "A", func(p *models.PatientRecord) bool { return p.Sex == models.SexOther }},
		{"sex missing", 8, "", func(p *models.PatientRecord) bool { return p.Sex == models.SexUnknown }},
		{"postcode normalised", 11, "1 HIGH ST^^ELY^^cb74aa^GBR^H", func(p *models.PatientRecord) bool { return p.Postcode == "CB7 4AA" }},
		{"postcode from a later address", 11, "^^^^^ENGLAND^L~1 HIGH ST^^ELY^^CB7 4AA", func(p *models.PatientRecord) bool { return p.Postcode == "CB7 4AA" }},
		{"no fixed abode", 11, "NO FIXED ABODE^^^^ZZ99 3VZ^GBR^H", func(p *models.PatientRecord) bool { return p.Postcode == "ZZ99 3VZ" }},
		{"death date", 29, "20240120143000", func(p *models.PatientRecord) bool {
			return reflect.DeepEqual(p.DeathDate, date(2024, time.January, 20))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, rec := parse(t, wire(set(ukA01(), "PID", tt.field, tt.value)...))
			p := rec.patients()
			if len(p) != 1 {
				t.Fatalf("patients %d, quarantined %+v", len(p), rec.quarantined)
			}
			if !tt.check(p[0]) {
				t.Errorf("PID-%d %q gave %+v", tt.field, tt.value, *p[0])
			}
		})
	}
}

func TestParse_DropsNonUKPostcode(t *testing.T) {
	st, rec := parse(t, wire(set(ukA01(), "PID", 11, "111 DUCK ST^^FOWL^CA^999990000")...))
	if p := rec.patients(); len(p) != 1 || p[0].Postcode != "" {
		t.Fatalf("patients = %+v, want one without a postcode", p)
	}
	if got := st.Skipped["pid-11:not-uk-postcode"]; got != 1 {
		t.Errorf("Skipped = %v, want pid-11:not-uk-postcode counted once", st.Skipped)
	}
}

func TestParse_PracticeCode(t *testing.T) {
	tests := []struct{ pd13, want string }{
		{"PARK SURGERY^^D81001^^^NHS^ODS", "D81001"},        // UK ITK: XON-3
		{"AMPTHILL PRACTICE^^F83006~~", "F83006"},           // Epic at UCLH
		{"GP PRACTICE^^^^^NHS^ODS^^^Y01234", "Y01234"},      // v2.5 XON-10
		{"GP PRACTICE^^OLD01^^^NHS^ODS^^^B82001", "B82001"}, // XON-10 wins
		{"~SECOND SURGERY^^d81002", "D81002"},               // first repetition with a code
		{"HH", ""},                                          // a name alone
		{"", ""},
	}
	for _, tt := range tests {
		_, rec := parse(t, wire(set(ukA01(), "PD1", 3, tt.pd13)...))
		if p := rec.patients(); len(p) != 1 || p[0].PracticeCode != tt.want {
			t.Errorf("PD1-3 %q: patients %+v, want practice %q", tt.pd13, p, tt.want)
		}
	}
}

func TestParse_EncounterFields(t *testing.T) {
	tests := []struct {
		name  string
		field int
		value string
		check func(*models.Encounter) bool
	}{
		{"class emergency", 2, "E", func(e *models.Encounter) bool { return e.Class == "emergency" }},
		{"class outpatient", 2, "O", func(e *models.Encounter) bool { return e.Class == "outpatient" }},
		{"class preadmit", 2, "P", func(e *models.Encounter) bool { return e.Class == "other" }},
		{"HL7 admission type", 4, "C", func(e *models.Encounter) bool { return e.AdmissionMethod == "elective" }},
		{"NHS admission method", 4, "13", func(e *models.Encounter) bool { return e.AdmissionMethod == "elective" }},
		{"no admission type", 4, "", func(e *models.Encounter) bool { return e.AdmissionMethod == "" }},
		{"no visit number", 19, "", func(e *models.Encounter) bool { return e.EncounterID == "msh-10:T0001" }},
		{"no admission date", 44, "", func(e *models.Encounter) bool { return e.Start == nil }},
		{"discharge date", 45, "20240110100000", func(e *models.Encounter) bool {
			return reflect.DeepEqual(e.End, date(2024, time.January, 10))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, rec := parse(t, wire(set(ukA01(), "PV1", tt.field, tt.value)...))
			e := rec.encounters()
			if len(e) != 1 {
				t.Fatalf("encounters %d, quarantined %+v", len(e), rec.quarantined)
			}
			if !tt.check(e[0]) {
				t.Errorf("PV1-%d %q gave %+v", tt.field, tt.value, *e[0])
			}
			for _, d := range rec.diagnoses() {
				if d.EncounterID != e[0].EncounterID {
					t.Errorf("diagnosis encounter %q, want %q", d.EncounterID, e[0].EncounterID)
				}
			}
		})
	}
}

func TestParse_Diagnoses(t *testing.T) {
	tests := []struct {
		name       string
		dg12, dg13 string
		system     models.CodeSystem
		code       string
		skip       string
	}{
		{name: "ICD-10 with dot", dg12: "I10", dg13: "E11.9^Type 2 diabetes^I10", system: models.ICD10, code: "E119"},
		{name: "UK filler X", dg13: "I10.X^Essential hypertension^I10", system: models.ICD10, code: "I10X"},
		{name: "system spelt ICD10", dg13: "e11.9^^ICD10", system: models.ICD10, code: "E119"},
		{name: "system from DG1-2", dg12: "I10", dg13: "E11.9^Type 2 diabetes", system: models.ICD10, code: "E119"},
		{name: "SNOMED CT", dg12: "I9", dg13: "422504002^Ischemic stroke^SCT", system: models.SNOMED, code: "422504002"},
		{name: "ICD-9 skipped", dg12: "I9", dg13: "71596^OSTEOARTHROS NOS-L/LEG ^I9", skip: "dg1:unknown-system"},
		{name: "no system skipped", dg13: "E11.9^Type 2 diabetes", skip: "dg1:unknown-system"},
		{name: "malformed ICD-10 skipped", dg13: "DIABETES^^I10", skip: "dg1:invalid-code"},
		{name: "empty code skipped", dg13: "^Type 2 diabetes^I10", skip: "dg1:invalid-code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, rec := parse(t, wire(set(set(ukA01(), "DG1", 2, tt.dg12), "DG1", 3, tt.dg13)...))
			if st.Accepted != 1 {
				t.Fatalf("stats %+v, quarantined %+v", st, rec.quarantined)
			}
			d := rec.diagnoses()
			if tt.skip != "" {
				if len(d) != 0 || st.Skipped[tt.skip] != 1 {
					t.Errorf("diagnoses %+v, skipped %v; want none and %s counted", d, st.Skipped, tt.skip)
				}
				return
			}
			if len(d) != 1 || d[0].System != tt.system || d[0].Code != tt.code {
				t.Errorf("diagnoses %+v, want one %s %s", d, tt.system, tt.code)
			}
		})
	}
}

func TestParse_Framing(t *testing.T) {
	a28 := set(drop(ukA01(), "PV1"), "MSH", 9, "ADT^A28")
	one := strings.Join(a28, "\r")
	tests := []struct {
		name string
		data string
		ids  []string
		skip map[string]int64
	}{
		{"CR", one + "\r", []string{"T0001"}, nil},
		{"LF", strings.Join(a28, "\n") + "\n", []string{"T0001"}, nil},
		{"CRLF", strings.Join(a28, "\r\n") + "\r\n", []string{"T0001"}, nil},
		{"no final terminator", one, []string{"T0001"}, nil},
		{"UTF-8 BOM", "\xef\xbb\xbf" + one + "\r", []string{"T0001"}, nil},
		{"trailing spaces", strings.Join(a28, " \r") + " \r", []string{"T0001"}, nil},
		{"blank lines around and between", "\r\n\r\n" + one + "\r\n\r\n\r\n" + strings.Replace(one, "T0001", "T0002", 1) + "\r\n\r\n", []string{"T0001", "T0002"}, nil},
		{"MLLP framed", "\x0b" + one + "\r\x1c\r\x0b" + strings.Replace(one, "T0001", "T0002", 1) + "\r\x1c\r", []string{"T0001", "T0002"}, nil},
		{"batch envelope", "FHS|^~\\&|PAS\rBHS|^~\\&|PAS\r" + one + "\rBTS|1\rFTS|1\r", []string{"T0001"}, nil},
		{"only envelope", "FHS|^~\\&|PAS\rBHS|^~\\&|PAS\rBTS|0\rFTS|1\r", nil, nil},
		{"empty", "", nil, nil},
		{"blank", "\r\n \r\n\t\n", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, rec := parse(t, []byte(tt.data))
			var ids []string
			for _, p := range rec.patients() {
				ids = append(ids, p.Ref.RecordID)
			}
			if st.Read != int64(len(tt.ids)) || st.Accepted != st.Read || !reflect.DeepEqual(ids, tt.ids) {
				t.Errorf("stats %+v, ids %v, quarantined %+v; want %v accepted", st, ids, rec.quarantined, tt.ids)
			}
		})
	}
}

// TestParse_StreamFixture reads testdata/stream_mixed.hl7, which mixes a
// BOM, a batch envelope, CR, LF and CRLF terminators, blank lines, MLLP
// framing and a last segment without a terminator. The lines and offsets
// were counted by hand (CR, LF and CRLF each end one line).
func TestParse_StreamFixture(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "stream_mixed.hl7"))
	if err != nil {
		t.Fatal(err)
	}
	type loc struct {
		id           string
		line, offset int64
	}
	want := []loc{{"S001", 3, 75}, {"S002", 8, 233}, {"S003", 12, 447}, {"S004", 20, 744}}
	for _, r := range []struct {
		name string
		r    io.Reader
	}{
		{"whole", bytes.NewReader(data)},
		{"one byte at a time", iotest.OneByteReader(bytes.NewReader(data))},
		{"half at a time", iotest.HalfReader(bytes.NewReader(data))},
	} {
		t.Run(r.name, func(t *testing.T) {
			rec := &recorder{}
			st, err := Parse(context.Background(), r.r, "test.hl7", rec)
			if err != nil {
				t.Fatal(err)
			}
			checkRun(t, data, st, rec)
			var got []loc
			for _, p := range rec.patients() {
				got = append(got, loc{p.Ref.RecordID, p.Ref.Line, p.Ref.Offset})
			}
			if !reflect.DeepEqual(got, want) || st.Read != 4 || st.Accepted != 4 {
				t.Errorf("stats %+v, patients at %v; want %v", st, got, want)
			}
			e := rec.encounters()
			if len(e) != 2 || e[0].EncounterID != "ED0002" || e[1].EncounterID != "IP0003" || e[1].AdmissionMethod != "elective" {
				t.Errorf("encounters %+v, want ED0002 then an elective IP0003", e)
			}
			if d := rec.diagnoses(); len(d) != 1 || d[0].Code != "K358" {
				t.Errorf("diagnoses %+v, want K358", d)
			}
		})
	}
}

func TestParse_QuarantinesLinesBeforeFirstMSH(t *testing.T) {
	lead := "EVN|A01|20240105\rPID|1||RGT1^^^RGT^MR\r"
	data := []byte(lead + "\r\n" + string(wire(ukA01()...)))
	st, rec := parse(t, data)
	if st.Read != 2 || st.Quarantined != 1 || st.Accepted != 1 {
		t.Fatalf("stats %+v, want the headerless block quarantined and the message accepted", st)
	}
	q := rec.quarantined[0]
	if string(q.Raw) != lead || q.Ref.Line != 1 || q.Ref.Offset != 0 || q.Ref.RecordID != "" {
		t.Errorf("quarantined %q at %+v; want the two lines at line 1", q.Raw, q.Ref)
	}
	if p := rec.patients(); p[0].Ref.Line != 4 || p[0].Ref.Offset != int64(len(lead)+2) {
		t.Errorf("message at %+v, want line 4 offset %d", p[0].Ref, len(lead)+2)
	}
}

func TestParse_CustomDelimiters(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "custom_delimiters.hl7"))
	if err != nil {
		t.Fatal(err)
	}
	_, rec := parse(t, data)
	p := rec.patients()
	if len(p) != 1 {
		t.Fatalf("patients %d, quarantined %+v", len(p), rec.quarantined)
	}
	got := [5]string{p[0].LocalID, p[0].NHSNumber, p[0].FamilyName, p[0].GivenName, p[0].Postcode}
	want := [5]string{"RGTC001", "9434765919", "O@BRIEN-SMITH$JR", "MARY#JO", "LS1 4AP"}
	if got != want {
		t.Errorf("local, nhs, family, given, postcode = %q, want %q", got, want)
	}
}

func TestParse_Latin1(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "latin1.hl7"))
	if err != nil {
		t.Fatal(err)
	}
	_, rec := parse(t, data)
	p := rec.patients()
	if len(p) != 1 || p[0].FamilyName != "MUÑOZ" || p[0].GivenName != "JOSÉ" {
		t.Errorf("patients %+v, quarantined %+v; want MUÑOZ JOSÉ", p, rec.quarantined)
	}
}

func TestParse_QuarantinesOversizedMessageAndResyncs(t *testing.T) {
	big := append(ukA01(), "NTE|1||"+strings.Repeat("x", maxMessageSize))
	first := wire(big...)
	second := wire(set(ukA01(), "MSH", 10, "T0002")...)
	data := append(append([]byte(nil), first...), second...)
	st, rec := parse(t, data)
	if st.Read != 2 || st.Quarantined != 1 || st.Accepted != 1 {
		t.Fatalf("stats %+v, want the large message quarantined and the next accepted", st)
	}
	q := rec.quarantined[0]
	if q.Reason != "message is larger than 1048576 bytes (kept truncated)" || len(q.Raw) != maxMessageSize || q.Ref.RecordID != "T0001" {
		t.Errorf("quarantined %d bytes, id %q, reason %q", len(q.Raw), q.Ref.RecordID, q.Reason)
	}
	if p := rec.patients(); p[0].Ref.RecordID != "T0002" || p[0].Ref.Offset != int64(len(first)) || p[0].Ref.Line != int64(len(big)+1) {
		t.Errorf("next message at %+v, want T0002 at offset %d line %d", p[0].Ref, len(first), len(big)+1)
	}
}

func TestParse_QuarantinesOversizedBlockWithoutTerminators(t *testing.T) {
	data := bytes.Repeat([]byte("garbage "), maxMessageSize/4)
	st, rec := parse(t, data)
	if st.Read != 1 || st.Quarantined != 1 || len(rec.quarantined[0].Raw) != maxMessageSize {
		t.Errorf("stats %+v, want one block quarantined with %d bytes", st, maxMessageSize)
	}
}

// failingSink fails on the first call.
type failingSink struct{ err error }

func (s failingSink) Record(models.Record) error          { return s.err }
func (s failingSink) Quarantine(models.Quarantined) error { return s.err }

func TestParse_ReturnsSinkError(t *testing.T) {
	errSink := errors.New("disk full")
	for _, data := range [][]byte{wire(ukA01()...), wire(drop(ukA01(), "PID")...)} {
		st, err := Parse(context.Background(), bytes.NewReader(data), "test.hl7", failingSink{errSink})
		if !errors.Is(err, errSink) || !strings.Contains(err.Error(), "test.hl7: line 1") {
			t.Errorf("err = %v, want %v with file and line", err, errSink)
		}
		if st.Read != 1 {
			t.Errorf("stats %+v, want the message counted as read", st)
		}
	}
}

func TestParse_ReturnsReadError(t *testing.T) {
	errRead := errors.New("connection reset")
	r := io.MultiReader(bytes.NewReader(wire(ukA01()...)), iotest.ErrReader(errRead))
	st, err := Parse(context.Background(), r, "test.hl7", &recorder{})
	if !errors.Is(err, errRead) {
		t.Errorf("err = %v, want %v", err, errRead)
	}
	if st.Read != 0 {
		t.Errorf("stats %+v: a message cut short by a read error must not be counted", st)
	}
}

// cancellingSink cancels its context on the first record.
type cancellingSink struct {
	recorder
	cancel context.CancelFunc
}

func (s *cancellingSink) Record(r models.Record) error {
	s.cancel()
	return s.recorder.Record(r)
}

func TestParse_StopsWhenContextCancelled(t *testing.T) {
	data := append(wire(set(ukA01(), "MSH", 10, "T0001")...), wire(set(ukA01(), "MSH", 10, "T0002")...)...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sink := &cancellingSink{cancel: cancel}
	st, err := Parse(ctx, bytes.NewReader(data), "test.hl7", sink)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if st.Read != 1 || st.Accepted != 1 {
		t.Errorf("stats %+v, want only the first message read", st)
	}
}

func TestScanner_BoundsMemoryOfOversizedBlock(t *testing.T) {
	data := bytes.Repeat([]byte("x\n"), maxMessageSize) // 2 MiB of short lines, no MSH
	sc := newScanner(bytes.NewReader(data))
	b, err := sc.next()
	if err != nil {
		t.Fatal(err)
	}
	if !b.tooLarge || len(b.bytes()) != maxMessageSize || len(b.segs) > maxMessageSize/2 {
		t.Errorf("tooLarge %v, %d bytes, %d segments; want the first %d bytes and no more segments than they hold",
			b.tooLarge, len(b.bytes()), len(b.segs), maxMessageSize)
	}
	if _, err := sc.next(); err != io.EOF {
		t.Errorf("second next: %v, want io.EOF", err)
	}
}
