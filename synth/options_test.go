package synth

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestOptions_ValidateRejectsNonsense(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*Options)
		want string // substring of the error, "" for none
	}{
		{"defaults", func(*Options) {}, ""},
		{"no people", func(o *Options) { o.People = 0 }, "people 0"},
		{"too many people", func(o *Options) { o.People = MaxPeople + 1 }, "people"},
		{"no directory", func(o *Options) { o.OutDir = "" }, "output directory"},
		{"empty period", func(o *Options) { o.End = o.Start }, "study period"},
		{"share above one", func(o *Options) { o.NameVariant = 1.5 }, "name variant share 1.5"},
		{"negative share", func(o *Options) { o.Malformed = -0.1 }, "malformed share"},
		{"NaN share", func(o *Options) { o.MovedPostcode = math.NaN() }, "moved postcode share"},
		{"NHS shares above one", func(o *Options) { o.MissingNHS, o.WrongNHS = 0.6, 0.6 }, "add up"},
		{"negative workers", func(o *Options) { o.Workers = -1 }, "workers -1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := DefaultOptions()
			c.edit(&o)
			err := o.validate()
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("validate: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("validate: %v, want an error with %q", err, c.want)
			case err == nil && o.Workers < 1:
				t.Fatalf("validate left Workers at %d", o.Workers)
			}
		})
	}
}

func TestOptions_JSONRoundTripLeavesOutRunSettings(t *testing.T) {
	o := DefaultOptions()
	o.Seed, o.WrongNHS, o.OutDir, o.Workers = 42, 0.03, "/somewhere", 7
	data, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "somewhere") || strings.Contains(string(data), "workers") || !strings.Contains(string(data), `"start":"2023-04-01"`) {
		t.Errorf("JSON %s", data)
	}
	var back Options
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	want := o
	want.OutDir, want.Workers = "", 0
	if back != want {
		t.Errorf("round trip gives %+v, want %+v", back, want)
	}
	if err := json.Unmarshal([]byte(`{"start":"2023-02-30","end":"2024-01-01"}`), &back); err == nil {
		t.Error("impossible start date accepted")
	}
}
