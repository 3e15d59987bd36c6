package lake

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pophealth/pophealth/models"
)

// randomRows fills n rows of T with random values: strings from a small
// set (so that rows repeat the row before, as real columns do) or random,
// nil and non-nil pointers, empty and nil byte slices, extreme integers.
func randomRows[T any](rng *rand.Rand, n int) []T {
	words := []string{"", "gp", "B1", "snomed", "9434765919", "ünïcödé", "a,b\n\"c\"", strings.Repeat("x", 300)}
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			if rng.IntN(4) == 0 {
				v.SetString(fmt.Sprintf("key-%x", rng.Uint64()))
			} else {
				v.SetString(words[rng.IntN(len(words))])
			}
		case reflect.Bool:
			v.SetBool(rng.IntN(2) == 0)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			bits := v.Type().Bits()
			lo, hi := int64(-1)<<(bits-1), int64(1)<<(bits-1)-1
			v.SetInt([]int64{0, -1, 1, lo, hi, rng.Int64() >> (64 - bits)}[rng.IntN(6)])
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			v.SetUint(rng.Uint64() >> (64 - v.Type().Bits()))
		case reflect.Float32, reflect.Float64:
			v.SetFloat([]float64{0, -1.5, 1e300, rng.NormFloat64()}[rng.IntN(4)])
		case reflect.Slice:
			switch rng.IntN(3) {
			case 0: // nil
			case 1:
				v.SetBytes([]byte{})
			default:
				v.SetBytes([]byte(words[rng.IntN(len(words))] + "\x00\xff"))
			}
		case reflect.Pointer:
			if rng.IntN(3) > 0 {
				p := reflect.New(v.Type().Elem())
				fill(p.Elem())
				v.Set(p)
			}
		case reflect.Struct:
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					fill(v.Field(i))
				}
			}
		default:
			panic("randomRows: no values for " + v.Type().String())
		}
	}
	rows := make([]T, n)
	for i := range rows {
		fill(reflect.ValueOf(&rows[i]).Elem())
		if i > 0 && rng.IntN(4) == 0 {
			rows[i] = rows[i-1] // a whole row repeated
		}
	}
	return rows
}

// encodeBlocks encodes rows into blocks of about limit bytes.
func encodeBlocks[T any](t testing.TB, rows []T, limit int) (blocks [][]byte, counts []int) {
	t.Helper()
	c, err := codecFor[T]()
	if err != nil {
		t.Fatal(err)
	}
	var be blockEncoder
	flush := func() {
		if be.rows > 0 {
			blocks, counts = append(blocks, slices.Clone(be.buf)), append(counts, be.rows)
			be.reset()
		}
	}
	for i := range rows {
		c.encode(&be, reflect.ValueOf(&rows[i]).Elem())
		if len(be.buf) >= limit {
			flush()
		}
	}
	flush()
	return blocks, counts
}

func roundTrip[T any](t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, limit := range []int{1, 64, 16 << 10} {
		want := randomRows[T](rng, 500)
		blocks, counts := encodeBlocks(t, want, limit)
		c, _ := codecFor[T]()
		var got []T
		for i, b := range blocks {
			var err error
			if got, err = decodeBlock(c, b, counts[i], got); err != nil {
				t.Fatalf("block %d of %d: %v", i, len(blocks), err)
			}
			clear(b) // decoded rows must not share the block's memory
		}
		if len(got) != len(want) {
			t.Fatalf("limit %d: decoded %d rows, want %d", limit, len(got), len(want))
		}
		for i := range want {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("limit %d: row %d decoded as\n%+v\nwant\n%+v", limit, i, got[i], want[i])
			}
		}
	}
}

