package gpcsv

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/models/nhsnumber"
)

// The benchmark parses a generated events file shaped like a GP journal:
// mostly problems and observations with values and units, a quarter
// medication issues, and a quoted unit now and then.
//
//	go test -run='^$' -bench=. -benchmem ./ingest/gpcsv/
//
// DuckDB's read_csv into Parquet is the speed to reach half of.

// discardSink drops what it receives.
type discardSink struct{}

func (discardSink) Record(models.Record) error          { return nil }
func (discardSink) Quarantine(models.Quarantined) error { return nil }

func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct {
		name string
		data []byte
	}{
		{"events", eventsCSV(100_000)},
		{"patients", patientsCSV(50_000)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.data)))
			b.ReportAllocs()
			var rows int64
			for b.Loop() {
				stats, err := Parse(context.Background(), bytes.NewReader(bc.data), "bench.csv", discardSink{})
				if err != nil || stats.Quarantined != 0 {
					b.Fatalf("Parse: %+v, %v", stats, err)
				}
				rows += stats.Read
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// eventsCSV returns an events file of n rows.
func eventsCSV(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	b.WriteString("event_id,patient_id,event_date,event_type,code_system,code,value,unit\r\n")
	observations := []struct{ code, unit string }{
		{"999791000000106", "mmol/mol"}, {"60621009", "kg/m2"}, {"271649006", "mm[Hg]"},
		{"1107381000000107", `"mL/min/{1.73_m2}"`}, {"27113001", "kg"},
	}
	problems := []string{"44054006", "38341003", "195967001", "13645005", "73211009"}
	drugs := []string{"325278002", "39109911000001105", "322236009"}
	for i := range n {
		fmt.Fprintf(&b, "E%08d,G%07d,20%02d-%02d-%02d,", i, rng.IntN(1_000_000), 10+rng.IntN(15), 1+rng.IntN(12), 1+rng.IntN(28))
		switch r := rng.IntN(4); {
		case r == 0:
			fmt.Fprintf(&b, "problem,snomed,%s,,\r\n", problems[rng.IntN(len(problems))])
		case r == 1:
			fmt.Fprintf(&b, "medication,dmd,%s,,\r\n", drugs[rng.IntN(len(drugs))])
		default:
			o := observations[rng.IntN(len(observations))]
			fmt.Fprintf(&b, "observation,snomed,%s,%.1f,%s\r\n", o.code, 20+rng.Float64()*100, o.unit)
		}
	}
	return b.Bytes()
}

// patientsCSV returns a patients file of n rows.
func patientsCSV(n int) []byte {
	rng := rand.New(rand.NewPCG(3, 4))
	var b bytes.Buffer
	b.WriteString("patient_id,nhs_number,given_name,family_name,date_of_birth,sex,postcode,practice_code,registration_date,deregistration_date,date_of_death\r\n")
	given := []string{"Jane", "John", "Zoë", "Seán", "Aisha", "Mohammed", "Olivia", "Wei"}
	family := []string{"Smith", "O'Brien", "Jones", "Khan", "Nowak", "Williams", "Ní Bhriain"}
	for i := range n {
		var nine string
		var check byte
		for ok := false; !ok; {
			nine = fmt.Sprintf("%09d", rng.IntN(1_000_000_000))
			check, ok = nhsnumber.CheckDigit(nine)
		}
		fmt.Fprintf(&b, "G%07d,%s %s %s%c,%s,%s,%02d/%02d/19%02d,%c,LS%d %dAP,B86%03d,2001-05-01,,\r\n",
			i, nine[:3], nine[3:6], nine[6:], check, given[rng.IntN(len(given))], family[rng.IntN(len(family))],
			1+rng.IntN(28), 1+rng.IntN(12), rng.IntN(100), "MFIU"[rng.IntN(4)], 1+rng.IntN(20), rng.IntN(10), rng.IntN(1000))
	}
	return b.Bytes()
}
