package deprivation

import (
	"bytes"
	"testing"
)

// FuzzRead checks that any input either fails with an error or yields a
// lookup whose every area has a decile from 1 to 10 that Decile returns.
func FuzzRead(f *testing.F) {
	f.Add([]byte("lsoa_code,imd_decile\nE01000001,3\n"))
	f.Add(synthetic[:2000])
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Read(bytes.NewReader(data), "fuzz.csv")
		if err != nil {
			return
		}
		for _, a := range l.Areas() {
			if a.Decile < 1 || a.Decile > 10 || a.Code == "" {
				t.Fatalf("area %+v", a)
			}
			if d, ok := l.Decile(a.Code); !ok || d != a.Decile {
				t.Fatalf("Decile(%q) = %d, %v; area says %d", a.Code, d, ok, a.Decile)
			}
		}
	})
}
