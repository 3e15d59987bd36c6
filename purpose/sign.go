package purpose

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// GenerateSigningKey makes an IG lead's Ed25519 key pair: dir/name.key
// (the private key, PKCS #8 PEM, mode 0600; it stays with the IG lead) and
// dir/name.pub (PKIX PEM, to copy into the workspace's signing_keys
// directory so that approvals signed with it are trusted). Both files are
// the formats openssl reads. It refuses to replace existing files.
func GenerateSigningKey(dir, name string) (privPath, pubPath string, err error) {
	if !ValidID(name) {
		return "", "", fmt.Errorf("signing key name %q: want lower-case letters, digits and hyphens", name)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("generate signing key: %w", err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", "", fmt.Errorf("encode signing key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", "", fmt.Errorf("encode public key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("signing key: %w", err)
	}
	privPath, pubPath = filepath.Join(dir, name+".key"), filepath.Join(dir, name+".pub")
	if err := writeNew(privPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), 0o600); err != nil {
		return "", "", err
	}
	if err := writeNew(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		os.Remove(privPath)
		return "", "", err
	}
	return privPath, pubPath, nil
}

// writeNew creates path with data, refusing to replace an existing file.
func writeNew(path string, data []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return f.Close()
}

// LoadSigningKey reads a private key written by GenerateSigningKey,
// refusing one that group or others may read.
func LoadSigningKey(path string) (ed25519.PrivateKey, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("signing key %s has mode %#o: must not be readable by group or others (chmod 600)", path, perm)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("signing key %s: not a PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing key %s: %T is not an Ed25519 key", path, k)
	}
	return priv, nil
}

// trustedKeys reads every *.pub in dir; a missing dir trusts nobody.
func trustedKeys(dir string) (map[string]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.pub"))
	if err != nil {
		return nil, err
	}
	out := map[string]string{} // base64 raw public key -> file
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("trusted key: %w", err)
		}
		block, _ := pem.Decode(data)
		if block == nil || block.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("trusted key %s: not a PEM public key", f)
		}
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("trusted key %s: %w", f, err)
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("trusted key %s: %T is not an Ed25519 key", f, k)
		}
		out[base64.StdEncoding.EncodeToString(pub)] = f
	}
	return out, nil
}

// approvalMessage is what an approval signature covers: the purpose, the
// exact config bytes (by hash), who approved and when.
func approvalMessage(id, sha string, by string, at time.Time) []byte {
	return fmt.Appendf(nil, "pophealth purpose approval v1\nid=%s\nsha256=%s\nby=%s\nat=%s\n", id, sha, by, at.UTC().Format(time.RFC3339Nano))
}

// ErrBadSignature is wrapped by Authorise's refusal when an approval's
// signature does not verify or its key is not trusted.
var ErrBadSignature = errors.New("approval signature does not verify")

// verifyApproval checks a signed approval against the trusted keys.
func verifyApproval(a *Approval, trusted map[string]string) error {
	file, ok := trusted[a.PublicKey]
	if !ok {
		return fmt.Errorf("%w: signed with a key that is not among the trusted IG keys", ErrBadSignature)
	}
	pub, err := base64.StdEncoding.DecodeString(a.PublicKey)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: malformed public key", ErrBadSignature)
	}
	sig, err := base64.StdEncoding.DecodeString(a.Signature)
	if err != nil || !ed25519.Verify(pub, approvalMessage(a.ID, a.SHA256, a.By, a.At), sig) {
		return fmt.Errorf("%w under %s", ErrBadSignature, filepath.Base(file))
	}
	return nil
}
