package mllp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const sampleDir = "../../../shared/data/feed-samples/hl7v2"

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(sampleDir, name))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("shared samples not present: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// ukA01 is a valid UK admission: it must be acknowledged AA.
const ukA01 = "MSH|^~\\&|PAS|RGT01|ROUTE|PHLAKE|20240105113000||ADT^A01^ADT_A01|T0001|P|2.4\r" +
	"EVN|A01|20240105113000\r" +
	"PID|1||9434765919^^^NHS^NH~RGT0000001^^^RGT^MR||DOE^JOHN||19800229|M\r" +
	"PV1|1|I||21||||||||||||||||IP0001^^^RGT^VN|||||||||||||||||||||||||20240105110000\r"

// server is a running test server on a loopback port.
type server struct {
	*Server
	addr    string
	landing string
	cancel  context.CancelFunc
	done    chan error
}

func start(t *testing.T, cfg Config) *server {
	t.Helper()
	cfg.LandingDir = filepath.Join(t.TempDir(), "landing")
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{Server: srv, addr: ln.Addr().String(), landing: cfg.LandingDir, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-s.done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Serve did not return after cancel")
		}
	})
	return s
}

func (s *server) dial(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func frame(msg string) []byte { return []byte("\x0b" + msg + "\x1c\r") }

// readAck reads one framed reply and returns its MSA fields.
func readAck(t *testing.T, br *bufio.Reader) (code, controlID, text string, raw string) {
	t.Helper()
	b, err := br.ReadBytes('\x1c')
	if err != nil {
		t.Fatalf("reading ACK: %v (got %q)", err, b)
	}
	if cr, err := br.ReadByte(); err != nil || cr != '\r' {
		t.Fatalf("ACK not ended by 0x1C 0x0D")
	}
	if len(b) < 2 || b[0] != '\x0b' {
		t.Fatalf("ACK not framed: %q", b)
	}
	raw = string(b[1 : len(b)-1])
	segs := strings.Split(strings.TrimRight(raw, "\r"), "\r")
	fs := string(segs[0][3])
	for _, seg := range segs {
		if strings.HasPrefix(seg, "MSA") {
			f := strings.Split(seg, fs)
			for len(f) < 4 {
				f = append(f, "")
			}
			return f[1], f[2], f[3], raw
		}
	}
	t.Fatalf("ACK without MSA: %q", raw)
	return
}

// landed returns the landed messages' contents, failing on leftover
// temporary files.
func landed(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") {
			t.Errorf("temporary file left in landing: %s", p)
		}
		b, err := os.ReadFile(p)
		out = append(out, string(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestServer_AcknowledgesEachMessage(t *testing.T) {
	s := start(t, Config{})
	bad := strings.Replace(ukA01, "|20240105113000||ADT", "|20241345250000||ADT", 1)
	bad = strings.Replace(bad, "T0001", "T0002", 1)
	tests := []struct {
		name, msg  string
		code, id   string
		textHas    string
		landedSame bool
	}{
		{"valid admission", ukA01, "AA", "T0001", "", true},
		{"impossible MSH-7: landed for quarantine, AE", bad, "AE", "T0002", `MSH-7: impossible date 20241345250000`, true},
		{"no MSH", "EVN|A01|20240105\rPID|1||X\r", "AR", "", "no MSH segment", false},
		{"no control ID", strings.Replace(ukA01, "T0001", "", 1), "AR", "", "MSH-10", false},
		{"version 3", strings.Replace(ukA01, "|P|2.4", "|P|3.0", 1), "AR", "T0001", "MSH-12", false},
	}
	c := s.dial(t)
	br := bufio.NewReader(c)
	var want []string
	for _, tt := range tests {
		if _, err := c.Write(frame(tt.msg)); err != nil {
			t.Fatal(err)
		}
		code, id, text, raw := readAck(t, br)
		if code != tt.code || id != tt.id || !strings.Contains(text, tt.textHas) {
			t.Errorf("%s: ACK %s %q %q (%q), want %s %q containing %q", tt.name, code, id, text, raw, tt.code, tt.id, tt.textHas)
		}
		if tt.landedSame {
			want = append(want, tt.msg)
		}
	}
	got := landed(t, s.landing)
	if strings.Join(sorted(got), "\n--\n") != strings.Join(sorted(want), "\n--\n") {
		t.Errorf("landed %q, want exactly %q", got, want)
	}
	if s.Stats.Accepted.Load() != 1 || s.Stats.Errors.Load() != 1 || s.Stats.Rejected.Load() != 3 {
		t.Errorf("stats accepted %d errors %d rejected %d", s.Stats.Accepted.Load(), s.Stats.Errors.Load(), s.Stats.Rejected.Load())
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestServer_SharedSamplesOverTCP(t *testing.T) {
	s := start(t, Config{})
	// The MLLP sample is already framed: sent as is, both messages are
	// acknowledged AA.
	c := s.dial(t)
	br := bufio.NewReader(c)
	if _, err := c.Write(readSample(t, "handmade/mllp_stream_two_messages.bin")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if code, id, text, _ := readAck(t, br); code != "AA" || id == "" {
			t.Errorf("message %d: ACK %s %q %q", i+1, code, id, text)
		}
	}
	// Custom delimiters: the ACK speaks the sender's MSH-1/MSH-2.
	msg := bytes.TrimRight(readSample(t, "handmade/custom_encoding_chars.hl7"), "\r\n")
	if _, err := c.Write(append(append([]byte{0x0b}, msg...), 0x1c, '\r')); err != nil {
		t.Fatal(err)
	}
	_, _, _, raw := readAck(t, br)
	if !strings.HasPrefix(raw, "MSH|$!/@|") || !strings.Contains(raw, "|ACK$A08|") {
		t.Errorf("ACK to custom delimiters %q, want MSH|$!/@ and ACK$A08", raw)
	}
	if n := len(landed(t, s.landing)); n != 3 {
		t.Errorf("%d messages landed, want 3", n)
	}
}

func TestServer_RejectsOversizedMessageAndCarriesOn(t *testing.T) {
	s := start(t, Config{MaxMessageBytes: 1024})
	c := s.dial(t)
	br := bufio.NewReader(c)
	big := strings.Replace(ukA01, "DOE^JOHN", "DOE^"+strings.Repeat("J", 4000), 1)
	if _, err := c.Write(append(frame(big), frame(ukA01)...)); err != nil {
		t.Fatal(err)
	}
	if code, id, text, _ := readAck(t, br); code != "AR" || id != "T0001" || !strings.Contains(text, "larger than 1024") {
		t.Errorf("oversized: ACK %s %q %q", code, id, text)
	}
	if code, _, _, _ := readAck(t, br); code != "AA" {
		t.Errorf("message after the oversized one: ACK %s, want AA", code)
	}
	if got := landed(t, s.landing); len(got) != 1 || got[0] != ukA01 {
		t.Errorf("landed %d messages, want only the valid one", len(got))
	}
}

// closedWithin reports whether the server closes c within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return err == nil || !(errors.As(err, &ne) && ne.Timeout())
}

func TestServer_SurvivesHostilePeers(t *testing.T) {
	cfg := Config{MaxMessageBytes: 4096, IdleTimeout: 300 * time.Millisecond, MessageTimeout: 300 * time.Millisecond, MaxConns: 8}
	tests := []struct {
		name string
		act  func(c net.Conn)
	}{
		{"garbage without a frame", func(c net.Conn) { c.Write(bytes.Repeat([]byte("GET / HTTP/1.1\r\n"), 1000)) }},
		{"half-open: connects and sends nothing", func(c net.Conn) {}},
		{"slowloris: one byte at a time inside a frame", func(c net.Conn) {
			c.Write([]byte{0x0b})
			for i := 0; i < 20; i++ {
				if _, err := c.Write([]byte(ukA01[i : i+1])); err != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}},
		{"frame never ended", func(c net.Conn) { c.Write(append([]byte{0x0b}, ukA01...)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, cfg)
			bad := s.dial(t)
			go tt.act(bad)
			// A well-behaved sender is served meanwhile.
			good := s.dial(t)
			if _, err := good.Write(frame(ukA01)); err != nil {
				t.Fatal(err)
			}
			if code, _, _, _ := readAck(t, bufio.NewReader(good)); code != "AA" {
				t.Errorf("good sender: ACK %s", code)
			}
			if !closedWithin(bad, 3*time.Second) {
				t.Errorf("server did not close the hostile connection")
			}
			if n := len(landed(t, s.landing)); n != 1 {
				t.Errorf("%d messages landed, want only the good sender's", n)
			}
		})
	}
}

func TestServer_RefusesConnectionsBeyondMax(t *testing.T) {
	s := start(t, Config{MaxConns: 2, IdleTimeout: 10 * time.Second})
	a, b := s.dial(t), s.dial(t)
	for _, c := range []net.Conn{a, b} { // make sure both are being served
		c.Write(frame(ukA01))
		if code, _, _, _ := readAck(t, bufio.NewReader(c)); code != "AA" {
			t.Fatalf("ACK %s", code)
		}
	}
	third := s.dial(t)
	if !closedWithin(third, 2*time.Second) {
		t.Errorf("third connection was not closed")
	}
	if s.Stats.Refused.Load() != 1 {
		t.Errorf("refused %d, want 1", s.Stats.Refused.Load())
	}
	a.Close()
	// A slot frees up: a new connection is served.
	deadline := time.Now().Add(3 * time.Second)
	for {
		c := s.dial(t)
		c.Write(frame(ukA01))
		c.SetReadDeadline(time.Now().Add(time.Second))
		if b, err := bufio.NewReader(c).ReadBytes('\x1c'); err == nil && bytes.Contains(b, []byte("MSA|AA")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no connection served after one closed")
		}
	}
}

func TestServer_ShutsDownGracefully(t *testing.T) {
	s := start(t, Config{IdleTimeout: time.Hour})
	idle := s.dial(t)
	c := s.dial(t)
	c.Write(frame(ukA01))
	if code, _, _, _ := readAck(t, bufio.NewReader(c)); code != "AA" {
		t.Fatalf("ACK %s", code)
	}
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup's check
	case <-time.After(3 * time.Second):
		t.Fatal("Serve did not return after cancel with an idle connection open")
	}
	if !closedWithin(idle, time.Second) {
		t.Errorf("idle connection left open after shutdown")
	}
	if _, err := net.DialTimeout("tcp", s.addr, time.Second); err == nil {
		t.Errorf("still accepting after shutdown")
	}
}

func TestServer_LandingFailureIsRejected(t *testing.T) {
	s := start(t, Config{})
	// Make the landing directory unwritable by replacing today's hour
	// directory's parent with a file.
	if err := os.RemoveAll(s.landing); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.landing, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := s.dial(t)
	c.Write(frame(ukA01))
	if code, id, text, _ := readAck(t, bufio.NewReader(c)); code != "AR" || id != "T0001" || !strings.Contains(text, "not stored") {
		t.Errorf("ACK %s %q %q, want AR: not stored", code, id, text)
	}
}
