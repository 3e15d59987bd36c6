package gpcsv

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestTape_StopsAtBoundUntilReleased(t *testing.T) {
	tp := newTape(strings.NewReader("0123456789abcdefghij"), 8)
	got, err := io.ReadAll(tp)
	if string(got) != "01234567" || !errors.Is(err, errRecordTooLong) {
		t.Fatalf("read %q, %v; want 8 bytes then errRecordTooLong", got, err)
	}
	tp.release(5)
	got, err = io.ReadAll(tp)
	if string(got) != "89abc" || !errors.Is(err, errRecordTooLong) {
		t.Fatalf("after release(5): read %q, %v; want up to offset 13", got, err)
	}
	if w := string(tp.window(5, 13)); w != "56789abc" {
		t.Errorf("window(5, 13) = %q", w)
	}

	// Input that ends at the bound is not too long, however it is read.
	for _, r := range []io.Reader{strings.NewReader("01234567"), iotest.DataErrReader(strings.NewReader("01234567"))} {
		tp = newTape(r, 8)
		if got, err := io.ReadAll(tp); string(got) != "01234567" || err != nil {
			t.Errorf("input as long as the bound: read %q, %v", got, err)
		}
	}
}

func TestTape_ReplaysAfterRewind(t *testing.T) {
	const input = "line one\nline two\nline three\n"
	tp := newTape(iotest.HalfReader(strings.NewReader(input)), 1<<10)
	if got, err := io.ReadAll(tp); string(got) != input || err != nil {
		t.Fatalf("read %q, %v", got, err)
	}
	tp.rewind(9)
	if got, err := io.ReadAll(tp); string(got) != input[9:] || err != nil {
		t.Errorf("after rewind(9): read %q, %v; want %q", got, err, input[9:])
	}
}

func TestTape_KeepsOffsetsAcrossCompaction(t *testing.T) {
	input := strings.Repeat("0123456789", 10_000)
	tp := newTape(strings.NewReader(input), 100)
	p := make([]byte, 7)
	var off int64
	for off < int64(len(input)) {
		n, err := tp.Read(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(tp.window(off, off+int64(n))); got != input[off:off+int64(n)] || got != string(p[:n]) {
			t.Fatalf("window at %d = %q, read %q, want %q", off, got, p[:n], input[off:off+int64(n)])
		}
		off += int64(n)
		tp.release(off)
	}
	if c := cap(tp.buf); c > 16<<10 {
		t.Errorf("window grew to %d bytes", c)
	}
}

func TestTape_SkipsLineLongerThanWindow(t *testing.T) {
	input := "head\n" + strings.Repeat("x", 100_000) + "\nnext line\n"
	tp := newTape(iotest.HalfReader(strings.NewReader(input)), 64)
	buf := make([]byte, 5)
	if _, err := io.ReadFull(tp, buf); err != nil {
		t.Fatal(err)
	}
	tp.release(5)
	next, err := tp.skipLine(5)
	if want := int64(len(input) - len("next line\n")); next != want || err != nil {
		t.Fatalf("skipLine = %d, %v; want %d", next, err, want)
	}
	if got, err := io.ReadAll(tp); string(got) != "next line\n" || err != nil {
		t.Errorf("then read %q, %v", got, err)
	}

	// Without a newline, skipLine ends at the end of the input.
	tp = newTape(strings.NewReader(strings.Repeat("x", 1000)), 64)
	if next, err := tp.skipLine(0); next != 1000 || err != nil {
		t.Errorf("skipLine to the end = %d, %v; want 1000", next, err)
	}
}

func TestTape_ReturnsSourceError(t *testing.T) {
	errDisk := errors.New("input/output error")
	tp := newTape(io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(errDisk)), 1<<10)
	got, err := io.ReadAll(tp)
	if string(got) != "abc" || !errors.Is(err, errDisk) {
		t.Errorf("read %q, %v; want abc, %v", got, err, errDisk)
	}
	if _, err := tp.skipLine(3); !errors.Is(err, errDisk) {
		t.Errorf("skipLine: %v, want %v", err, errDisk)
	}
}
