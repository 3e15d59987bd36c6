package lake

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"reflect"
	"slices"
	"sync/atomic"
)

// A batch keeps at most maxOpenFiles Parquet files open at once, because
// each open file costs memory whatever its size (a partial page per
// column, a write buffer, the open row group): a GP extract spanning 26
// years touches 1,185 monthly partitions, and their open files held 150 MB,
// half of the ingest's memory. Directories that appear once that many are
// open spill instead: the encoder encodes their rows compactly (rowCodec)
// into a block per directory, writes each full block to one spill file per
// batch, and at Commit writes each spilled directory's Parquet file in one
// go, one directory at a time per encoder. A spilled directory therefore
// still gets one file (more only past maxFileRows), its rows in the order
// appended, and holds only its block (spillBlockBytes) in memory.
//
// The spill file lives in the restricted zone (mpi/spill.tmp-<batch>,
// owner-only) because it may hold any row, and carries the temporary-file
// marker so that Recover removes it after a crash. It takes about as much
// disk as the spilled rows' Parquet files before compression, and is
// removed once the batch's files are complete.

// spillFile is a batch's spill: blocks of encoded rows, written at offsets
// reserved atomically so that the encoders can share it.
type spillFile struct {
	f    *os.File
	size atomic.Int64
}

// spillExtent locates one block in the spill file.
type spillExtent struct {
	off  int64
	n    int32
	rows int32
	crc  uint32
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func createSpill(name string) (*spillFile, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	return &spillFile{f: f}, nil
}

// write appends block to the file and returns where it went.
func (s *spillFile) write(block []byte, rows int) (spillExtent, error) {
	off := s.size.Add(int64(len(block))) - int64(len(block))
	if _, err := s.f.WriteAt(block, off); err != nil {
		return spillExtent{}, fmt.Errorf("spill: %w", err)
	}
	return spillExtent{off: off, n: int32(len(block)), rows: int32(rows), crc: crc32.Checksum(block, castagnoli)}, nil
}

// read returns the block at x in buf (grown as needed), checking it is the
// block written there.
func (s *spillFile) read(x spillExtent, buf []byte) ([]byte, error) {
	if cap(buf) < int(x.n) {
		buf = make([]byte, x.n)
	}
	buf = buf[:x.n]
	if _, err := s.f.ReadAt(buf, x.off); err != nil {
		return buf, fmt.Errorf("spill: read %d bytes at %d: %w", x.n, x.off, err)
	}
	if crc32.Checksum(buf, castagnoli) != x.crc {
		return buf, fmt.Errorf("spill: block at %d is damaged (checksum mismatch)", x.off)
	}
	return buf, nil
}

// remove closes and deletes the spill file.
func (s *spillFile) remove() error {
	name := s.f.Name()
	return errors.Join(s.close(), removeIfExists(name))
}

// close closes the file, leaving it on disk (a simulated crash).
func (s *spillFile) close() error {
	if err := s.f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}

func removeIfExists(name string) error {
	if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// rowCodec encodes the rows of one struct type (the models row types: flat
// structs of strings, byte slices, booleans, numbers and pointers to
// numbers or strings) as bytes, and decodes them back. A string equal to the same
// field of the row before it in the block is written as one byte, which
// makes columns such as source, batch_id and code_system nearly free.
//
// Encoding, per field: a string as uvarint(len+1) and its bytes, or 0 for
// "as the row before"; a boolean as one byte; a signed integer as a
// varint, an unsigned one as a uvarint; a float as its IEEE 754 bits,
// little-endian; a []byte as 0 (nil) or uvarint(len+1) and its bytes; a
// pointer as 0 (nil) or 1 and its element.
type rowCodec struct {
	typ    reflect.Type
	fields []fieldCodec
	// strings counts the string fields, which decode keeps the previous
	// row's values of.
	strings int
	// bytes is set when the type has a []byte field.
	bytes bool
}

type fieldCodec struct {
	index int
	kind  reflect.Kind
	ptr   bool
	elem  reflect.Type // the pointed-to type, for ptr
	str   int          // position among the string fields, for strings
}

// codecFor returns the codec for T, or an error if T has a field the
// encoding does not cover. A batch builds one per spilled directory: a
// look over T's fields, negligible next to the directory's rows.
func codecFor[T any]() (*rowCodec, error) {
	return newRowCodec(reflect.TypeFor[T]())
}

func newRowCodec(t reflect.Type) (*rowCodec, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("spill: %s is not a struct", t)
	}
	c := &rowCodec{typ: t}
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue // parquet-go ignores unexported fields too
		}
		fc := fieldCodec{index: i, kind: sf.Type.Kind()}
		if fc.kind == reflect.Pointer {
			fc.ptr, fc.elem = true, sf.Type.Elem()
			fc.kind = fc.elem.Kind()
		}
		switch fc.kind {
		case reflect.String:
			fc.str = c.strings
			c.strings++
		case reflect.Slice:
			if fc.ptr || sf.Type.Elem().Kind() != reflect.Uint8 {
				return nil, fmt.Errorf("spill: %s.%s: cannot encode a %s", t, sf.Name, sf.Type)
			}
			c.bytes = true
		case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
			reflect.Float32, reflect.Float64:
		default:
			return nil, fmt.Errorf("spill: %s.%s: cannot encode a %s", t, sf.Name, sf.Type)
		}
		c.fields = append(c.fields, fc)
	}
	return c, nil
}