// Every row type the lake is given must survive the spill unchanged.
func TestRowCodec_RoundTripsEveryModelsRowType(t *testing.T) {
	for name, run := range map[string]func(*testing.T){
		"PersonRow":           roundTrip[models.PersonRow],
		"EncounterRow":        roundTrip[models.EncounterRow],
		"DiagnosisRow":        roundTrip[models.DiagnosisRow],
		"ObservationRow":      roundTrip[models.ObservationRow],
		"MedicationRow":       roundTrip[models.MedicationRow],
		"ProcedureRow":        roundTrip[models.ProcedureRow],
		"PersonKeyMapRow":     roundTrip[models.PersonKeyMapRow],
		"LinkRow":             roundTrip[models.LinkRow],
		"QuarantineRow":       roundTrip[models.QuarantineRow],
		"QuarantineReplayRow": roundTrip[models.QuarantineReplayRow],
		"MergeRow":            roundTrip[models.MergeRow],
		"UnreadRow":           roundTrip[models.UnreadRow],
		"PersonAssignmentRow": roundTrip[models.PersonAssignmentRow],
		"PersonMergeRow":      roundTrip[models.PersonMergeRow],
		"LinkLabelRow":        roundTrip[models.LinkLabelRow],
		"LinkReviewRow":       roundTrip[models.LinkReviewRow],
		"LinkModelRow":        roundTrip[models.LinkModelRow],
	} {
		t.Run(name, run)
	}
}

func TestRowCodec_RefusesTypesItCannotEncode(t *testing.T) {
	type withMap struct{ M map[string]int }
	type withTime struct{ T time.Time }
	type withPtrBytes struct{ B *[]byte }
	for _, typ := range []reflect.Type{reflect.TypeFor[withMap](), reflect.TypeFor[withTime](), reflect.TypeFor[withPtrBytes](), reflect.TypeFor[int]()} {
		if _, err := newRowCodec(typ); err == nil {
			t.Errorf("newRowCodec(%s) succeeded, want an error", typ)
		}
	}
}

func TestDecodeBlock_RejectsDamage(t *testing.T) {
	rows := randomRows[models.ObservationRow](rand.New(rand.NewPCG(3, 4)), 20)
	blocks, counts := encodeBlocks(t, rows, 1<<20)
	block, n := blocks[0], counts[0]
	c, _ := codecFor[models.ObservationRow]()
	for _, tc := range []struct {
		name  string
		block []byte
		rows  int
	}{
		{"truncated", block[:len(block)-1], n},
		{"trailing byte", append(slices.Clone(block), 0), n},
		{"one row too many", block, n + 1},
		{"negative rows", block, -1},
		{"more rows than bytes", block, len(block) + 1},
		{"repeat marker in the first row", []byte{0}, 1},
		{"string longer than the block", []byte{0xff, 0x01}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeBlock[models.ObservationRow](c, tc.block, tc.rows, nil)
			if !errors.Is(err, errBadBlock) {
				t.Errorf("err = %v, want errBadBlock", err)
			}
			if len(got) != 0 {
				t.Errorf("returned %d rows with the error", len(got))
			}
		})
	}
	if _, err := decodeBlock[models.EncounterRow](c, block, n, nil); err == nil {
		t.Error("decoding with another type's codec succeeded")
	}
}

// spillLake opens a lake whose batches write at most two directories
// directly, with tiny blocks so that spilled directories span many.
func spillLake(t *testing.T, encoders int) (*Lake, string) {
	root := t.TempDir()
	l := mustOpen(t, root)
	l.cfg.encoders, l.cfg.maxOpenFiles, l.cfg.spillBlockBytes = encoders, 2, 200
	l.cfg.handoffRows, l.cfg.maxHeldRows = 16, 40
	return l, root
}

// monthDirs are n monthly encounter partitions.
func monthDirs(n int) []string {
	var dirs []string
	for i := range n {
		d := models.NewDate(2020, time.Month(1+i), 1)
		dirs = append(dirs, PseudoDir(models.TableEncounter, models.FeedHL7, &d))
	}
	return dirs
}

