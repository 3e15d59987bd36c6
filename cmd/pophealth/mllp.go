package main

import (
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/pophealth/pophealth/ingest/mllp"
	"github.com/pophealth/pophealth/workspace"
)

func newMLLPCmd(g *globals) *cobra.Command {
	var (
		listen, landing string
		cfg             mllp.Config
	)
	cmd := &cobra.Command{
		Use:   "mllp",
		Short: "Receive HL7 v2 messages over MLLP/TCP and land them durably before acknowledging",
		Long: `mllp listens for HL7 v2 messages framed with MLLP (0x0B ... 0x1C 0x0D), as
hospital integration engines send live ADT feeds. Each message is written
and fsynced to the landing directory (default WORKSPACE/landing/hl7v2), one
file per message, before the ACK is sent:

  AA  landed;
  AE  landed, but ingest will quarantine it: the ACK says why;
  AR  not landed: not an HL7 v2 message, too large, or the disk write
      failed (the ACK says why; the sender should resend later).

Ingest the landing directory with "pophealth ingest"; messages already
ingested are skipped by content, so re-running ingest, or a sender resending
after a lost ACK, adds nothing twice. Stop with Ctrl-C or SIGTERM: messages
already received are landed and acknowledged first.`,
		Example: `  pophealth mllp --listen 127.0.0.1:2575
  pophealth ingest pophealth-data/landing/hl7v2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ws, err := workspace.Open(g.workspace)
			if err != nil {
				return err
			}
			cfg.LandingDir = landing
			if cfg.LandingDir == "" {
				cfg.LandingDir = filepath.Join(ws.Dir, "landing", "hl7v2")
			}
			cfg.Logger = g.logger
			srv, err := mllp.New(cfg)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("mllp: %w", err)
			}
			if err := appendAudit(ws, "mllp.start", map[string]any{"listen": ln.Addr().String(), "landing": cfg.LandingDir}); err != nil {
				ln.Close()
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "mllp: listening on %s, landing in %s\n", ln.Addr(), cfg.LandingDir)
			err = srv.Serve(cmd.Context(), ln)
			st := &srv.Stats
			fmt.Fprintf(cmd.ErrOrStderr(), "mllp: stopped: %d connections (%d refused), %d AA, %d AE, %d AR, %d connections dropped\n",
				st.Connections.Load(), st.Refused.Load(), st.Accepted.Load(), st.Errors.Load(), st.Rejected.Load(), st.Dropped.Load())
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:2575", "TCP `ADDRESS` to listen on")
	f.StringVar(&landing, "landing", "", "landing `DIR` (default WORKSPACE/landing/hl7v2)")
	f.IntVar(&cfg.MaxConns, "max-conns", 64, "most concurrent connections; more are closed on accept")
	f.IntVar(&cfg.MaxMessageBytes, "max-message-bytes", 1<<20, "largest message accepted (larger ones get AR)")
	f.DurationVar(&cfg.IdleTimeout, "idle-timeout", 5*time.Minute, "close a connection idle between messages this long")
	f.DurationVar(&cfg.MessageTimeout, "message-timeout", 30*time.Second, "close a connection that takes longer to send one message")
	return cmd
}
