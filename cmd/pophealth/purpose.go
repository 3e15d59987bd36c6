package main

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pophealth/pophealth/audit"
	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/purpose"
	"github.com/pophealth/pophealth/workspace"
)

func newPurposeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "purpose",
		Short: "Validate, approve, revoke and materialise purposes (information governance)",
		Long: `A purpose says what may be done with the lake's data, by whom and on what
legal basis (docs/purposes.md; examples in purpose/examples/). Nothing runs
under a purpose until an IG lead approves its exact bytes.

IG lead:
  pophealth purpose validate FILE                 check a config, with file and line for each problem
  pophealth purpose keygen NAME --out DIR         make an Ed25519 key pair for signing approvals
  pophealth purpose approve FILE --by NAME [--sign-key DIR/NAME.key]
  pophealth purpose diff ID|FILE                  what changed since approval
  pophealth purpose revoke ID --by NAME --reason TEXT
  pophealth purpose list                          every purpose and its status
  pophealth purpose show ID

Operator:
  pophealth purpose materialise ID                write lake/purposes/ID/ (opt-outs applied, pseudonymised)
  pophealth purpose rotate-key ID                 new purpose key, data re-materialised under it`,
	}
	cmd.AddCommand(newPurposeValidateCmd(), newPurposeApproveCmd(g), newPurposeRevokeCmd(g), newPurposeListCmd(g),
		newPurposeShowCmd(g), newPurposeDiffCmd(g), newPurposeKeygenCmd(g), newPurposeMaterialiseCmd(g, false), newPurposeMaterialiseCmd(g, true))
	return cmd
}

func newPurposeValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a purpose config against the schema, the legal bases and the lake's columns",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := purpose.LoadFile(args[0])
			if err != nil {
				if ve, ok := errors.AsType[*purpose.ValidationError](err); ok {
					fmt.Fprintln(cmd.OutOrStdout(), ve.Error())
					return fmt.Errorf("%s: %d problems", args[0], len(ve.Problems))
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (purpose %s, %s)\n", args[0], c.ID, c.Category)
			return nil
		},
	}
}

func openLedger(g *globals) (*workspace.Workspace, *purpose.Ledger, error) {
	ws, err := workspace.Open(g.workspace)
	if err != nil {
		return nil, nil, err
	}
	l, err := purpose.OpenLedger(ws)
	return ws, l, err
}

func newPurposeApproveCmd(g *globals) *cobra.Command {
	var by, signKey string
	cmd := &cobra.Command{
		Use:   "approve FILE --by NAME",
		Short: "Approve the exact bytes of a purpose config (SHA-256), optionally signed with an Ed25519 key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, l, err := openLedger(g)
			if err != nil {
				return err
			}
			var key ed25519.PrivateKey
			if signKey != "" {
				if key, err = purpose.LoadSigningKey(signKey); err != nil {
					return err
				}
			}
			a, err := l.Approve(args[0], by, key, time.Now())
			if err != nil {
				return err
			}
			signed := "unsigned"
			if a.Signature != "" {
				signed = "signed"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "approved %s (%s) by %s, %s: sha256 %s\n", a.ID, a.Title, a.By, signed, a.SHA256)
			return nil
		},
	}
	cmd.Flags().StringVar(&by, "by", "", "`NAME` of the approving IG lead (required)")
	cmd.Flags().StringVar(&signKey, "sign-key", "", "sign with the Ed25519 private key `FILE` made by purpose keygen")
	cmd.MarkFlagRequired("by")
	return cmd
}

func newPurposeRevokeCmd(g *globals) *cobra.Command {
	var by, reason string
	cmd := &cobra.Command{
		Use:   "revoke ID --by NAME --reason TEXT",
		Short: "Revoke a purpose's approval and remove its data: nothing runs under it until it is approved again",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, l, err := openLedger(g)
			if err != nil {
				return err
			}
			r, err := l.Revoke(args[0], by, reason, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %s by %s: %s (its data in the lake is removed)\n", r.ID, r.By, r.Reason)
			return nil
		},
	}
	cmd.Flags().StringVar(&by, "by", "", "`NAME` of the revoking IG lead (required)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required; recorded in the ledger and the audit log)")
	cmd.MarkFlagRequired("by")
	cmd.MarkFlagRequired("reason")
	return cmd
}

// purposeJSON is a purpose's state in list and show --json.
type purposeJSON struct {
	ID         string    `json:"id"`
	Title      string    `json:"title"`
	Status     string    `json:"status"`
	Reason     string    `json:"reason"`
	File       string    `json:"file"`
	SHA256     string    `json:"sha256,omitempty"`
	ApprovedBy string    `json:"approved_by,omitempty"`
	ApprovedAt time.Time `json:"approved_at,omitzero"`
	Signed     bool      `json:"signed"`
	RevokedBy  string    `json:"revoked_by,omitempty"`
	ValidFrom  string    `json:"valid_from,omitempty"`
	ValidUntil string    `json:"valid_until,omitempty"`
}