// blockEncoder builds one block: the rows, then their count when the block
// is taken.
type blockEncoder struct {
	buf  []byte
	rows int
	prev []string // the previous row's strings, by string field
}

// encode appends row (a pointer to a struct of c's type, as a
// reflect.Value of the struct) to the block.
func (c *rowCodec) encode(be *blockEncoder, row reflect.Value) {
	if be.prev == nil {
		be.prev = make([]string, c.strings)
	}
	first := be.rows == 0
	b := be.buf
	for _, fc := range c.fields {
		v := row.Field(fc.index)
		if fc.ptr {
			if v.IsNil() {
				b = append(b, 0)
				continue
			}
			b = append(b, 1)
			v = v.Elem()
		}
		switch fc.kind {
		case reflect.String:
			s := v.String()
			if !first && !fc.ptr && s == be.prev[fc.str] {
				b = append(b, 0)
				continue
			}
			b = binary.AppendUvarint(b, uint64(len(s))+1)
			b = append(b, s...)
			if !fc.ptr {
				be.prev[fc.str] = s
			}
		case reflect.Slice:
			if v.IsNil() {
				b = append(b, 0)
				continue
			}
			b = binary.AppendUvarint(b, uint64(v.Len())+1)
			b = append(b, v.Bytes()...)
		case reflect.Bool:
			if v.Bool() {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			b = binary.AppendVarint(b, v.Int())
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			b = binary.AppendUvarint(b, v.Uint())
		case reflect.Float32:
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(v.Float())))
		case reflect.Float64:
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Float()))
		}
	}
	be.buf = b
	be.rows++
}

// reset empties the block for reuse.
func (be *blockEncoder) reset() {
	be.buf, be.rows = be.buf[:0], 0
	clear(be.prev)
}

// errBadBlock is wrapped by every decoding failure.
var errBadBlock = errors.New("spill: malformed block")

