package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pophealth/pophealth/audit"
	"github.com/pophealth/pophealth/workspace"
)

func newInitCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "Create a workspace: configuration, a new lake key, lake and audit directories",
		Long: `Create a workspace directory (--workspace) holding pophealth.yaml, a freshly
generated lake key (keys/lake.key, mode 0600), the lake and the audit log.

init refuses a directory that already holds a workspace, so it can never
replace a key that existing pseudonyms depend on.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ws, err := workspace.Init(g.workspace)
			if err != nil {
				return err
			}
			if err := appendAudit(ws, "init", map[string]any{"workspace": ws.Dir}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Created workspace %s\n  config   %s\n  lake key %s (mode 0600; keep it out of backups analysts can read)\n  lake     %s\n",
				ws.Dir, workspace.ConfigFile, ws.LakeKeyPath(), ws.LakeDir())
			return nil
		},
	}
}

// appendAudit records an action in the workspace's audit log.
func appendAudit(ws *workspace.Workspace, action string, detail map[string]any) error {
	log, err := audit.Open(ws.AuditLogPath())
	if err != nil {
		return err
	}
	_, err = log.Append(audit.CurrentActor(), action, detail)
	return err
}
