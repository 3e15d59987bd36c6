package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// policy decides which names a query may use.
type policy struct {
	views  map[string]bool // the purpose's views, lower case
	system map[string]bool // DuckDB's own tables and views, lower case
}

// tableFunctions are the only table functions a query may call: they
// generate values and touch no file, setting or catalog.
var tableFunctions = map[string]bool{"range": true, "generate_series": true, "unnest": true}

// deniedFunctions reveal the environment, settings, variables, view
// definitions (and so file paths), run SQL given as a string, write to
// DuckDB's log or only stall the session.
var deniedFunctions = map[string]bool{
	"write_log":                   true,
	"sleep_ms":                    true,
	"getenv":                      true,
	"current_setting":             true,
	"getvariable":                 true,
	"json_execute_serialized_sql": true,
	"which_secret":                true,
	"query":                       true,
	"query_table":                 true,
}

// deniedPrefixes name families of functions denied whole: DuckDB's
// catalog functions (duckdb_settings, duckdb_views, ...), PostgreSQL
// compatibility functions (pg_get_viewdef, pg_sleep, ...) and file readers
// (read_parquet, read_text, parquet_metadata, ...).
var deniedPrefixes = []string{"duckdb_", "pg_", "read_", "parquet_", "sniff_", "glob"}

// serializeSQL asks DuckDB's parser for the statement tree of a text.
const serializeSQL = "SELECT json_serialize_sql(?::VARCHAR)::VARCHAR"

// cteNameRe is what a common table expression may be called: an
// identifier that cannot be taken for a file name by DuckDB's replacement
// scans.
var cteNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// check refuses sqlText unless it is one read-only statement within the
// policy: DuckDB's parser serialises the statement tree, which is walked
// for table references and function calls. (Query then prepares the text
// and requires DuckDB's statement type SELECT: see preparedSelect.)
func (s *Session) check(ctx context.Context, sqlText string) error {
	switch {
	case len(sqlText) > maxQueryBytes:
		return refuse("the query is %d bytes; at most %d are accepted", len(sqlText), maxQueryBytes)
	case !utf8.ValidString(sqlText):
		return refuse("the query is not valid UTF-8")
	case strings.ContainsRune(sqlText, 0):
		return refuse("the query contains a NUL character")
	case strings.TrimSpace(sqlText) == "":
		return refuse("the query is empty")
	}
	var tree string
	if err := s.serialize.QueryRowContext(ctx, sqlText).Scan(&tree); err != nil {
		return fmt.Errorf("sandbox: parse query: %w", err)
	}
	var parsed struct {
		Error        bool              `json:"error"`
		ErrorType    string            `json:"error_type"`
		ErrorMessage string            `json:"error_message"`
		Statements   []json.RawMessage `json:"statements"`
	}
	if err := json.Unmarshal([]byte(tree), &parsed); err != nil {
		return fmt.Errorf("sandbox: parse query: %w", err)
	}
	switch {
	case parsed.Error && parsed.ErrorType == "not implemented":
		return refuse("only a single read-only query (SELECT, WITH ... SELECT, FROM, VALUES, DESCRIBE, SUMMARIZE) may run; " +
			"the text holds a statement that writes, copies, attaches, loads, changes settings or is not a query")
	case parsed.Error:
		return fmt.Errorf("sandbox: %s", parsed.ErrorMessage)
	case len(parsed.Statements) != 1:
		return refuse("the text holds %d statements; exactly one query may run at a time", len(parsed.Statements))
	}
	var stmt any
	if err := json.Unmarshal(parsed.Statements[0], &stmt); err != nil {
		return fmt.Errorf("sandbox: parse query: %w", err)
	}
	return s.policy.walk(stmt, nil)
}

// tableRefTypes are the kinds of FROM-clause item a query may use; any
// other (a kind added by a later DuckDB, say) is refused until reviewed.
var tableRefTypes = map[string]bool{
	"BASE_TABLE": true, "TABLE_FUNCTION": true, "SUBQUERY": true, "JOIN": true,
	"EMPTY": true, "EMPTY_FROM": true, "EXPRESSION_LIST": true, "SHOW_REF": true,
}

