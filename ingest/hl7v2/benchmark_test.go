package hl7v2

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/pophealth/pophealth/models"
)

// discardSink counts what it receives and keeps nothing, so that a
// benchmark measures the parser alone.
type discardSink struct{ records, quarantined int }

func (s *discardSink) Record(models.Record) error { s.records++; return nil }

func (s *discardSink) Quarantine(models.Quarantined) error { s.quarantined++; return nil }

// typicalADT returns n ADT messages shaped like a UK PAS feed: a cycle of
// A04 (ED registration), A01 (admission with two diagnoses), A02
// (transfer), A08 (update) and A03 (discharge with final diagnoses),
// 0.6 KB on average, CR-terminated as sent over MLLP.
func typicalADT(n int) []byte {
	const pid = "PID|1||%[1]s^^^NHS^NH~RGT%07[2]d^^^RGT^MR||SMITH^JANE^ANNE^^MRS||19670312|F|||12 HIGH STREET^FLAT 2^CAMBRIDGE^CAMBRIDGESHIRE^CB1 2AB^GBR^H||01223 000000^PRN^PH|||M||||||A^White - British^NHSETHNIC||||||||||NSTS01\r" +
		"PD1|||PARK SURGERY^^D81001^^^NHS^ODS|G8123456^JONES^DAVID^^^DR^^^NHS^^^^GMC\r"
	const pv1 = "PV1|1|%[3]s|WARD12^BAY3^BED2^RGT01|21|||C1234567^PATEL^RAVI^^^DR|||300||||19|||||IP%07[2]d^^^RGT^VN|||||||||||||||||%[4]s||||||||20240105112500|%[5]s\r"
	const dg1 = "DG1|1|I10|I21.4^Acute subendocardial myocardial infarction^I10||20240105|W\r" +
		"DG1|2|I10|E11.9^Type 2 diabetes mellitus without complications^I10||20240105|W\r"
	events := []struct{ trigger, structure, class, disch, end string }{
		{"A04", "ADT_A01", "E", "", ""},
		{"A01", "ADT_A01", "I", "", ""},
		{"A02", "ADT_A02", "I", "", ""},
		{"A08", "ADT_A01", "I", "", ""},
		{"A03", "ADT_A03", "I", "19", "20240110100000"},
	}
	var buf bytes.Buffer
	for i := range n {
		ev := events[i%len(events)]
		fmt.Fprintf(&buf, "MSH|^~\\&|PAS|RGT01|ROUTE|PHLAKE|20240105113000||ADT^%s^%s|MSG%08d|P|2.4|||AL|NE|GBR|UNICODE UTF-8\r", ev.trigger, ev.structure, i)
		fmt.Fprintf(&buf, "EVN|%s|20240105113000\r", ev.trigger)
		fmt.Fprintf(&buf, pid, "9990000018", i/len(events))
		fmt.Fprintf(&buf, pv1, "", i/len(events), ev.class, ev.disch, ev.end)
		if ev.trigger == "A01" || ev.trigger == "A03" {
			buf.WriteString(dg1)
		}
	}
	return buf.Bytes()
}

// BenchmarkParse reports throughput over a file of typical ADT messages
// (see typicalADT) in msgs/s and, through SetBytes, MB/s.
func BenchmarkParse(b *testing.B) {
	const n = 10_000
	data := typicalADT(n)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var sink discardSink
		st, err := Parse(context.Background(), bytes.NewReader(data), "bench.hl7", &sink)
		if err != nil {
			b.Fatal(err)
		}
		if st.Accepted != n {
			b.Fatalf("accepted %d of %d: %+v", st.Accepted, n, st)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "msgs/s")
}