func TestAppend_SpillsDirectoriesBeyondTheOpenFileBound(t *testing.T) {
	for _, encoders := range []int{1, 2} {
		t.Run(fmt.Sprintf("encoders=%d", encoders), func(t *testing.T) {
			l, root := spillLake(t, encoders)
			b := mustBegin(t, l, "B1")
			dirs := monthDirs(9)
			rng := rand.New(rand.NewPCG(5, 6))
			want := map[string][]models.EncounterRow{}
			for i := range 3000 {
				dir := dirs[rng.IntN(len(dirs))]
				if i < len(dirs) {
					dir = dirs[i]
				}
				row := randomRows[models.EncounterRow](rng, 1)[0]
				row.PersonKey = fmt.Sprintf("p%05d", i)
				want[dir] = append(want[dir], row)
				must(t, Append(b, dir, row))
			}
			var direct int
			for _, dir := range b.order {
				if !b.writers[dir].spilled() {
					direct++
				}
			}
			if direct != 2 {
				t.Errorf("%d directories written directly, want the bound, 2", direct)
			}
			spill := tempName(filepath.Join(root, spillName), "B1")
			if _, err := os.Stat(spill); err != nil {
				t.Fatalf("no spill file while spilling: %v", err)
			}
			must(t, b.Commit(sampleManifest("B1")))

			if _, err := os.Stat(spill); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("spill file left after Commit: %v", err)
			}
			for _, f := range diskFiles(t, root) {
				if strings.Contains(f, tempMarker) {
					t.Errorf("temporary file %s left after Commit", f)
				}
			}
			for _, dir := range dirs {
				files, err := l.Files(dir)
				must(t, err)
				if len(files) != 1 {
					t.Errorf("%s: %d files, want 1", dir, len(files))
				}
				got := readRows[models.EncounterRow](t, files)
				if len(got) != len(want[dir]) {
					t.Fatalf("%s: read %d rows, want %d", dir, len(got), len(want[dir]))
				}
				for i := range got {
					// Parquet reads an optional empty string as empty, the
					// same as written, so rows compare exactly.
					if !reflect.DeepEqual(got[i], want[dir][i]) {
						t.Fatalf("%s row %d read back as\n%+v\nwant\n%+v", dir, i, got[i], want[dir][i])
					}
				}
			}
		})
	}
}

// A spilled directory bigger than maxFileRows goes on in further files, as
// a direct one does.
func TestAppend_SpilledDirectoryRotatesFiles(t *testing.T) {
	l, _ := spillLake(t, 1)
	l.cfg.maxFileRows, l.cfg.rowGroupRows, l.cfg.maxOpenRows = 100, 50, 1000
	b := mustBegin(t, l, "B1")
	dirs := monthDirs(3)
	for i := range 350 {
		for _, dir := range dirs {
			must(t, Append(b, dir, models.EncounterRow{PersonKey: fmt.Sprintf("p%d", i), Source: "hl7v2", BatchID: "B1", Class: "inpatient"}))
		}
	}
	must(t, b.Commit(sampleManifest("B1")))
	files, err := l.Files(dirs[2])
	must(t, err)
	if len(files) < 4 {
		t.Errorf("spilled directory of 350 rows in %d files, want at least 4 of at most 100 rows", len(files))
	}
	got := readRows[models.EncounterRow](t, files)
	keys := make([]string, len(got))
	for i, r := range got {
		keys[i] = r.PersonKey
	}
	slices.Sort(keys)
	if len(slices.Compact(keys)) != 350 {
		t.Errorf("read %d distinct rows of 350", len(slices.Compact(keys)))
	}
}

