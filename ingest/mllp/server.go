package mllp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pophealth/pophealth/ingest/hl7v2"
	"github.com/pophealth/pophealth/models"
)

// Config configures a Server. Zero values take the defaults documented on
// each field.
type Config struct {
	// LandingDir is where accepted messages are written. Required.
	LandingDir string
	// MaxConns bounds concurrent connections; more are closed on accept.
	// Default 64.
	MaxConns int
	// MaxMessageBytes bounds one message, and the bytes a connection may
	// send outside frames. Default 1 MiB, the hl7v2 parser's own limit.
	MaxMessageBytes int
	// IdleTimeout is how long a connection may wait between frames.
	// Default 5 minutes.
	IdleTimeout time.Duration
	// MessageTimeout is how long one frame may take to arrive once its
	// start block has. Default 30 seconds.
	MessageTimeout time.Duration
	// WriteTimeout bounds sending an ACK to a peer that does not read.
	// Default 10 seconds.
	WriteTimeout time.Duration
	// Logger receives connection events; nil discards them. Message
	// contents are never logged.
	Logger *slog.Logger
}

func (c *Config) defaults() error {
	if c.LandingDir == "" {
		return errors.New("mllp: no landing directory")
	}
	if c.MaxConns <= 0 {
		c.MaxConns = 64
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = 1 << 20
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 5 * time.Minute
	}
	if c.MessageTimeout <= 0 {
		c.MessageTimeout = 30 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Stats counts what a Server did. All fields are safe to read while it runs.
type Stats struct {
	Connections atomic.Int64 // accepted and served
	Refused     atomic.Int64 // closed on accept: too many connections
	Accepted    atomic.Int64 // landed and acknowledged AA
	Errors      atomic.Int64 // landed and acknowledged AE
	Rejected    atomic.Int64 // not landed, acknowledged AR
	Dropped     atomic.Int64 // connections closed for a timeout, garbage or a broken frame
}

// Server is an MLLP receiver. Create it with New; it is safe for
// concurrent use.
type Server struct {
	cfg   Config
	Stats Stats

	seq    atomic.Uint64
	prefix string // of ACK control IDs and landing file names, per run
	now    func() time.Time
}

// New returns a server landing messages in cfg.LandingDir, which it
// creates (mode 0700: messages are identifiable).
func New(cfg Config) (*Server, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.LandingDir, 0o700); err != nil {
		return nil, fmt.Errorf("mllp: landing directory: %w", err)
	}
	return &Server{cfg: cfg, prefix: "PH" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-", now: time.Now}, nil
}

// Serve accepts connections on ln until ctx is cancelled, then closes ln,
// lets every connection finish the message it is handling, closes them and
// returns nil. It returns an accept error other than the listener closing.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stopped:
		}
		ln.Close()
		mu.Lock()
		for c := range conns {
			// Wake a read blocked between frames. A frame already read
			// is still landed and acknowledged; one half received is
			// cut off, unacknowledged, for the sender to resend.
			c.SetReadDeadline(time.Now())
		}
		mu.Unlock()
	}()
	defer func() {
		close(stopped)
		wg.Wait()
	}()
	sem := make(chan struct{}, s.cfg.MaxConns)
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("mllp: accept: %w", err)
		}
		select {
		case sem <- struct{}{}:
		default:
			s.Stats.Refused.Add(1)
			s.cfg.Logger.Warn("mllp: too many connections, closing", "remote", c.RemoteAddr().String(), "max", s.cfg.MaxConns)
			c.Close()
			continue
		}
		mu.Lock()
		if ctx.Err() != nil {
			mu.Unlock()
			c.Close()
			<-sem
			continue
		}
		conns[c] = true
		mu.Unlock()
		s.Stats.Connections.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s.serveConn(ctx, c)
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
			c.Close()
		}()
	}
}

