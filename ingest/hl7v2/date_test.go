package hl7v2

import (
	"testing"
	"time"

	"github.com/pophealth/pophealth/models"
)

func TestParseDate(t *testing.T) {
	tests := []struct {
		in      string
		want    models.Date
		wantErr string
	}{
		{in: "20240105", want: models.NewDate(2024, time.January, 5)},
		{in: "2024010511", want: models.NewDate(2024, time.January, 5)},
		{in: "202401051130", want: models.NewDate(2024, time.January, 5)},
		{in: "20240105113000", want: models.NewDate(2024, time.January, 5)},
		{in: "20240105113000.1234", want: models.NewDate(2024, time.January, 5)},
		// The offset is checked, not applied: 00:30 BST on 4 July is 4 July.
		{in: "19250704003000+0100", want: models.NewDate(1925, time.July, 4)},
		{in: "20240105113000.4-0500", want: models.NewDate(2024, time.January, 5)},
		{in: "20240229", want: models.NewDate(2024, time.February, 29)},
		{in: "20000229", want: models.NewDate(2000, time.February, 29)},
		{in: "20230230", wantErr: "impossible date 20230230"},
		{in: "19000229", wantErr: "impossible date 19000229"},
		{in: "20231301", wantErr: "impossible date 20231301"},
		{in: "20230400", wantErr: "impossible date 20230400"},
		{in: "20230431", wantErr: "impossible date 20230431"},
		{in: "00000101", wantErr: "impossible date 00000101"},
		{in: "20241345250000", wantErr: "impossible date 20241345250000"},
		{in: "2024010524", wantErr: "impossible date 2024010524"},
		{in: "202401052360", wantErr: "impossible date 202401052360"},
		{in: "20240105235960", wantErr: "impossible date 20240105235960"},
		{in: "1980", wantErr: "incomplete date 1980 (want at least YYYYMMDD)"},
		{in: "198002", wantErr: "incomplete date 198002 (want at least YYYYMMDD)"},
		{in: "196203520", wantErr: `malformed date "196203520"`},
		{in: "2024-01-05", wantErr: `malformed date "2024-01-05"`},
		{in: "20240105+01", wantErr: `malformed date "20240105+01"`},
		{in: "20240105+1500", wantErr: `malformed date "20240105+1500"`},
		{in: "202401051130.5", wantErr: `malformed date "202401051130.5"`},
		{in: "20240105113000.", wantErr: `malformed date "20240105113000."`},
		{in: "20240105113000.12345", wantErr: `malformed date "20240105113000.12345"`},
		{in: "2024010511300", wantErr: `malformed date "2024010511300"`},
	}
	for _, tt := range tests {
		got, err := parseDate([]byte(tt.in))
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("parseDate(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseDate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}