// A spill file damaged on disk fails the batch, which leaves nothing.
func TestCommit_DamagedSpillRollsBackTheBatch(t *testing.T) {
	l, root := spillLake(t, 1)
	b := mustBegin(t, l, "B1")
	dirs := monthDirs(4)
	for i := range 400 {
		must(t, Append(b, dirs[i%len(dirs)], models.EncounterRow{PersonKey: fmt.Sprintf("p%d", i), Source: "hl7v2", BatchID: "B1", Class: "inpatient"}))
	}
	for _, e := range b.encs {
		must(t, e.wait())
	}
	spill := tempName(filepath.Join(root, spillName), "B1")
	data, err := os.ReadFile(spill)
	must(t, err)
	if len(data) == 0 {
		t.Fatal("nothing spilled before Commit")
	}
	f, err := os.OpenFile(spill, os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteAt([]byte{data[len(data)/2] ^ 0x55}, int64(len(data)/2))
	must(t, err)
	must(t, f.Close())

	err = b.Commit(sampleManifest("B1"))
	if err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("Commit with a damaged spill: err = %v, want one saying it is damaged", err)
	}
	if got := diskFiles(t, root); len(got) != 0 {
		t.Errorf("files left after the failed Commit: %v", got)
	}
}

// spillingBatch begins batch B1 and appends to more directories than it
// may keep open.
func spillingBatch(t *testing.T) (root string, b *Batch) {
	l, root := spillLake(t, 2)
	b = mustBegin(t, l, "B1")
	for i, dir := range monthDirs(5) {
		must(t, Append(b, dir, models.EncounterRow{PersonKey: fmt.Sprint(i)}))
	}
	return root, b
}

func TestAbort_RemovesTheSpill(t *testing.T) {
	root, b := spillingBatch(t)
	must(t, b.Abort())
	if got := diskFiles(t, root); len(got) != 0 {
		t.Errorf("files left after Abort: %v", got)
	}
}

// After a crash, recovery removes the spill with the batch's other
// temporary files.
func TestRecover_RemovesTheSpillOfACrashedBatch(t *testing.T) {
	root, b := spillingBatch(t)
	b.abandon()
	if !slices.ContainsFunc(diskFiles(t, root), func(f string) bool { return strings.HasPrefix(f, spillName+tempMarker) }) {
		t.Fatal("the crashed batch left no spill file: the test checks nothing")
	}
	rep := mustOpen(t, root).recovered
	if !slices.Contains(rep.RolledBack, "B1") {
		t.Errorf("recovery rolled back %v, want B1", rep.RolledBack)
	}
	if got := diskFiles(t, root); len(got) != 0 {
		t.Errorf("files left after recovery: %v", got)
	}
	again := mustOpen(t, root)
	if r := again.recovered; !r.Empty() {
		t.Errorf("second open still recovered %+v", r)
	}
}

func FuzzDecodeBlock(f *testing.F) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, limit := range []int{1, 100, 1000} {
		blocks, counts := encodeBlocks(f, randomRows[models.ObservationRow](rng, 10), limit)
		for i, b := range blocks {
			f.Add(b, counts[i])
		}
	}
	obs, _ := codecFor[models.ObservationRow]()
	quar, _ := codecFor[models.QuarantineRow]()
	f.Fuzz(func(t *testing.T, block []byte, rows int) {
		if rows > 1<<16 {
			return
		}
		checkDecode[models.ObservationRow](t, obs, block, rows)
		checkDecode[models.QuarantineRow](t, quar, block, rows)
	})
}

// checkDecode decodes block; whatever decodes must encode to bytes that
// decode to rows encoding the same again (bytes, not values, are compared
// because a float may be NaN).
func checkDecode[T any](t *testing.T, c *rowCodec, block []byte, rows int) {
	got, err := decodeBlock[T](c, block, rows, nil)
	if err != nil {
		if !errors.Is(err, errBadBlock) {
			t.Fatalf("error %v does not wrap errBadBlock", err)
		}
		return
	}
	blocks, counts := encodeBlocks(t, got, 1<<30)
	var again []T
	for i, b := range blocks {
		if again, err = decodeBlock(c, b, counts[i], again); err != nil {
			t.Fatalf("re-encoded rows do not decode: %v", err)
		}
	}
	if len(again) != len(got) {
		t.Fatalf("%d rows decoded, %d after a second encoding", len(got), len(again))
	}
	second, _ := encodeBlocks(t, again, 1<<30)
	if !reflect.DeepEqual(blocks, second) {
		t.Fatalf("rows changed through a second encoding")
	}
}