func toJSON(st *purpose.State) purposeJSON {
	j := purposeJSON{ID: st.ID, Title: st.Title, Status: string(st.Status), Reason: st.Reason, File: st.File}
	if st.Record != nil {
		a := st.Record.Approval
		j.SHA256, j.ApprovedBy, j.ApprovedAt, j.Signed = a.SHA256, a.By, a.At, a.Signature != ""
		if st.Record.Revoked != nil {
			j.RevokedBy = st.Record.Revoked.By
		}
	}
	if st.Config != nil {
		j.ValidFrom, j.ValidUntil = st.Config.ValidFrom.String(), st.Config.ValidUntil.String()
	}
	return j
}

func newPurposeListCmd(g *globals) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List purposes with their status: draft, approved, changed since approval, expired, not yet valid, revoked",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, l, err := openLedger(g)
			if err != nil {
				return err
			}
			states, err := l.List(time.Now())
			if err != nil {
				return err
			}
			if jsonOut {
				out := make([]purposeJSON, len(states))
				for i, st := range states {
					out[i] = toJSON(st)
				}
				return writeJSON(cmd.OutOrStdout(), out)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATUS\tTITLE\tWHY")
			for _, st := range states {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", st.ID, st.Status, st.Title, st.Reason)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print as JSON")
	return cmd
}

func newPurposeShowCmd(g *globals) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a purpose: status, approval, what it may see and its last materialisation",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ws, l, err := openLedger(g)
			if err != nil {
				return err
			}
			st, err := l.State(args[0], time.Now())
			if err != nil {
				return err
			}
			run := lastRun(ws, st.ID)
			if jsonOut {
				return writeJSON(cmd.OutOrStdout(), struct {
					purposeJSON
					LastRun json.RawMessage `json:"last_materialisation,omitempty"`
				}{toJSON(st), run})
			}
			return writeState(cmd.OutOrStdout(), st, run)
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print as JSON")
	return cmd
}

// lastRun returns the manifest of the purpose's materialised data, or nil.
func lastRun(ws *workspace.Workspace, id string) json.RawMessage {
	b, err := os.ReadFile(filepath.Join(purpose.Dir(ws.LakeDir(), id), purpose.ManifestFile))
	if err != nil || !json.Valid(b) {
		return nil
	}
	return b
}

func writeState(w io.Writer, st *purpose.State, run json.RawMessage) error {
	fmt.Fprintf(w, "%s: %s\n", st.ID, st.Title)
	fmt.Fprintf(w, "  status       %s (%s)\n", st.Status, st.Reason)
	fmt.Fprintf(w, "  file         %s\n", st.File)
	if st.Record != nil {
		a := st.Record.Approval
		signed := "unsigned"
		if a.Signature != "" {
			signed = "signed with Ed25519"
		}
		fmt.Fprintf(w, "  approved     by %s at %s, %s\n  sha256       %s\n", a.By, a.At.Format(time.RFC3339), signed, a.SHA256)
	}
	if c := st.Config; c != nil {
		fmt.Fprintf(w, "  controller   %s\n", c.Controller)
		fmt.Fprintf(w, "  legal basis  Article %s (%s); Article %s (%s)\n", c.Article6, purpose.BasisName(c.Article6), c.Article9, purpose.BasisName(c.Article9))
		fmt.Fprintf(w, "  category     %s (opt-outs applied: %v)\n", c.Category, c.AppliesOptOuts())
		for _, d := range c.Datasets {
			fmt.Fprintf(w, "  table        %s: %s\n", d.Table, strings.Join(d.Columns, ", "))
		}
		sensitive := "none"
		if len(c.Sensitive) > 0 {
			s := make([]string, len(c.Sensitive))
			for i, x := range c.Sensitive {
				s[i] = string(x)
			}
			sensitive = strings.Join(s, ", ")
		}
		fmt.Fprintf(w, "  sensitive    %s admitted\n", sensitive)
		fmt.Fprintf(w, "  generalise   date of birth: %s; postcode: %s\n", c.DateOfBirth, c.Postcode)
		fmt.Fprintf(w, "  output       rows: %s; suppression: %s\n", c.Rows, c.Suppression)
		fmt.Fprintf(w, "  access       users: %s; roles: %s\n", strings.Join(c.Users, ", "), strings.Join(c.Roles, ", "))
		fmt.Fprintf(w, "  valid        %s to %s\n", c.ValidFrom, c.ValidUntil)
	}
	if run != nil {
		var r purpose.Run
		if json.Unmarshal(run, &r) == nil {
			fmt.Fprintf(w, "  data         made %s: %d people, about %d removed by opt-outs\n", r.AsOf, r.People, r.RemovedByOptOut)
		}
	}
	return nil
}

func newPurposeDiffCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "diff ID|FILE",
		Short: "Show how a purpose's config differs from its approved version (unified diff)",
		Long: `diff compares the approved bytes of a purpose with its approved file as it is
now (diff ID), or with another file holding a new version (diff FILE, whose
id names the purpose). It prints nothing when they are the same.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, l, err := openLedger(g)
			if err != nil {
				return err
			}
			id, file := args[0], ""
			// An argument that names a file, or cannot be an id, is a file.
			if _, statErr := os.Stat(args[0]); statErr == nil || !purpose.ValidID(args[0]) {
				c, _, err := purpose.LoadFile(args[0])
				if err != nil {
					return err
				}
				id, file = c.ID, args[0]
			}
			d, err := l.Diff(id, file)
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), d)
			return nil
		},
	}
}

func newPurposeKeygenCmd(g *globals) *cobra.Command {
	var out string
	var trust bool
	cmd := &cobra.Command{
		Use:   "keygen NAME --out DIR",
		Short: "Make an IG lead's Ed25519 key pair for signing approvals (DIR/NAME.key, DIR/NAME.pub)",
		Long: `keygen writes DIR/NAME.key (the private key, mode 0600: keep it with the IG
lead, off the server if you can) and DIR/NAME.pub. Approvals signed with the
key are trusted once NAME.pub is in the workspace's signing_keys directory;
--trust copies it there.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			priv, pub, err := purpose.GenerateSigningKey(out, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "private key %s\npublic key  %s\n", priv, pub)
			if !trust {
				return nil
			}
			ws, err := workspace.Open(g.workspace)
			if err != nil {
				return err
			}
			b, err := os.ReadFile(pub)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(ws.SigningKeysDir(), 0o700); err != nil {
				return err
			}
			dst := filepath.Join(ws.SigningKeysDir(), filepath.Base(pub))
			if err := os.WriteFile(dst, b, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "trusted     %s\n", dst)
			return appendAudit(ws, "purpose.trust-key", map[string]any{"file": dst})
		},
	}
	cmd.Flags().StringVar(&out, "out", ".", "`DIR` to write the key pair to")
	cmd.Flags().BoolVar(&trust, "trust", false, "also copy the public key into the workspace's signing_keys directory")
	return cmd
}

func newPurposeMaterialiseCmd(g *globals, rotate bool) *cobra.Command {
	var jsonOut bool
	var as string
	use, short := "materialise ID", "Write the purpose's data into lake/purposes/ID/: its tables and columns, opt-outs removed, its own pseudonyms"
	if rotate {
		use, short = "rotate-key ID", "Give the purpose a new key and re-materialise its data under it (every pseudonym changes)"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ws, err := workspace.Open(g.workspace)
			if err != nil {
				return err
			}
			opts := purpose.MaterialiseOptions{Actor: as, Now: time.Now(), Log: g.logger}
			if !jsonOut {
				if bar := newStepBar(cmd.ErrOrStderr(), "materialise "+args[0]); bar != nil {
					opts.Progress = func(step string, done, total int) {
						bar.ChangeMax(total)
						bar.Describe("materialise " + args[0] + ": " + step)
						bar.Set(done)
					}
					defer bar.Finish()
				}
			}
			do := purpose.Materialise
			if rotate {
				do = purpose.RotateKey
			}
			r, err := do(cmd.Context(), ws, args[0], opts)
			if err != nil {
				return err
			}
			if jsonOut {
				return writeJSON(cmd.OutOrStdout(), r)
			}
			return writeRun(cmd.OutOrStdout(), r)
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the run as JSON")
	cmd.Flags().StringVar(&as, "as", audit.CurrentActor(), "`NAME` recorded in the audit log as running it")
	return cmd
}

func writeRun(w io.Writer, r *purpose.Run) error {
	fmt.Fprintf(w, "purpose %s materialised in %s (%.1fs)\n", r.Purpose, r.Dir, r.Seconds)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "table\trows\t")
	for _, t := range sortedTables(r) {
		fmt.Fprintf(tw, "%s\t%d\t\n", t, r.Tables[models.Table(t)])
	}
	tw.Flush()
	fmt.Fprintf(w, "people: %d\n", r.People)
	if !r.OptOutsApplied {
		fmt.Fprintln(w, "opt-outs: not applied (direct care)")
		return nil
	}
	for _, reg := range r.Registers {
		fmt.Fprintf(w, "%s opt-out register: %s list as of %s\n", reg.Kind, reg.List, reg.AsOf)
	}
	fmt.Fprintf(w, "removed by opt-outs: about %d (rounded to 5)\n", r.RemovedByOptOut)
	fmt.Fprintf(w, "kept without an NHS number to check: about %d (rounded to 5)\n", r.Unverifiable)
	return nil
}

func sortedTables(r *purpose.Run) []string {
	out := make([]string, 0, len(r.Tables))
	for t := range r.Tables {
		out = append(out, string(t))
	}
	slices.Sort(out)
	return out
}
