package fhir

import (
	"bytes"
	"context"
	"reflect"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// FuzzParse feeds arbitrary bytes to Parse, which must never panic or fail
// on bad input, and must account for every record and locate it in the
// input (checkContract). Seeds are in testdata/fuzz/FuzzParse:
//
//	go test -run='^$' -fuzz=FuzzParse -fuzztime=3m ./ingest/fhir/
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var c collector
		stats, err := Parse(context.Background(), bytes.NewReader(data), "test", &c)
		if err != nil {
			t.Fatalf("Parse returned %v: only I/O, context and sink errors may stop it", err)
		}
		checkContract(t, data, stats, &c)
	})
}

// FuzzDecode checks the hand-written reader against decoding by
// reflection with github.com/go-json-experiment/json: for any input, both
// must fail or both succeed with the same Observation projection. Seeds
// are in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	r := newReader()
	f.Fuzz(func(t *testing.T, data []byte) {
		var got observationResource
		errGot := r.decode(data, "Observation", got.read)

		// Reflection takes a top-level null as nothing to do; a resource
		// must be an object.
		if v := jsontext.Value(data); v.IsValid() && v.Kind() != '{' {
			if errGot == nil {
				t.Fatalf("reader accepted a top-level %s", v.Kind())
			}
			return
		}
		var tagged taggedObservation
		errWant := json.Unmarshal(data, &tagged)
		if errGot != nil || errWant != nil {
			if (errGot == nil) != (errWant == nil) {
				t.Fatalf("reader: %v; reflection: %v", errGot, errWant)
			}
			return
		}
		if want := tagged.projection(); !reflect.DeepEqual(got, want) {
			t.Fatalf("reader read\n%+v\nreflection read\n%+v", got, want)
		}
	})
}

// projection converts what reflection decoded to the reader's projection.
func (o taggedObservation) projection() observationResource {
	cc := func(cs []taggedCoding) codeableConcept {
		var c codeableConcept
		for _, x := range cs {
			c.Coding = append(c.Coding, coding(x))
		}
		return c
	}
	q := func(x *taggedQuantity) *quantity {
		if x == nil {
			return nil
		}
		v := quantity(*x)
		return &v
	}
	p := observationResource{
		ID: o.ID, Status: o.Status, Code: cc(o.Code.Coding), Subject: reference(o.Subject),
		EffectiveDateTime: o.EffectiveDateTime, EffectiveInstant: o.EffectiveInstant,
		EffectivePeriod: period(o.EffectivePeriod), ValueQuantity: q(o.ValueQuantity),
	}
	for _, c := range o.Component {
		p.Component = append(p.Component, component{Code: cc(c.Code.Coding), ValueQuantity: q(c.ValueQuantity)})
	}
	return p
}
