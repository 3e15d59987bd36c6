package purpose

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pophealth/pophealth/pseudonymise"
	"github.com/pophealth/pophealth/workspace"
)

// KeyEnv names the environment variable that, when set, supplies purpose
// id's key in hex instead of its key file: POPHEALTH_PURPOSE_KEY_ and the
// id upper-cased with hyphens as underscores.
func KeyEnv(id string) string {
	return "POPHEALTH_PURPOSE_KEY_" + strings.ToUpper(strings.ReplaceAll(id, "-", "_"))
}

// keyPath is purpose id's key file.
func keyPath(ws *workspace.Workspace, id string) string {
	return filepath.Join(ws.PurposeKeysDir(), id+".key")
}

// checkKeysOutsideLake refuses a keys directory inside the lake: anything
// in the lake may be copied, backed up or shared with readers of data.
func checkKeysOutsideLake(ws *workspace.Workspace) error {
	keys, err := filepath.Abs(ws.PurposeKeysDir())
	if err != nil {
		return err
	}
	lakeDir, err := filepath.Abs(ws.LakeDir())
	if err != nil {
		return err
	}
	if rel, err := filepath.Rel(lakeDir, keys); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("purposes.keys %s is inside the lake %s: keys must be kept outside it", keys, lakeDir)
	}
	return nil
}

// purposeKey returns purpose id's key from its environment variable or
// key file, creating the file (crypto/rand, mode 0600, directory 0700) on
// first use.
func purposeKey(ws *workspace.Workspace, id string) (pseudonymise.Key, error) {
	if err := checkKeysOutsideLake(ws); err != nil {
		return pseudonymise.Key{}, err
	}
	if v, ok := os.LookupEnv(KeyEnv(id)); ok && v != "" {
		return pseudonymise.LoadKeyFrom(KeyEnv(id), "")
	}
	path := keyPath(ws, id)
	k, err := pseudonymise.LoadKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if err := os.MkdirAll(ws.PurposeKeysDir(), 0o700); err != nil {
		return pseudonymise.Key{}, fmt.Errorf("purpose %s key: %w", id, err)
	}
	if k, err = pseudonymise.NewKey(); err != nil {
		return pseudonymise.Key{}, err
	}
	if err := pseudonymise.WriteKeyFile(path, k); err != nil {
		return pseudonymise.Key{}, fmt.Errorf("purpose %s key: %w", id, err)
	}
	return k, nil
}
