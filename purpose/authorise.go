package purpose

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pophealth/pophealth/web"
	"github.com/pophealth/pophealth/workspace"
)

// ErrRefused is wrapped by every refusal from Authorise.
var ErrRefused = errors.New("purpose refused")

// RefusalError says why a purpose may not run, in words for the person who
// asked. errors.Is(err, ErrRefused) holds for it.
type RefusalError struct {
	ID     string
	Status Status // the purpose's status; approved when the user is refused
	Reason string
	cause  error
}

// Error says which purpose was refused and why.
func (e *RefusalError) Error() string { return fmt.Sprintf("purpose %s refused: %s", e.ID, e.Reason) }

// Is makes errors.Is(err, ErrRefused) true.
func (e *RefusalError) Is(target error) bool { return target == ErrRefused }

// Unwrap returns the underlying cause (ErrBadSignature, ...), if any.
func (e *RefusalError) Unwrap() error { return e.cause }

// Approved is a purpose that may run now, for one user: the approved
// config, the approval it rests on and the user it was checked for.
type Approved struct {
	Config   *Config
	Approval *Approval
	User     string
}

// Authorise is the gate every run under a purpose passes first
// (materialisation, analysts' SQL, cohort runs). It returns the approved
// config when, on now's date,
//
//   - the ledger's hash chain is intact and holds an approval of id that
//     was not revoked afterwards;
//   - the approved file's bytes still hash to the approved SHA-256;
//   - the date is within valid_from..valid_until;
//   - a signed approval verifies under a trusted IG key (and an unsigned
//     one is refused when the workspace requires signatures);
//   - user is named in the purpose's access.users or holds one of its
//     access.roles in the workspace's users file.
//
// Otherwise it returns a *RefusalError saying which rule failed. Authorise
// does not audit; callers audit the run it allows.
func Authorise(ws *workspace.Workspace, id, user string, now time.Time) (*Approved, error) {
	ap, err := Check(ws, id, now)
	if err != nil {
		return nil, err
	}
	ok, err := mayUse(ws, ap.Config, user)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &RefusalError{ID: id, Status: StatusApproved, Reason: fmt.Sprintf("user %q is not among the purpose's users or roles", user)}
	}
	ap.User = user
	return ap, nil
}

// Check applies every rule of Authorise except the user's: it is the gate
// for work done for a purpose rather than by one of its users (the
// scheduled materialisation, run by an operator).
func Check(ws *workspace.Workspace, id string, now time.Time) (*Approved, error) {
	l, err := OpenLedger(ws)
	if err != nil {
		return nil, err
	}
	st, err := l.State(id, now)
	if err != nil {
		return nil, &RefusalError{ID: id, Reason: err.Error(), cause: err}
	}
	if st.Status != StatusApproved {
		return nil, &RefusalError{ID: id, Status: st.Status, Reason: st.Reason}
	}
	a := st.Record.Approval
	if a.Signature != "" {
		trusted, err := trustedKeys(ws.SigningKeysDir())
		if err != nil {
			return nil, err
		}
		if err := verifyApproval(a, trusted); err != nil {
			return nil, &RefusalError{ID: id, Status: st.Status, Reason: err.Error(), cause: err}
		}
	} else if ws.Config.Purposes.RequireSignature {
		return nil, &RefusalError{ID: id, Status: st.Status, Reason: "the approval is not signed and this workspace requires signed approvals (approve again with --sign-key)"}
	}
	return &Approved{Config: st.Config, Approval: a}, nil
}

// mayUse reports whether user is named by the config or holds one of its
// roles in the workspace's users file (package web's accounts).
func mayUse(ws *workspace.Workspace, c *Config, user string) (bool, error) {
	if user == "" {
		return false, nil
	}
	if slices.Contains(c.Users, user) {
		return true, nil
	}
	if len(c.Roles) == 0 {
		return false, nil
	}
	users, err := web.LoadUsers(ws.UsersPath())
	if err != nil {
		return false, fmt.Errorf("purpose %s: roles: %w", c.ID, err)
	}
	u := users.Find(user)
	if u == nil {
		return false, nil
	}
	return slices.ContainsFunc(c.Roles, func(r string) bool { return u.Has(web.Role(r)) }), nil
}
