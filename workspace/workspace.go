// Package workspace is the directory that holds one pophealth deployment:
// its configuration, secret keys, data lake and audit log. Every command
// takes --workspace and opens it through this package, so where things live
// is decided in one place:
//
//	pophealth.yaml      configuration (see Config)
//	keys/               secret keys, directory mode 0700, files 0600
//	lake/               the Parquet lake (see package lake)
//	audit/audit.log     the hash-chained audit log (see package audit)
//	reference/imd.csv   the deprivation lookup (see package deprivation)
package workspace

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/pophealth/pophealth/deprivation"
	"github.com/pophealth/pophealth/pseudonymise"
)

// ConfigFile is the name of the configuration file in a workspace.
const ConfigFile = "pophealth.yaml"

// LakeKeyEnv names the environment variable that, when set, supplies the
// lake key in hex instead of keys/lake.key.
const LakeKeyEnv = "POPHEALTH_LAKE_KEY"

//go:embed pophealth.example.yaml
var exampleConfig []byte

// Config is the workspace configuration. Paths are relative to the workspace.
type Config struct {
	// Version is the configuration format version; 1 today.
	Version int `yaml:"version"`
	// Lake is the directory of the Parquet lake.
	Lake string `yaml:"lake"`
	// Keys is the directory of secret keys.
	Keys string `yaml:"keys"`
	// AuditLog is the path of the hash-chained audit log.
	AuditLog string `yaml:"audit_log"`
	// Purposes configures purpose governance (package purpose).
	Purposes PurposesConfig `yaml:"purposes"`
	// OptOuts names the opt-out registers applied to purposes.
	OptOuts OptOutConfig `yaml:"opt_outs"`
	// DeprivationLookup is the CSV that maps LSOAs to IMD deciles at
	// ingest (docs/deprivation.md). Init writes the synthetic one there.
	DeprivationLookup string `yaml:"deprivation_lookup"`
}

// PurposesConfig says where purpose configs, their approval ledger and
// their keys live.
type PurposesConfig struct {
	// Dir holds the purpose config files (<id>.yaml) and the approval
	// ledger (ledger.log).
	Dir string `yaml:"dir"`
	// Keys holds one key per purpose (<id>.key, 0600), outside the lake.
	Keys string `yaml:"keys"`
	// SigningKeys holds the IG leads' trusted Ed25519 public keys (*.pub);
	// an approval's signature must verify under one of them.
	SigningKeys string `yaml:"signing_keys"`
	// RequireSignature refuses to run a purpose whose approval is unsigned.
	RequireSignature bool `yaml:"require_signature"`
}

// OptOutConfig names the opt-out registers (format: docs/purposes.md).
type OptOutConfig struct {
	// National is the national data opt-out register file.
	National string `yaml:"national"`
	// Type1 is the Type 1 (GP) opt-out register file.
	Type1 string `yaml:"type1"`
	// MaxAgeDays is how old (by its as-of date) a register may be before
	// purposes that apply it refuse to run.
	MaxAgeDays int `yaml:"max_age_days"`
}

// Workspace is an opened workspace.
type Workspace struct {
	Dir    string
	Config Config
}

// defaults returns the configuration init writes.
func defaults() Config {
	return Config{
		Version: 1, Lake: "lake", Keys: "keys", AuditLog: "audit/audit.log", DeprivationLookup: "reference/imd.csv",
		Purposes: PurposesConfig{Dir: "purposes", Keys: "keys/purposes", SigningKeys: "keys/ig"},
		OptOuts:  OptOutConfig{National: "optouts/national.dat", Type1: "optouts/type1.dat", MaxAgeDays: 30},
	}
}

// ErrNotInitialised is returned by Open for a directory without a
// configuration file.
var ErrNotInitialised = errors.New("not a pophealth workspace")

// Init creates a workspace in dir: the configuration, a freshly generated
// lake key (mode 0600) and the lake and audit directories. It refuses a
// directory that already holds a workspace, so it never replaces a key.
func Init(dir string) (*Workspace, error) {
	cfgPath := filepath.Join(dir, ConfigFile)
	if _, err := os.Stat(cfgPath); err == nil {
		return nil, fmt.Errorf("init %s: workspace already exists", dir)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("init %s: %w", dir, err)
	}
	ws := &Workspace{Dir: dir, Config: defaults()}
	if err := os.MkdirAll(ws.path(ws.Config.Keys), 0o700); err != nil {
		return nil, fmt.Errorf("init %s: %w", dir, err)
	}
	// MkdirAll does not change the mode of an existing directory.
	if err := os.Chmod(ws.path(ws.Config.Keys), 0o700); err != nil {
		return nil, fmt.Errorf("init %s: %w", dir, err)
	}
	for _, d := range []string{ws.Config.Purposes.Keys, ws.Config.Purposes.SigningKeys} {
		if err := os.MkdirAll(ws.path(d), 0o700); err != nil {
			return nil, fmt.Errorf("init %s: %w", dir, err)
		}
	}
	for _, d := range []string{ws.Config.Lake, filepath.Dir(ws.Config.AuditLog), ws.Config.Purposes.Dir} {
		if err := os.MkdirAll(ws.path(d), 0o750); err != nil {
			return nil, fmt.Errorf("init %s: %w", dir, err)
		}
	}
	// The synthetic lookup, so that synthetic feeds get deciles; its codes
	// are never issued, so real data matches none of them until an
	// operator puts the published file in its place.
	if err := os.MkdirAll(filepath.Dir(ws.path(ws.Config.DeprivationLookup)), 0o750); err != nil {
		return nil, fmt.Errorf("init %s: %w", dir, err)
	}
	if err := os.WriteFile(ws.path(ws.Config.DeprivationLookup), deprivation.Synthetic(), 0o640); err != nil {
		return nil, fmt.Errorf("init %s: %w", dir, err)
	}
	key, err := pseudonymise.NewKey()
	if err != nil {
		return nil, err
	}
	if err := pseudonymise.WriteKeyFile(ws.LakeKeyPath(), key); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("init %s: %w", dir, err)
	}
	// The configuration is written last: its presence marks a complete
	// workspace, so an interrupted init can simply be run again.
	if err := os.WriteFile(cfgPath, exampleConfig, 0o640); err != nil {
		return nil, fmt.Errorf("init %s: %w", dir, err)
	}
	return ws, nil
}

