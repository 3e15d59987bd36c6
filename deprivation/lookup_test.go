package deprivation

import (
	"strings"
	"testing"
)

func TestRead_PublishedHeaders(t *testing.T) {
	cases := []struct {
		name, csv, vintage string
		want               map[string]int8
	}{
		{
			name: "IMD 2019 file 7",
			csv: "\ufeffLSOA code (2011),LSOA name (2011),Local Authority District code (2019),Local Authority District name (2019)," +
				"Index of Multiple Deprivation (IMD) Score,Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)," +
				"Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs),Income Score (rate)\n" +
				"E01000001,City of London 001A,E09000001,City of London,6.208,29199,9,0.007\n" +
				"E01011264,Leeds 001A,E08000035,Leeds,40.1,2001,1,0.3\n",
			vintage: "2011",
			want:    map[string]int8{"E01000001": 9, "E01011264": 1},
		},
		{
			name: "IMD 2025",
			csv: "LSOA code (2021),LSOA name (2021),Local Authority District code (2024),Local Authority District name (2024)," +
				"Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)\n" +
				"E01035000,Somewhere 001A,E06000001,Somewhere,4\n",
			vintage: "2021",
			want:    map[string]int8{"E01035000": 4},
		},
		{
			name:    "short names, blank line, repeated row",
			csv:     "lsoa11cd,imd_decile\nE01000002, 3 \n\ne01000002,3\n",
			vintage: "2011",
			want:    map[string]int8{"E01000002": 3},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := Read(strings.NewReader(c.csv), "imd.csv")
			if err != nil {
				t.Fatal(err)
			}
			if l.Vintage != c.vintage {
				t.Errorf("vintage %q, want %q", l.Vintage, c.vintage)
			}
			if l.Len() != len(c.want) {
				t.Errorf("%d areas, want %d", l.Len(), len(c.want))
			}
			for code, d := range c.want {
				if got, ok := l.Decile(strings.ToLower(code) + " "); !ok || got != d {
					t.Errorf("Decile(%s) = %d, %v; want %d", code, got, ok, d)
				}
			}
			if _, ok := l.Decile("E01999999"); ok {
				t.Error("an unknown LSOA has a decile")
			}
		})
	}
}

func TestRead_RefusesBadRowsNamingTheLine(t *testing.T) {
	cases := []struct{ name, csv, want string }{
		{"no decile column", "LSOA code (2011),IMD Rank\nE01000001,3\n", "header needs an LSOA code column"},
		{"decile out of range", "lsoa_code,imd_decile\nE01000001,3\nE01000002,11\n", "imd.csv line 3: decile \"11\" for E01000002"},
		{"decile not a number", "lsoa_code,imd_decile\nE01000001,three\n", "line 2: decile \"three\""},
		{"empty code", "lsoa_code,imd_decile\n,3\n", "line 2: empty LSOA code"},
		{"conflicting deciles", "lsoa_code,imd_decile\nE01000001,3\nE01000001,4\n", "line 3: E01000001 has decile 4 here and 3"},
		{"short row", "lsoa_code,x,imd_decile\nE01000001\n", "line 2: 1 fields"},
		{"empty file", "", "empty file"},
		{"header only", "lsoa_code,imd_decile\n", "no areas"},
		{"bad quoting", "lsoa_code,imd_decile\n\"E01,3\n", "imd.csv"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(c.csv), "imd.csv")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestSynthetic_IsAWestYorkshireLookupOfUnissuedCodes(t *testing.T) {
	l, err := ReadSynthetic()
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 1388 || l.Vintage != "2011" || !l.IsSynthetic() {
		t.Fatalf("Len %d, vintage %q, synthetic %v", l.Len(), l.Vintage, l.IsSynthetic())
	}
	byDistrict := map[string]int{}
	var deciles [11]int
	for _, a := range l.Areas() {
		byDistrict[a.District]++
		deciles[a.Decile]++
	}
	want := map[string]int{"Bradford": 310, "Calderdale": 128, "Kirklees": 263, "Leeds": 482, "Wakefield": 205}
	for d, n := range want {
		if byDistrict[d] != n {
			t.Errorf("%s: %d LSOAs, want %d", d, byDistrict[d], n)
		}
	}
	// Skewed towards the deprived end, as West Yorkshire is.
	if deciles[1] <= deciles[10]*2 {
		t.Errorf("decile 1 has %d LSOAs, decile 10 %d: want the most deprived at least twice as common", deciles[1], deciles[10])
	}
	real, err := Read(strings.NewReader("lsoa_code,imd_decile\nE01000001,9\n"), "x")
	if err != nil {
		t.Fatal(err)
	}
	if real.IsSynthetic() {
		t.Error("a lookup with real codes reported as synthetic")
	}
}