// serveConn reads frames from one connection and acknowledges each.
func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	log := s.cfg.Logger.With("remote", c.RemoteAddr().String())
	fr := newFrameReader(c, s.cfg.MaxMessageBytes)
	for {
		// Set the deadline, then look at ctx: Serve cancels ctx before it
		// sets every connection's deadline to now, so either this sees the
		// cancellation or Serve's deadline replaces this one.
		c.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout))
		if ctx.Err() != nil {
			return
		}
		if err := fr.waitStart(); err != nil {
			if !errors.Is(err, io.EOF) && ctx.Err() == nil {
				s.Stats.Dropped.Add(1)
				log.Info("mllp: closing connection between frames", "err", err)
			}
			return
		}
		c.SetReadDeadline(time.Now().Add(s.cfg.MessageTimeout))
		msg, err := fr.readBody()
		var reply []byte
		switch {
		case errors.Is(err, errTooLarge):
			h, herr := readHeader(msg)
			if herr != nil && h.field == 0 {
				h = standardHeader
			}
			s.Stats.Rejected.Add(1)
			reply = s.ack(h, codeReject, fmt.Sprintf("message larger than %d bytes", s.cfg.MaxMessageBytes))
		case err != nil:
			s.Stats.Dropped.Add(1)
			log.Info("mllp: closing connection inside a frame", "err", err)
			return
		default:
			reply = s.handle(ctx, msg, log)
		}
		c.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		if _, err := c.Write(reply); err != nil {
			s.Stats.Dropped.Add(1)
			log.Info("mllp: cannot send ACK", "err", err)
			return
		}
	}
}

// handle lands one message and returns its ACK.
func (s *Server) handle(ctx context.Context, msg []byte, log *slog.Logger) []byte {
	h, err := readHeader(msg)
	if err != nil {
		if h.field == 0 {
			h = standardHeader
		}
		s.Stats.Rejected.Add(1)
		return s.ack(h, codeReject, err.Error())
	}
	reason := check(ctx, msg)
	if err := s.land(msg); err != nil {
		log.Error("mllp: landing failed", "err", err)
		s.Stats.Rejected.Add(1)
		return s.ack(h, codeReject, "message not stored: landing write failed; resend later")
	}
	if reason != "" {
		s.Stats.Errors.Add(1)
		return s.ack(h, codeError, reason)
	}
	s.Stats.Accepted.Add(1)
	return s.ack(h, codeAccept, "")
}

func (s *Server) ack(h header, code, text string) []byte {
	return ack(h, code, text, ackID(s.prefix, s.seq.Add(1)), s.now())
}

// check runs the hl7v2 parser over msg and returns the reason it would be
// quarantined at ingest, or "" when it would be accepted.
func check(ctx context.Context, msg []byte) string {
	var sink reasonSink
	st, err := hl7v2.Parse(ctx, bytes.NewReader(msg), "mllp", &sink)
	switch {
	case err != nil:
		return err.Error()
	case st.Read != 1:
		return fmt.Sprintf("frame holds %d records, want one message", st.Read)
	}
	return sink.reason
}

// reasonSink keeps the first quarantine reason.
type reasonSink struct{ reason string }

func (r *reasonSink) Record(models.Record) error { return nil }

func (r *reasonSink) Quarantine(q models.Quarantined) error {
	if r.reason == "" {
		r.reason = q.Reason
	}
	return nil
}

// land writes msg durably: a temporary file, fsynced, renamed into place,
// and the directory fsynced, so that the message survives a crash from
// the moment its ACK is sent.
func (s *Server) land(msg []byte) error {
	now := s.now().UTC()
	dir := filepath.Join(s.cfg.LandingDir, now.Format("20060102"), now.Format("15"))
	created, err := mkdirAll(dir)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("%d-%s%d.hl7", now.UnixNano(), s.prefix, s.seq.Add(1))
	tmp := filepath.Join(dir, "."+name+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.Write(msg)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, filepath.Join(dir, name))
	}
	if werr != nil {
		os.Remove(tmp)
		return werr
	}
	for _, d := range append(created, dir) {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// mkdirAll creates dir and returns the parents of directories it created,
// which must be fsynced for the new entries to be durable.
func mkdirAll(dir string) ([]string, error) {
	if _, err := os.Stat(dir); err == nil {
		return nil, nil
	}
	parent := filepath.Dir(dir)
	created, err := mkdirAll(parent)
	if err != nil {
		return nil, err
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, err
	}
	return append(created, parent), nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