// Open opens an initialised workspace.
func Open(dir string) (*Workspace, error) {
	cfgPath := filepath.Join(dir, ConfigFile)
	data, err := os.ReadFile(cfgPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w (run \"pophealth init --workspace %s\")", dir, ErrNotInitialised, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("open workspace: %w", err)
	}
	cfg, err := parseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	return &Workspace{Dir: dir, Config: cfg}, nil
}

func parseConfig(data []byte) (Config, error) {
	cfg := defaults()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return Config{}, err
	}
	if cfg.Version != 1 {
		return Config{}, fmt.Errorf("version %d not supported (want 1)", cfg.Version)
	}
	if cfg.OptOuts.MaxAgeDays <= 0 {
		return Config{}, fmt.Errorf("opt_outs.max_age_days: must be positive, got %d", cfg.OptOuts.MaxAgeDays)
	}
	for name, p := range map[string]string{"lake": cfg.Lake, "keys": cfg.Keys, "audit_log": cfg.AuditLog,
		"purposes.dir": cfg.Purposes.Dir, "purposes.keys": cfg.Purposes.Keys} {
		if p == "" {
			return Config{}, fmt.Errorf("%s: must not be empty", name)
		}
	}
	return cfg, nil
}

func (ws *Workspace) path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(ws.Dir, p)
}

// LakeDir returns the lake's root directory.
func (ws *Workspace) LakeDir() string { return ws.path(ws.Config.Lake) }

// KeysDir returns the keys directory.
func (ws *Workspace) KeysDir() string { return ws.path(ws.Config.Keys) }

// LakeKeyPath returns the path of the lake key file.
func (ws *Workspace) LakeKeyPath() string { return filepath.Join(ws.KeysDir(), "lake.key") }

// AuditLogPath returns the path of the audit log.
func (ws *Workspace) AuditLogPath() string { return ws.path(ws.Config.AuditLog) }

// PurposesDir returns the directory of purpose configs and the ledger.
func (ws *Workspace) PurposesDir() string { return ws.path(ws.Config.Purposes.Dir) }

// PurposeKeysDir returns the directory of per-purpose keys.
func (ws *Workspace) PurposeKeysDir() string { return ws.path(ws.Config.Purposes.Keys) }

// SigningKeysDir returns the directory of trusted IG public keys.
func (ws *Workspace) SigningKeysDir() string { return ws.path(ws.Config.Purposes.SigningKeys) }

// OptOutRegisterPath returns the path of the national ("national") or
// Type 1 ("type1") opt-out register, "" when none is configured.
func (ws *Workspace) OptOutRegisterPath(kind string) string {
	p := map[string]string{"national": ws.Config.OptOuts.National, "type1": ws.Config.OptOuts.Type1}[kind]
	if p == "" {
		return ""
	}
	return ws.path(p)
}

// UsersPath returns the path of the accounts file (package web), which
// gives people their roles.
func (ws *Workspace) UsersPath() string { return filepath.Join(ws.Dir, "users.yaml") }

// DeprivationLookupPath returns the path of the deprivation lookup, or ""
// when the configuration names none.
func (ws *Workspace) DeprivationLookupPath() string {
	if ws.Config.DeprivationLookup == "" {
		return ""
	}
	return ws.path(ws.Config.DeprivationLookup)
}

// DeprivationLookup reads the deprivation lookup. It returns nil and no
// error when the configuration names none or the file does not exist:
// ingest then records no deciles and says how many LSOAs went unmatched.
func (ws *Workspace) DeprivationLookup() (*deprivation.Lookup, error) {
	p := ws.DeprivationLookupPath()
	if p == "" {
		return nil, nil
	}
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return deprivation.ReadFile(p)
}

// LakeKey loads the lake key from LakeKeyEnv or the key file.
func (ws *Workspace) LakeKey() (pseudonymise.Key, error) {
	return pseudonymise.LoadKeyFrom(LakeKeyEnv, ws.LakeKeyPath())
}
