package fhir

import (
	"bytes"
	"context"
	stdjson "encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/go-json-experiment/json"

	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/models/nhsnumber"
)

// The benchmarks parse NDJSON shaped like Synthea's Bulk Data export (the
// Observation file has no sample in testdata, being the largest): vital
// signs and laboratory results with LOINC codes and UCUM units, one in five
// a blood-pressure panel with two components; and US Core Patients carrying
// an NHS number with its verification extension, as a UK export would.
//
//	go test -run='^$' -bench=. -benchmem ./ingest/fhir/

// discardSink drops what it receives.
type discardSink struct{}

func (discardSink) Record(models.Record) error          { return nil }
func (discardSink) Quarantine(models.Quarantined) error { return nil }

func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct {
		name string
		data []byte
	}{
		{"Observation", observationNDJSON(5000)},
		{"Patient", patientNDJSON(2000)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.data)))
			b.ReportAllocs()
			var resources int64
			for b.Loop() {
				stats, err := Parse(context.Background(), bytes.NewReader(bc.data), "bench.ndjson", discardSink{})
				if err != nil || stats.Quarantined != 0 {
					b.Fatalf("Parse: %+v, %v", stats, err)
				}
				resources += stats.Read
			}
			b.ReportMetric(float64(resources)/b.Elapsed().Seconds(), "resources/s")
		})
	}
}

