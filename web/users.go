package web

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/bcrypt"
)

// Role is what a person may do in the web front. A person may hold several.
type Role string

// The roles of DESIGN.md's user table. Analysts work through `pophealth sql`,
// not the web front.
const (
	// Commissioner reads the reports of the purposes they are named on.
	Commissioner Role = "commissioner"
	// IGLead sees purposes with their approval status and the audit trail.
	IGLead Role = "ig_lead"
	// Operator sees jobs, schedules, runs and failures.
	Operator Role = "operator"
)

// Roles lists every role, in the order pages show them.
var Roles = []Role{Commissioner, IGLead, Operator}

// User is one local account.
type User struct {
	Name  string `yaml:"name"`
	Roles []Role `yaml:"roles"`
	// Purposes are the purpose ids whose reports a commissioner may read.
	Purposes []string `yaml:"purposes,omitempty"`
	// PasswordHash is a bcrypt hash; empty for accounts that only sign in
	// through a trusted reverse proxy.
	PasswordHash string `yaml:"password_hash,omitempty"`
}

// Has reports whether u holds role r.
func (u *User) Has(r Role) bool { return slices.Contains(u.Roles, r) }

// MayReadPurpose reports whether u may read reports made under purpose id.
func (u *User) MayReadPurpose(id string) bool {
	return u.Has(Commissioner) && slices.Contains(u.Purposes, id)
}

// Users is the accounts file, WORKSPACE/users.yaml (mode 0600: it holds
// password hashes).
type Users struct {
	Users []User `yaml:"users"`

	dummyOnce sync.Once
	dummy     []byte // a hash of a random password, see Authenticate
	cost      int    // bcrypt cost; 0 means bcryptCost (tests lower it)
}

func (u *Users) bcryptCost() int {
	if u.cost == 0 {
		return bcryptCost
	}
	return u.cost
}

// bcryptCost is above bcrypt's default of 10: sign-ins are rare and the
// file may leak with a backup.
const bcryptCost = 12

// MinPasswordLength follows NCSC guidance for passwords people choose.
const MinPasswordLength = 12

// LoadUsers reads the accounts file. A missing file is an empty set of
// accounts, so that nobody can sign in until an operator adds one.
func LoadUsers(path string) (*Users, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Users{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("users file %s has mode %#o: it holds password hashes, chmod 600", path, info.Mode().Perm())
	}
	var u Users
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&u); err != nil {
		return nil, fmt.Errorf("users file %s: %w", path, err)
	}
	seen := map[string]bool{}
	for i, x := range u.Users {
		if err := validName(x.Name); err != nil {
			return nil, fmt.Errorf("users file %s: user %d: %w", path, i+1, err)
		}
		if seen[x.Name] {
			return nil, fmt.Errorf("users file %s: user %q listed twice", path, x.Name)
		}
		seen[x.Name] = true
		for _, r := range x.Roles {
			if !slices.Contains(Roles, r) {
				return nil, fmt.Errorf("users file %s: user %q: unknown role %q (want one of %v)", path, x.Name, r, Roles)
			}
		}
	}
	return &u, nil
}

// Save writes the accounts file atomically with mode 0600.
func (u *Users) Save(path string) error {
	data, err := yaml.Marshal(u)
	if err != nil {
		return fmt.Errorf("users: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".users-*.yaml")
	if err != nil {
		return fmt.Errorf("users: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append([]byte("# pophealth web accounts: edit with \"pophealth users\".\n"), data...)); err != nil {
		tmp.Close()
		return fmt.Errorf("users: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("users: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("users: %w", err)
	}
	return os.Rename(tmp.Name(), path) // CreateTemp made it 0600
}

// Find returns the user called name, or nil.
func (u *Users) Find(name string) *User {
	for i := range u.Users {
		if u.Users[i].Name == name {
			return &u.Users[i]
		}
	}
	return nil
}

// Set adds or replaces the account called user.Name. A non-empty password
// is hashed; an empty one keeps the account's existing hash (or none, for a
// proxy-only account).
func (u *Users) Set(user User, password string) error {
	if err := validName(user.Name); err != nil {
		return err
	}
	for _, r := range user.Roles {
		if !slices.Contains(Roles, r) {
			return fmt.Errorf("unknown role %q (want one of %v)", r, Roles)
		}
	}
	if len(user.Roles) == 0 {
		return errors.New("an account needs at least one role")
	}
	old := u.Find(user.Name)
	if password != "" {
		if len([]rune(password)) < MinPasswordLength {
			return fmt.Errorf("password too short: at least %d characters", MinPasswordLength)
		}
		h, err := bcrypt.GenerateFromPassword([]byte(password), u.bcryptCost())
		if err != nil {
			return fmt.Errorf("hash password: %w", err)
		}
		user.PasswordHash = string(h)
	} else if old != nil {
		user.PasswordHash = old.PasswordHash
	}
	if old != nil {
		*old = user
		return nil
	}
	u.Users = append(u.Users, user)
	return nil
}

// Remove deletes the account called name, if there is one. A removed
// person's sessions stop working at their next request.
func (u *Users) Remove(name string) {
	u.Users = slices.DeleteFunc(u.Users, func(x User) bool { return x.Name == name })
}

// Authenticate returns the user when name and password match, else nil.
// It spends the same bcrypt time for an unknown name as for a wrong
// password, so response time does not reveal which accounts exist.
func (u *Users) Authenticate(name, password string) *User {
	user := u.Find(name)
	u.dummyOnce.Do(func() {
		u.dummy, _ = bcrypt.GenerateFromPassword([]byte(rand.Text()), u.bcryptCost())
	})
	hash := u.dummy
	if user != nil && user.PasswordHash != "" {
		hash = []byte(user.PasswordHash)
	}
	err := bcrypt.CompareHashAndPassword(hash, []byte(password))
	if user == nil || user.PasswordHash == "" || err != nil {
		return nil
	}
	return user
}

func validName(name string) error {
	if name == "" || len(name) > 64 || strings.TrimSpace(name) != name || strings.ContainsAny(name, "|\x00\r\n") {
		return fmt.Errorf("invalid user name %q: 1-64 characters, no surrounding spaces, no '|' or control characters", name)
	}
	return nil
}