// decodeBlock decodes a block of rows rows of type T, appending them to
// dst. The rows' strings share one copy of the block, so they stay valid
// after block is reused.
func decodeBlock[T any](c *rowCodec, block []byte, rows int, dst []T) ([]T, error) {
	if reflect.TypeFor[T]() != c.typ {
		return dst, fmt.Errorf("spill: codec for %s used for %s", c.typ, reflect.TypeFor[T]())
	}
	// Every row takes a byte at least, unless T has no fields.
	if rows < 0 || len(c.fields) > 0 && rows > len(block) {
		return dst, fmt.Errorf("%w: %d rows in %d bytes", errBadBlock, rows, len(block))
	}
	start := len(dst)
	dst = slices.Grow(dst, rows)[:start+rows]
	clear(dst[start:])
	d := blockDecoder{s: string(block), prev: make([]string, c.strings)}
	if c.bytes {
		d.b = slices.Clone(block)
	}
	// The pointed-to values of each pointer field live in one slice per
	// block rather than an allocation a row.
	elems := make([]reflect.Value, len(c.fields))
	for i, fc := range c.fields {
		if fc.ptr {
			elems[i] = reflect.MakeSlice(reflect.SliceOf(fc.elem), rows, rows)
		}
	}
	for r := range rows {
		row := reflect.ValueOf(&dst[start+r]).Elem()
		for i, fc := range c.fields {
			v := row.Field(fc.index)
			if fc.ptr {
				switch d.byte() {
				case 0:
					continue
				case 1:
					e := elems[i].Index(r).Addr()
					v.Set(e)
					v = e.Elem()
				default:
					return dst[:start], fmt.Errorf("%w: row %d field %s: bad pointer marker", errBadBlock, r, c.typ.Field(fc.index).Name)
				}
			}
			switch fc.kind {
			case reflect.String:
				if fc.ptr {
					v.SetString(d.string(false, ""))
					continue
				}
				s := d.string(r > 0, d.prev[fc.str])
				d.prev[fc.str] = s
				v.SetString(s)
			case reflect.Slice:
				v.SetBytes(d.bytes())
			case reflect.Bool:
				switch d.byte() {
				case 0:
				case 1:
					v.SetBool(true)
				default:
					d.fail()
				}
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
				n := d.varint()
				if v.OverflowInt(n) {
					d.fail()
				}
				v.SetInt(n)
			case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
				n := d.uvarint()
				if v.OverflowUint(n) {
					d.fail()
				}
				v.SetUint(n)
			case reflect.Float32:
				v.SetFloat(float64(math.Float32frombits(uint32(d.fixed(4)))))
			case reflect.Float64:
				v.SetFloat(math.Float64frombits(d.fixed(8)))
			}
			if d.bad {
				return dst[:start], fmt.Errorf("%w: row %d field %s", errBadBlock, r, c.typ.Field(fc.index).Name)
			}
		}
		// A field that stopped early (a nil pointer read past the end)
		// skips the check above.
		if d.bad {
			return dst[:start], fmt.Errorf("%w: row %d", errBadBlock, r)
		}
	}
	if d.off != len(d.s) {
		return dst[:start], fmt.Errorf("%w: %d bytes after the last row", errBadBlock, len(d.s)-d.off)
	}
	return dst, nil
}

// blockDecoder reads a block's values; after the first problem it sets bad
// and returns zero values.
type blockDecoder struct {
	s    string
	b    []byte // the block again, for []byte fields
	off  int
	bad  bool
	prev []string
}

func (d *blockDecoder) fail() { d.bad = true }

func (d *blockDecoder) byte() byte {
	if d.bad || d.off >= len(d.s) {
		d.bad = true
		return 0
	}
	c := d.s[d.off]
	d.off++
	return c
}

func (d *blockDecoder) uvarint() uint64 {
	var x uint64
	for shift := 0; ; shift += 7 {
		if shift > 63 {
			d.bad = true
			return 0
		}
		c := d.byte()
		if d.bad {
			return 0
		}
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			if shift == 63 && c > 1 {
				d.bad = true
				return 0
			}
			return x
		}
	}
}

func (d *blockDecoder) varint() int64 {
	u := d.uvarint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

func (d *blockDecoder) fixed(n int) uint64 {
	if d.bad || len(d.s)-d.off < n {
		d.bad = true
		return 0
	}
	var x uint64
	for i := n - 1; i >= 0; i-- {
		x = x<<8 | uint64(d.s[d.off+i])
	}
	d.off += n
	return x
}

// bytes reads a byte slice, nil or sharing the decoder's copy of the
// block.
func (d *blockDecoder) bytes() []byte {
	n := d.uvarint()
	if d.bad || n == 0 {
		return nil
	}
	n--
	if n > uint64(len(d.b)-d.off) {
		d.bad = true
		return nil
	}
	p := d.b[d.off : d.off+int(n) : d.off+int(n)]
	d.off += int(n)
	return p
}

// string reads a string. A "same as before" marker stands for same where
// canRepeat allows it (not in a block's first row, nor behind a pointer).
func (d *blockDecoder) string(canRepeat bool, same string) string {
	n := d.uvarint()
	if d.bad {
		return ""
	}
	if n == 0 {
		if !canRepeat {
			d.bad = true
			return ""
		}
		return same
	}
	n--
	if n > uint64(len(d.s)-d.off) {
		d.bad = true
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}
