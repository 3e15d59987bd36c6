package cohort

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// HeaderFile is the name of the file, beside downloaded code lists, that
// records which version of each list was downloaded: OpenSAFELY's
// codelists/codelists.txt, one list per line as ORG/SLUG/VERSION (or
// user/NAME/SLUG/VERSION), whose CSV the OpenSAFELY tools save as
// ORG-SLUG.csv. Blank lines and lines starting with # are ignored.
const HeaderFile = "codelists.txt"

// readHeader reads a header file into a map from the CSV base name a list
// is saved under (without .csv) to its version. A missing file is an empty
// map, not an error.
func readHeader(dir string) (map[string]string, error) {
	path := filepath.Join(dir, HeaderFile)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	versions := map[string]string{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		parts := strings.Split(strings.Trim(s, "/"), "/")
		if len(parts) < 3 || slicesContainEmpty(parts) {
			return nil, fmt.Errorf("%s line %d: %q is not ORG/SLUG/VERSION", path, line, s)
		}
		versions[strings.Join(parts[:len(parts)-1], "-")] = parts[len(parts)-1]
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return versions, nil
}

func slicesContainEmpty(xs []string) bool {
	for _, x := range xs {
		if x == "" {
			return true
		}
	}
	return false
}
