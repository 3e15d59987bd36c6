package synth

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/pophealth/pophealth/models"
)

func TestTypo_AlwaysChangesTheName(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	names := append(append(append([]string{"Jo", "Al", "Ann", "Lee"}, maleGiven[:]...), femaleGiven[:]...), familyNames[:]...)
	for range 20 {
		for _, name := range names {
			got := typo(r, name)
			if got == name || got[0] != name[0] {
				t.Fatalf("typo(%q) = %q: want a change after the first letter", name, got)
			}
		}
	}
}

func TestSurnameVariant(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct {
		family string
		want   []string
	}{
		{"Ahmed-Khan", []string{"Ahmed", "Khan", "Ahmed Khan"}},
		{"O'Brien", []string{"OBrien", "O Brien"}},
		{"McDonald", []string{"MacDonald"}},
		{"MacLeod", []string{"McLeod"}},
		{"Smith", []string{""}},
	} {
		for range 20 {
			if got := surnameVariant(r, c.family); !slices.Contains(c.want, got) {
				t.Errorf("surnameVariant(%q) = %q, want one of %q", c.family, got, c.want)
			}
		}
	}
}

func TestAppendImpossibleDate_NeverParses(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 200 {
		b := appendImpossibleDate(nil, models.NewDate(1980+r.IntN(40), 1, 1), r, '-')
		if _, err := models.ParseDate(string(b)); err == nil {
			t.Fatalf("%s parsed as a date", b)
		}
	}
}

func TestDropLastField_RemovesOneColumn(t *testing.T) {
	for in, want := range map[string]string{
		"a,b,c":         "a,bc",
		"G1,999,,":      "G1,999,",
		"x,\"q,r\",s,t": "x,\"q,r\",st",
	} {
		b := []byte("prefix\n" + in)
		if got := string(dropLastField(b, len("prefix\n"))); got != "prefix\n"+want {
			t.Errorf("dropLastField(%q) = %q, want %q", in, got, want)
		}
	}
}
