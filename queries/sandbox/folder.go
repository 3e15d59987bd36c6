package sandbox

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
)

// folder is a purpose folder as found at Open: its resolved root and its
// tables.
type folder struct {
	root   string
	tables []table
}

// table is one table directory and the resolved paths of its Parquet files.
type table struct {
	name  string
	files []string
}

// tableNameRe is what a table directory must be called to become a view:
// a plain lower-case SQL identifier, so the name needs no quoting to be
// typed and cannot look like a file.
var tableNameRe = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// scanFolder resolves dir and lists its tables. Entries whose names start
// with "." or "_" are skipped at every level (temporary and bookkeeping
// files of the writer). It refuses a folder holding a symlink whose target
// lies outside it, a symlink to a directory, or a Parquet file with more
// than one hard link (which may be another name for a file outside).
func scanFolder(dir string) (*folder, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("sandbox: purpose folder %s: %w", dir, err)
	}
	root, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("sandbox: purpose folder %s: %w", dir, err)
	}
	if info, err := os.Stat(root); err != nil {
		return nil, fmt.Errorf("sandbox: purpose folder %s: %w", dir, err)
	} else if !info.IsDir() {
		return nil, fmt.Errorf("sandbox: purpose folder %s is not a directory", dir)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("sandbox: purpose folder %s: %w", dir, err)
	}
	f := &folder{root: root}
	for _, e := range entries {
		name := e.Name()
		switch {
		case skipped(name):
			continue
		case e.Type()&fs.ModeSymlink != 0:
			return nil, fmt.Errorf("sandbox: purpose folder %s: %s is a symlink; table directories must be real directories", dir, name)
		case !e.IsDir():
			continue
		case !tableNameRe.MatchString(name):
			return nil, fmt.Errorf("sandbox: purpose folder %s: table directory %q is not a lower-case SQL identifier", dir, name)
		}
		files, err := parquetFiles(root, filepath.Join(root, name))
		if err != nil {
			return nil, fmt.Errorf("sandbox: purpose folder %s: %w", dir, err)
		}
		if len(files) > 0 {
			f.tables = append(f.tables, table{name: name, files: files})
		}
	}
	return f, nil
}

// parquetFiles walks one table directory without following symlinks and
// returns the resolved path of every Parquet file in it, sorted.
func parquetFiles(root, dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != dir && skipped(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), ".parquet") && d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		real, err := filepath.EvalSymlinks(path)
		if err != nil {
			return fmt.Errorf("%s: %w", rel(root, path), err)
		}
		if !inside(root, real) {
			return fmt.Errorf("%s is a symlink to %s, outside the purpose folder", rel(root, path), real)
		}
		info, err := os.Stat(real)
		if err != nil {
			return fmt.Errorf("%s: %w", rel(root, path), err)
		}
		switch {
		case info.IsDir():
			return fmt.Errorf("%s is a symlink to a directory; table files must be real files", rel(root, path))
		case !info.Mode().IsRegular():
			return fmt.Errorf("%s is not a regular file", rel(root, path))
		case !strings.HasSuffix(real, ".parquet"):
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			return fmt.Errorf("%s has %d hard links; a purpose file must have exactly one name", rel(root, path), st.Nlink)
		}
		files = append(files, real)
		return nil
	})
	slices.Sort(files)
	return slices.Compact(files), err
}

// skipped reports whether a directory entry is bookkeeping, not data.
func skipped(name string) bool { return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") }

// inside reports whether path lies within root (both resolved).
func inside(root, path string) bool {
	r, err := filepath.Rel(root, path)
	return err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) && !filepath.IsAbs(r)
}

func rel(root, path string) string {
	if r, err := filepath.Rel(root, path); err == nil {
		return r
	}
	return path
}
