package risk

import (
	"strings"
	"testing"
)

// BenchmarkCharlsonScore scores one person with ten ICD-10 codes, the
// inner loop of "risk run" on a whole population.
func BenchmarkCharlsonScore(b *testing.B) {
	x, err := Charlson(Quan2011)
	if err != nil {
		b.Fatal(err)
	}
	codes := strings.Split("I50.0|E11.4|N18.3|E11.9|J18.9|S72.0|C18.7|C78.7|K70.3|I85.0", "|")
	b.ReportAllocs()
	for b.Loop() {
		_ = x.Score(codes)
	}
}

// BenchmarkEFIScore scores one person with eight SNOMED CT concepts, a
// measurement and a medicine count.
func BenchmarkEFIScore(b *testing.B) {
	f, err := EFI()
	if err != nil {
		b.Fatal(err)
	}
	in := FrailtyInput{
		Concepts:     []string{"44054006", "38341003", "49436004", "84114007", "52448006", "13645005", "35489007", "195967001"},
		Measurements: []Measurement{{Concept: "80274001", Value: 55}},
		Sex:          "female", Medicines: 6,
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = f.Score(in)
	}
}