// BenchmarkDecode compares ways of decoding the Observation projection:
// reflection with encoding/json and with github.com/go-json-experiment/json
// (both into taggedObservation, the same members with struct tags), and
// the hand-written reader over go-json-experiment's jsontext that Parse
// uses. The choice of the reader rests on it.
func BenchmarkDecode(b *testing.B) {
	lines := bytes.Split(bytes.TrimSpace(observationNDJSON(2000)), []byte{'\n'})
	size := 0
	for _, l := range lines {
		size += len(l)
	}
	r := newReader()
	for _, bc := range []struct {
		name   string
		decode func([]byte) error
	}{
		{"encoding-json", func(l []byte) error {
			var o taggedObservation
			return stdjson.Unmarshal(l, &o)
		}},
		{"go-json-experiment", func(l []byte) error {
			var o taggedObservation
			return json.Unmarshal(l, &o)
		}},
		{"jsontext-reader", func(l []byte) error {
			var o observationResource
			return r.decode(l, "Observation", o.read)
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				for _, l := range lines {
					if err := bc.decode(l); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// taggedObservation is observationResource for the reflection-based
// decoders of BenchmarkDecode.
type taggedObservation struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Code   struct {
		Coding []taggedCoding `json:"coding"`
	} `json:"code"`
	Subject struct {
		Reference string `json:"reference"`
	} `json:"subject"`
	EffectiveDateTime string `json:"effectiveDateTime"`
	EffectiveInstant  string `json:"effectiveInstant"`
	EffectivePeriod   struct {
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"effectivePeriod"`
	ValueQuantity *taggedQuantity `json:"valueQuantity"`
	Component     []struct {
		Code struct {
			Coding []taggedCoding `json:"coding"`
		} `json:"code"`
		ValueQuantity *taggedQuantity `json:"valueQuantity"`
	} `json:"component"`
}

type taggedCoding struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

type taggedQuantity struct {
	Value  *float64 `json:"value"`
	Unit   string   `json:"unit"`
	System string   `json:"system"`
	Code   string   `json:"code"`
}

func observationNDJSON(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	vitals := []struct{ code, display, unit string }{
		{"8302-2", "Body Height", "cm"},
		{"29463-7", "Body Weight", "kg"},
		{"39156-5", "Body mass index (BMI) [Ratio]", "kg/m2"},
		{"4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%"},
		{"2339-0", "Glucose [Mass/volume] in Blood", "mg/dL"},
		{"8867-4", "Heart rate", "/min"},
	}
	var buf bytes.Buffer
	for i := range n {
		patient, encounter := uuid(rng), uuid(rng)
		when := fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d-05:00", 1950+rng.IntN(75), 1+rng.IntN(12), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60))
		head := fmt.Sprintf(`{"resourceType":"Observation","id":"%s","meta":{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-vital-signs"]},"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs","display":"Vital signs"}]}],`, uuid(rng))
		tail := fmt.Sprintf(`"subject":{"reference":"Patient/%s"},"encounter":{"reference":"Encounter/%s"},"effectiveDateTime":"%s","issued":"%s"`, patient, encounter, when, when)
		buf.WriteString(head)
		if i%5 == 0 {
			fmt.Fprintf(&buf, `"code":{"coding":[{"system":"http://loinc.org","code":"85354-9","display":"Blood pressure panel with all children optional"}],"text":"Blood pressure panel with all children optional"},%s,"component":[`+
				`{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4","display":"Diastolic Blood Pressure"}],"text":"Diastolic Blood Pressure"},"valueQuantity":{"value":%d,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"}},`+
				`{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6","display":"Systolic Blood Pressure"}],"text":"Systolic Blood Pressure"},"valueQuantity":{"value":%d,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]}`,
				tail, 60+rng.IntN(40), 100+rng.IntN(60))
		} else {
			v := vitals[rng.IntN(len(vitals))]
			fmt.Fprintf(&buf, `"code":{"coding":[{"system":"http://loinc.org","code":"%s","display":"%s"}],"text":"%s"},%s,"valueQuantity":{"value":%.2f,"unit":"%s","system":"http://unitsofmeasure.org","code":"%s"}}`,
				v.code, v.display, v.display, tail, 10+rng.Float64()*150, v.unit, v.unit)
		}
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

func patientNDJSON(n int) []byte {
	rng := rand.New(rand.NewPCG(3, 4))
	given := []string{"Jane", "Oliver", "Amelia", "Mohammed", "Isla", "Harry", "Ava", "George"}
	family := []string{"Smith", "Jones", "Taylor", "Brown", "Williams", "Khan", "Patel", "Wilson"}
	var buf bytes.Buffer
	for range n {
		id := uuid(rng)
		nhs := ""
		for nhs == "" {
			nine := fmt.Sprintf("%09d", 400000000+rng.IntN(500000000))
			if cd, ok := nhsnumber.CheckDigit(nine); ok {
				nhs = nine + string(cd)
			}
		}
		g, f := given[rng.IntN(len(given))], family[rng.IntN(len(family))]
		fmt.Fprintf(&buf, `{"resourceType":"Patient","id":"%s","meta":{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"]},"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Generated by <a href=\"https://github.com/synthetichealth/synthea\">Synthea</a>.Version identifier: dd1e3be\n .   Person seed: %d  Population seed: 54321</div>"},`+
			`"extension":[{"url":"http://hl7.org/fhir/us/core/StructureDefinition/us-core-race","extension":[{"url":"ombCategory","valueCoding":{"system":"urn:oid:2.16.840.1.113883.6.238","code":"2106-3","display":"White"}},{"url":"text","valueString":"White"}]},{"url":"http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName","valueString":"Harold594 VonRueden376"},{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthPlace","valueAddress":{"city":"Leeds","state":"West Yorkshire","country":"GB"}},{"url":"http://synthetichealth.github.io/synthea/disability-adjusted-life-years","valueDecimal":%.4f}],`+
			`"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"%s","extension":[{"url":"https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus","valueCodeableConcept":{"coding":[{"system":"https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatus","code":"01","display":"Number present and verified"}]}}]},{"system":"https://github.com/synthetichealth/synthea","value":"%s"},{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR","display":"Medical Record Number"}],"text":"Medical Record Number"},"system":"http://hospital.smarthealthit.org","value":"%s"}],`+
			`"name":[{"use":"official","family":"%s","given":["%s"],"prefix":["Ms."]}],"telecom":[{"system":"phone","value":"0113 496 %04d","use":"home"}],"gender":"%s","birthDate":"%04d-%02d-%02d",`+
			`"address":[{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/geolocation","extension":[{"url":"latitude","valueDecimal":53.79},{"url":"longitude","valueDecimal":-1.54}]}],"use":"home","line":["%d Boar Lane"],"city":"Leeds","postalCode":"LS1 %d%c%c","country":"GB","period":{"start":"2001-04-25"}}],`+
			`"generalPractitioner":[{"type":"Organization","identifier":{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"B86%03d"}}],`+
			`"maritalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-MaritalStatus","code":"M","display":"Married"}],"text":"Married"},"multipleBirthBoolean":false,"communication":[{"language":{"coding":[{"system":"urn:ietf:bcp:47","code":"en-GB","display":"English (United Kingdom)"}],"text":"English (United Kingdom)"}}]}`+"\n",
			id, rng.Int64(), rng.Float64()*10, nhs, id, id, f, g, rng.IntN(10000), []string{"male", "female"}[rng.IntN(2)],
			1920+rng.IntN(100), 1+rng.IntN(12), 1+rng.IntN(28), 1+rng.IntN(200), rng.IntN(10), 'A'+rune(rng.IntN(26)), 'A'+rune(rng.IntN(26)), rng.IntN(1000))
	}
	return buf.Bytes()
}

func uuid(rng *rand.Rand) string {
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xffff, rng.Uint32()&0xffff, rng.Uint64()&0xffffffffffff)
}
