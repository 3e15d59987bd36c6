package hl7v2

import (
	"errors"
	"testing"
)

// standard returns a message using the standard delimiters |^~\&.
func standard() *message {
	return &message{field: '|', comp: '^', rep: '~', esc: '\\', sub: '&'}
}

func TestNth(t *testing.T) {
	tests := []struct {
		in   string
		i    int
		want string
		nil  bool
	}{
		{in: "a^b^c", i: 0, want: "a"},
		{in: "a^b^c", i: 2, want: "c"},
		{in: "a^b^c", i: 3, nil: true},
		{in: "a^^c", i: 1, want: ""},
		{in: "", i: 0, want: ""},
		{in: "", i: 1, nil: true},
	}
	for _, tt := range tests {
		got := nth([]byte(tt.in), '^', tt.i)
		if (got == nil) != tt.nil || string(got) != tt.want {
			t.Errorf("nth(%q, %d) = %q (nil %v), want %q (nil %v)", tt.in, tt.i, got, got == nil, tt.want, tt.nil)
		}
	}
}

func TestMessageText_DecodesEscapeSequences(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "SMITH", "SMITH"},
		{"trimmed", "  SMITH ", "SMITH"},
		{"explicit null", `""`, ""},
		{"field separator", `FLAT 3\F\4`, "FLAT 3|4"},
		{"component separator", `A\S\B`, "A^B"},
		{"subcomponent separator", `SMITH \T\ PARTNERS`, "SMITH & PARTNERS"},
		{"repetition separator", `A\R\B`, "A~B"},
		{"escape character", `C:\E\TEMP`, `C:\TEMP`},
		{"hex bytes", `hex \X0D0A\ end`, "hex \r\n end"},
		{"hex UTF-8", `ZO\XC38B\`, "ZOË"},
		{"line break", `one\.br\two`, "one\ntwo"},
		{"highlighting dropped", `\H\BOLD\N\ text`, "BOLD text"},
		{"formatting dropped", `a\.sp2\b`, "ab"},
		{"charset switch dropped", `a\C2842\b`, "ab"},
		{"unknown sequence kept", `a\Q\b`, `a\Q\b`},
		{"odd hex kept", `a\X0D0\b`, `a\X0D0\b`},
		{"bad hex kept", `a\XZZ\b`, `a\XZZ\b`},
		{"unterminated kept", `O\NEILL`, `O\NEILL`},
		{"empty sequence kept", `a\\b`, `a\\b`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := standard().text([]byte(tt.in))
			if err != nil || got != tt.want {
				t.Errorf("text(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestMessageText_HonoursMessageDelimiters(t *testing.T) {
	m := &message{field: '#', comp: '$', rep: '!', esc: '/', sub: '@'}
	got, err := m.text([]byte(`A/F/B/S/C/T/D/R/E/E/ \ ^`))
	if want := `A#B$C@D!E/ \ ^`; err != nil || got != want {
		t.Errorf("text = %q, %v; want %q", got, err, want)
	}
}

func TestMessageText_ConvertsLatin1(t *testing.T) {
	m := standard()
	m.latin1 = true
	got, err := m.text([]byte("BRONT\xCB \\XC9\\"))
	if want := "BRONTË É"; err != nil || got != want {
		t.Errorf("text = %q, %v; want %q", got, err, want)
	}
}

func TestMessageText_RejectsInvalidUTF8(t *testing.T) {
	if _, err := standard().text([]byte("BRONT\xCB")); !errors.Is(err, errInvalidUTF8) {
		t.Errorf("text(latin-1 bytes in a UTF-8 message) error = %v, want %v", err, errInvalidUTF8)
	}
}

func TestReadDelimiters(t *testing.T) {
	tests := []struct {
		msh     string
		want    [5]byte
		wantErr string
	}{
		{msh: `MSH|^~\&|PAS`, want: [5]byte{'|', '^', '~', '\\', '&'}},
		{msh: `MSH|^~\&#|PAS`, want: [5]byte{'|', '^', '~', '\\', '&'}}, // v2.7 truncation character
		{msh: `MSH|$!/@|PAS`, want: [5]byte{'|', '$', '!', '/', '@'}},
		{msh: `MSH#^~\&#PAS`, want: [5]byte{'#', '^', '~', '\\', '&'}},
		{msh: `MSH|^~\&`, want: [5]byte{'|', '^', '~', '\\', '&'}},
		{msh: `MSH`, wantErr: "MSH-1: missing field separator"},
		{msh: `MSH ^~\&`, wantErr: `MSH-1: ' ' cannot be a field separator`},
		{msh: `MSH|^~|PAS`, wantErr: `MSH-2: want 4 encoding characters, got "^~"`},
		{msh: `MSH|^~\&#%|PAS`, wantErr: `MSH-2: want 4 encoding characters, got "^~\\&#%"`},
		{msh: `MSH|^~\\&|PAS`, wantErr: `MSH-2: encoding characters "^~\\\\&" are not distinct punctuation`},
		{msh: `MSH|^~\\|PAS`, wantErr: `MSH-2: encoding characters "^~\\\\" are not distinct punctuation`},
		{msh: `MSH|^~\A|PAS`, wantErr: `MSH-2: encoding characters "^~\\A" are not distinct punctuation`},
	}
	for _, tt := range tests {
		m := &message{raw: []byte(tt.msh), segs: []span{{0, len(tt.msh)}}}
		err := m.readDelimiters()
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("readDelimiters(%q) error = %v, want %q", tt.msh, err, tt.wantErr)
			}
			continue
		}
		got := [5]byte{m.field, m.comp, m.rep, m.esc, m.sub}
		if err != nil || got != tt.want {
			t.Errorf("readDelimiters(%q) = %q, %v; want %q", tt.msh, got, err, tt.want)
		}
	}
}

func TestMessageFieldOf_MatchesNthAndFollowsReusedBuffers(t *testing.T) {
	m := standard()
	buf := []byte("PID|1||A1^^^H^MR||SMITH^JO")
	m.reset(buf, []span{{0, len(buf)}})
	for n := 0; n <= 7; n++ {
		got, want := m.fieldOf(m.seg(0), n), nth(m.seg(0), '|', n)
		if (got == nil) != (want == nil) || string(got) != string(want) {
			t.Errorf("fieldOf(%d) = %q, want %q as nth gives", n, got, want)
		}
	}
	// The next message arrives in the same buffer, same length, other text.
	copy(buf, "PID|2||B2^^^H^MR||JONES^AL")
	m.reset(buf, []span{{0, len(buf)}})
	if got := string(m.fieldOf(m.seg(0), 5)); got != "JONES^AL" {
		t.Errorf("after reset, PID-5 = %q, want JONES^AL", got)
	}
	if got := string(m.fieldOf(m.seg(0)[:10], 3)); got != "B2^" {
		t.Errorf("PID-3 of a shorter view = %q, want B2^", got)
	}
}
