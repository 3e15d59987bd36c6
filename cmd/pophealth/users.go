package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/pophealth/pophealth/web"
	"github.com/pophealth/pophealth/workspace"
)

// usersFile is the web front's accounts file in a workspace.
const usersFile = "users.yaml"

func usersPath(ws *workspace.Workspace) string { return filepath.Join(ws.Dir, usersFile) }

func newUsersCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "users",
		Short: "Manage the web front's accounts (WORKSPACE/users.yaml)",
		Long: `users edits WORKSPACE/users.yaml, the accounts of the web front that
"pophealth serve" runs. Each account has one or more roles:

  commissioner  reads the reports published under the purposes named with --purpose
  ig_lead       sees purposes, their approval status and the audit trail
  operator      sees the jobs, their schedules, runs and failures

Passwords (at least 12 characters) are stored as bcrypt hashes; the file is
kept mode 0600. In reverse-proxy sign-in mode (serve --auth proxy-header)
accounts need no password (--no-password): the proxy vouches for the
person, the file gives their roles.`,
	}
	cmd.AddCommand(newUsersAddCmd(g), newUsersListCmd(g), newUsersRemoveCmd(g))
	return cmd
}

// openUsers opens the workspace and its accounts file.
func openUsers(g *globals) (*workspace.Workspace, *web.Users, error) {
	ws, err := workspace.Open(g.workspace)
	if err != nil {
		return nil, nil, err
	}
	u, err := web.LoadUsers(usersPath(ws))
	return ws, u, err
}

func newUsersAddCmd(g *globals) *cobra.Command {
	var (
		roles, purposes         []string
		passwordStdin, noPasswd bool
	)
	cmd := &cobra.Command{
		Use:   "add NAME --role ROLE [--purpose ID]...",
		Short: "Add an account, or replace the roles, purposes and password of an existing one",
		Example: `  pophealth users add alice --role commissioner --purpose diabetes-planning
  echo "$PASSWORD" | pophealth users add olive --role operator --password-stdin
  pophealth users add ian --role ig_lead --no-password     # reverse-proxy sign-in only`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ws, users, err := openUsers(g)
			if err != nil {
				return err
			}
			u := web.User{Name: args[0], Purposes: purposes}
			for _, r := range roles {
				u.Roles = append(u.Roles, web.Role(r))
			}
			if len(purposes) > 0 && !u.Has(web.Commissioner) {
				return errors.New("--purpose is for commissioners: it names the purposes whose reports they may read")
			}
			var password string
			switch {
			case noPasswd && passwordStdin:
				return errors.New("--no-password and --password-stdin exclude each other")
			case passwordStdin:
				line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if err != nil && line == "" {
					return fmt.Errorf("--password-stdin: %w", err)
				}
				password = strings.TrimRight(line, "\r\n")
			case !noPasswd:
				if password, err = promptPassword(cmd); err != nil {
					return err
				}
			}
			if err := users.Set(u, password); err != nil {
				return fmt.Errorf("user %s: %w", u.Name, err)
			}
			if err := users.Save(usersPath(ws)); err != nil {
				return err
			}
			if err := appendAudit(ws, "users.add", map[string]any{"user": u.Name, "roles": roles, "purposes": purposes, "password": password != ""}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "user %s saved in %s\n", u.Name, usersPath(ws))
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&roles, "role", nil, "`ROLE`: commissioner, ig_lead or operator (repeat or comma-separate for several)")
	cmd.Flags().StringSliceVar(&purposes, "purpose", nil, "purpose `ID` whose reports a commissioner may read (repeatable)")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	cmd.Flags().BoolVar(&noPasswd, "no-password", false, "no password: the account signs in only through the reverse proxy")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

// promptPassword asks for a password twice on the terminal.
func promptPassword(cmd *cobra.Command) (string, error) {
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", errors.New("no terminal to ask for a password: use --password-stdin or --no-password")
	}
	ask := func(prompt string) (string, error) {
		fmt.Fprint(cmd.ErrOrStderr(), prompt)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(cmd.ErrOrStderr())
		return string(b), err
	}
	p1, err := ask("Password: ")
	if err != nil {
		return "", err
	}
	p2, err := ask("Again: ")
	if err != nil {
		return "", err
	}
	if p1 != p2 {
		return "", errors.New("the passwords differ")
	}
	return p1, nil
}

func newUsersListCmd(g *globals) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the accounts with their roles and purposes (never their hashes)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, users, err := openUsers(g)
			if err != nil {
				return err
			}
			type listed struct {
				Name     string     `json:"name"`
				Roles    []web.Role `json:"roles"`
				Purposes []string   `json:"purposes,omitempty"`
				Password bool       `json:"password"`
			}
			out := []listed{}
			for _, u := range users.Users {
				out = append(out, listed{u.Name, u.Roles, u.Purposes, u.PasswordHash != ""})
			}
			if jsonOut {
				return writeJSON(cmd.OutOrStdout(), out)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "USER\tROLES\tPURPOSES\tPASSWORD")
			for _, u := range out {
				roles := make([]string, len(u.Roles))
				for i, r := range u.Roles {
					roles[i] = string(r)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%v\n", u.Name, strings.Join(roles, ","), dash(strings.Join(u.Purposes, ",")), u.Password)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the accounts as JSON")
	return cmd
}

func newUsersRemoveCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove an account; its sessions end at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ws, users, err := openUsers(g)
			if err != nil {
				return err
			}
			if users.Find(args[0]) == nil {
				return fmt.Errorf("no user %q in %s", args[0], usersPath(ws))
			}
			users.Remove(args[0])
			if err := users.Save(usersPath(ws)); err != nil {
				return err
			}
			return appendAudit(ws, "users.remove", map[string]any{"user": args[0]})
		},
	}
}
