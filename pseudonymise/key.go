package pseudonymise

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
)

// KeySize is the length of a pseudonymisation key in bytes: the block size
// of SHA-256's output, as RFC 2104 recommends for HMAC keys.
const KeySize = 32

// Key is a secret HMAC key. Its String, GoString and LogValue methods redact
// the key so that printing a Key, wrapping it in an error or logging it
// cannot leak it.
type Key struct {
	b [KeySize]byte
}

// NewKey returns a key from crypto/rand.
func NewKey() (Key, error) {
	var k Key
	if _, err := rand.Read(k.b[:]); err != nil {
		return Key{}, fmt.Errorf("generate key: %w", err)
	}
	return k, nil
}

// ParseKey decodes a key from its hex form, as stored in key files and
// accepted from environment variables.
func ParseKey(s string) (Key, error) {
	s = strings.TrimSpace(s)
	raw, err := hex.DecodeString(s)
	if err != nil {
		// Never echo s: it is the secret.
		return Key{}, errors.New("key is not hex")
	}
	if len(raw) != KeySize {
		return Key{}, fmt.Errorf("key has %d bytes, want %d", len(raw), KeySize)
	}
	var k Key
	copy(k.b[:], raw)
	return k, nil
}

// String redacts the key.
func (Key) String() string { return "[REDACTED KEY]" }

// GoString redacts the key for %#v.
func (Key) GoString() string { return "pseudonymise.Key{[REDACTED]}" }

// LogValue redacts the key in structured logs.
func (Key) LogValue() slog.Value { return slog.StringValue("[REDACTED KEY]") }

// WriteKeyFile creates path holding k in hex with mode 0600. It refuses to
// overwrite an existing file: replacing a key silently would orphan every
// pseudonym made with it.
func WriteKeyFile(path string, k Key) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create key file: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(k.b[:]) + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("write key file %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync key file %s: %w", path, err)
	}
	return f.Close()
}

// LoadKey reads a key file written by WriteKeyFile. It refuses a file that
// group or others may read, as ssh does for private keys, because such a key
// may already have leaked.
func LoadKey(path string) (Key, error) {
	info, err := os.Stat(path)
	if err != nil {
		return Key{}, fmt.Errorf("key file: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return Key{}, fmt.Errorf("key file %s has mode %#o: must not be readable by group or others (chmod 600)", path, perm)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Key{}, fmt.Errorf("key file: %w", err)
	}
	k, err := ParseKey(string(data))
	if err != nil {
		return Key{}, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}

// LoadKeyFrom returns the key from the environment variable env when it is
// set (for deployments that inject secrets), else from the file at path.
func LoadKeyFrom(env, path string) (Key, error) {
	if v, ok := os.LookupEnv(env); ok && v != "" {
		k, err := ParseKey(v)
		if err != nil {
			return Key{}, fmt.Errorf("environment variable %s: %w", env, err)
		}
		return k, nil
	}
	k, err := LoadKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Key{}, fmt.Errorf("%w (run \"pophealth init\" or set %s)", err, env)
	}
	return k, err
}
