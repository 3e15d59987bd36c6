package lake

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// RecoveryReport says what Recover did. All lists are empty when the lake
// was left clean.
type RecoveryReport struct {
	// RolledForward lists committed batches whose files Recover renamed to
	// their final names.
	RolledForward []string `json:"rolled_forward,omitempty"`
	// RolledBack lists uncommitted batches whose files Recover deleted.
	RolledBack []string `json:"rolled_back,omitempty"`
	// Removed lists the temporary files deleted, relative to the root.
	Removed []string `json:"removed,omitempty"`
}

// Empty reports whether recovery found nothing to do.
func (r RecoveryReport) Empty() bool {
	return len(r.RolledForward) == 0 && len(r.RolledBack) == 0 && len(r.Removed) == 0
}

func (r RecoveryReport) clone() RecoveryReport {
	return RecoveryReport{
		RolledForward: slices.Clone(r.RolledForward),
		RolledBack:    slices.Clone(r.RolledBack),
		Removed:       slices.Clone(r.Removed),
	}
}

// Recover brings the lake to a state where every batch is either wholly
// present or absent, after a writer crashed: it finishes the renames of
// committed batches (those with a manifest) and deletes the temporary files
// of uncommitted ones. Running it again does nothing. It takes the writer
// lock and fails with ErrLocked while a writer is active.
//
// A committed data file found under neither its final nor its temporary
// name is reported as an error; Recover still repairs everything else.
func (l *Lake) Recover() (RecoveryReport, error) {
	lk, err := l.lock()
	if err != nil {
		return RecoveryReport{}, err
	}
	rep, err := l.recover()
	return rep, errors.Join(err, unlock(lk))
}

// recover does Recover's work; the caller holds the lock.
func (l *Lake) recover() (RecoveryReport, error) {
	var rep RecoveryReport
	var errs []error
	changed := map[string]bool{}

	// Manifests not yet renamed into place were never committed.
	mdir := filepath.Join(l.root, manifestDir)
	entries, err := os.ReadDir(mdir)
	if err != nil {
		return rep, fmt.Errorf("lake recover: %w", err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json.tmp") {
			if err := os.Remove(filepath.Join(mdir, e.Name())); err != nil {
				return rep, fmt.Errorf("lake recover: %w", err)
			}
			rep.Removed = append(rep.Removed, manifestDir+"/"+e.Name())
			changed[mdir] = true
		}
	}

	// Roll committed batches forward.
	ms, err := l.Manifests()
	if err != nil {
		return rep, fmt.Errorf("lake recover: %w", err)
	}
	committed := make(map[string]bool, len(ms))
	for _, m := range ms {
		committed[m.BatchID] = true
		rolled := false
		for _, f := range m.Files {
			final := l.abs(f.Path)
			switch _, err := os.Lstat(final); {
			case err == nil:
				continue
			case !errors.Is(err, fs.ErrNotExist):
				errs = append(errs, fmt.Errorf("lake recover: batch %s: %w", m.BatchID, err))
				continue
			}
			switch err := os.Rename(tempName(final, m.BatchID), final); {
			case err == nil:
				rolled = true
				changed[filepath.Dir(final)] = true
			case errors.Is(err, fs.ErrNotExist):
				errs = append(errs, fmt.Errorf("lake recover: batch %s: data file %s is missing under both its final and its temporary name", m.BatchID, f.Path))
			default:
				errs = append(errs, fmt.Errorf("lake recover: batch %s: %w", m.BatchID, err))
			}
		}
		if rolled {
			rep.RolledForward = append(rep.RolledForward, m.BatchID)
		}
	}

	// Roll back whatever temporary files remain. Those of a committed
	// batch are now strays (its files all have their final names), so
	// they go too.
	rolledBack := map[string]bool{}
	for _, zone := range []string{pseudoZone, mpiZone, quarantineZone} {
		err := filepath.WalkDir(filepath.Join(l.root, zone), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && p == filepath.Join(l.root, zone) {
					return fs.SkipDir
				}
				return err
			}
			i := strings.LastIndex(d.Name(), tempMarker)
			if d.IsDir() || i < 0 {
				return nil
			}
			if err := os.Remove(p); err != nil {
				return err
			}
			rel, _ := filepath.Rel(l.root, p)
			rep.Removed = append(rep.Removed, filepath.ToSlash(rel))
			changed[filepath.Dir(p)] = true
			if batch := d.Name()[i+len(tempMarker):]; !committed[batch] {
				rolledBack[batch] = true
			}
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("lake recover: %w", err))
		}
	}
	for b := range rolledBack {
		rep.RolledBack = append(rep.RolledBack, b)
	}
	slices.Sort(rep.RolledBack)

	for dir := range changed {
		if err := syncDir(dir); err != nil {
			errs = append(errs, fmt.Errorf("lake recover: %w", err))
		}
	}
	return rep, errors.Join(errs...)
}
