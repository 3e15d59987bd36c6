package purpose

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/workspace"
)

// ExportNHSNumbers writes every valid NHS number in the master person
// index to w in the format NHS England's Check for National Data Opt-outs
// service takes (one number per line followed by a comma, LF line ends),
// and returns how many it wrote. The file it goes to is identifiable: the
// caller must create it readable by its owner only.
func ExportNHSNumbers(ctx context.Context, ws *workspace.Workspace, w io.Writer) (int, error) {
	lk, err := lake.Open(ws.LakeDir())
	if err != nil {
		return 0, err
	}
	files, err := lk.Files("mpi/links")
	if err != nil {
		return 0, err
	}
	if len(files) == 0 {
		return 0, nil
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return 0, fmt.Errorf("export NHS numbers: %w", err)
	}
	defer db.Close()
	quoted := make([]string, len(files))
	for i, f := range files {
		quoted[i] = sqlString(f)
	}
	rows, err := db.QueryContext(ctx, `SELECT DISTINCT nhs_number FROM read_parquet([`+strings.Join(quoted, ", ")+`])
		WHERE nhs_number_status IN ('valid', 'verified') AND nhs_number IS NOT NULL ORDER BY nhs_number`)
	if err != nil {
		return 0, fmt.Errorf("export NHS numbers: %w", err)
	}
	defer rows.Close()
	bw := bufio.NewWriter(w)
	n := 0
	for rows.Next() {
		var number string
		if err := rows.Scan(&number); err != nil {
			return n, fmt.Errorf("export NHS numbers: %w", err)
		}
		bw.WriteString(number)
		bw.WriteString(",\n")
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("export NHS numbers: %w", err)
	}
	return n, bw.Flush()
}

// ImportRegister turns a file of NHS numbers as the check service returns
// it, without a header (or a Type 1 list in the same format), into the workspace's register
// of that kind: it checks every number, adds the header and replaces the
// configured register file atomically. It returns the register written.
func ImportRegister(ws *workspace.Workspace, src, kind, list string, asOf models.Date) (*Register, error) {
	if kind != RegisterNational && kind != RegisterType1 {
		return nil, fmt.Errorf("import: kind %q: want national or type1", kind)
	}
	if list != ListCleared && list != ListOptedOut {
		return nil, fmt.Errorf("import: list %q: want cleared or opted-out", list)
	}
	dst := ws.OptOutRegisterPath(kind)
	if dst == "" {
		return nil, fmt.Errorf("import: no %s register path configured (opt_outs in pophealth.yaml)", kind)
	}
	body, err := os.ReadFile(src)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	header := fmt.Sprintf("# pophealth opt-out register v1\n# imported from %s\n# kind: %s\n# list: %s\n# as-of: %s\n", filepath.Base(src), kind, list, asOf)
	data := slices.Concat([]byte(header), body)
	reg, err := parseRegister(src, strings.NewReader(string(data)), -strings.Count(header, "\n"))
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	if err := syncPath(tmp); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	reg.File = dst
	return reg, syncPath(filepath.Dir(dst))
}