// walk visits every node of a serialised statement. ctes holds the names
// of the common table expressions in scope, lower case.
func (p policy) walk(node any, ctes []string) error {
	switch n := node.(type) {
	case []any:
		for _, v := range n {
			if err := p.walk(v, ctes); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		return p.walkObject(n, ctes)
	}
	return nil
}

func (p policy) walkObject(n map[string]any, ctes []string) error {
	if cm, ok := n["cte_map"].(map[string]any); ok {
		entries, _ := cm["map"].([]any)
		for _, e := range entries {
			name, _ := e.(map[string]any)["key"].(string)
			if !cteNameRe.MatchString(name) {
				return refuse("common table expression name %q is not a plain identifier", name)
			}
			if p.system[strings.ToLower(name)] {
				return refuse("common table expression %q would shadow a DuckDB system view", name)
			}
			ctes = append(ctes[:len(ctes):len(ctes)], strings.ToLower(name))
		}
	}
	typ, _ := n["type"].(string)
	_, isExpr := n["class"]
	_, hasSample := n["sample"]
	_, isQueryNode := n["modifiers"]
	if hasSample && !isExpr && !isQueryNode {
		if !tableRefTypes[typ] {
			return refuse("a FROM item of kind %s is not allowed", typ)
		}
		switch typ {
		case "BASE_TABLE":
			if err := p.table(n, ctes); err != nil {
				return err
			}
		case "TABLE_FUNCTION":
			if err := p.tableFunction(n); err != nil {
				return err
			}
		case "SHOW_REF":
			if name, _ := n["table_name"].(string); name != "" || n["query"] == nil {
				return refuse("SHOW lists the catalog; use DESCRIBE <table> or the list of tables")
			}
		}
	}
	if name, ok := n["function_name"].(string); ok {
		if err := scalarFunction(n, name); err != nil {
			return err
		}
	}
	for _, v := range n {
		if err := p.walk(v, ctes); err != nil {
			return err
		}
	}
	return nil
}

// table allows a base-table reference only to a purpose view or a common
// table expression in scope, never qualified by schema or catalog.
func (p policy) table(n map[string]any, ctes []string) error {
	name, _ := n["table_name"].(string)
	schema, _ := n["schema_name"].(string)
	catalog, _ := n["catalog_name"].(string)
	if schema != "" || catalog != "" {
		return refuse("table %q is qualified by a schema or database; only the purpose's tables may be read, by their plain names", qualified(catalog, schema, name))
	}
	lower := strings.ToLower(name)
	for _, c := range ctes {
		if c == lower {
			return nil
		}
	}
	if p.views[lower] {
		return nil
	}
	if strings.ContainsAny(name, "/\\.*?") {
		return refuse("%q looks like a file path; files cannot be read directly, only the purpose's tables", name)
	}
	if p.system[lower] {
		return refuse("%q is a DuckDB system view; only the purpose's tables may be read", name)
	}
	return refuse("there is no table %q in this purpose", name)
}

// tableFunction allows only the value generators in tableFunctions.
func (p policy) tableFunction(n map[string]any) error {
	fn, _ := n["function"].(map[string]any)
	name, _ := fn["function_name"].(string)
	schema, _ := fn["schema"].(string)
	catalog, _ := fn["catalog"].(string)
	if schema != "" || catalog != "" || !tableFunctions[strings.ToLower(name)] {
		return refuse("table function %s() is not allowed: files and the catalog are read through the purpose's tables only "+
			"(allowed table functions: generate_series, range, unnest)", qualified(catalog, schema, name))
	}
	return nil
}

// scalarFunction refuses a call of a denied function, and any call
// qualified by a schema or catalog (which could reach a function the plain
// name does not) other than "main", which DuckDB's parser itself writes for
// list and struct literals (main.list_value).
func scalarFunction(n map[string]any, name string) error {
	schema, _ := n["schema"].(string)
	catalog, _ := n["catalog"].(string)
	if schema != "" && schema != "main" || catalog != "" {
		return refuse("function %s is qualified by a schema or database; call functions by their plain names", qualified(catalog, schema, name))
	}
	lower := strings.ToLower(name)
	denied := deniedFunctions[lower]
	for _, p := range deniedPrefixes {
		denied = denied || strings.HasPrefix(lower, p)
	}
	if denied {
		return refuse("function %s() is not allowed: it reads files, settings, the environment or the catalog", name)
	}
	return nil
}

func qualified(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, ".")
}
