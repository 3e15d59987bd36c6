package purpose

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/web"
)

// Category is what a purpose is for. It decides which rules apply: the
// national data opt-out applies to every category except direct care.
type Category string

// The categories of use a purpose may declare.
const (
	DirectCare       Category = "direct care"
	PopulationHealth Category = "population health management"
	Planning         Category = "planning/commissioning"
	Research         Category = "research"
)

var categories = []Category{DirectCare, PopulationHealth, Planning, Research}

// Sensitive is a category of records excluded from a purpose's data unless
// the purpose admits it (codelists/sensitive.csv says which codes belong
// to each).
type Sensitive string

// The sensitive categories.
const (
	MentalHealth Sensitive = "mental_health"
	SexualHealth Sensitive = "sexual_health"
	SocialCare   Sensitive = "social_care"
	Safeguarding Sensitive = "safeguarding"
)

// SensitiveCategories lists every sensitive category.
var SensitiveCategories = []Sensitive{MentalHealth, SexualHealth, SocialCare, Safeguarding}

// Generalisations of date of birth and postcode.
const (
	// DOBYearMonth keeps year and month of birth, as the lake does.
	DOBYearMonth = "year_month"
	// DOBYear keeps the year of birth only.
	DOBYear = "year"
	// DOBAgeBand replaces year and month of birth with a five-year age band
	// ("40-44", "90+") on the day the purpose's data is made.
	DOBAgeBand = "age_band"
	// PostcodeDistrict keeps the outward code ("LS1"), as the lake does.
	PostcodeDistrict = "district"
	// PostcodeArea keeps the letters of the outward code ("LS").
	PostcodeArea = "area"
)

// Output row rules.
const (
	// RowsPseudonymised lets analysts see row-level data under the
	// purpose's pseudonyms.
	RowsPseudonymised = "pseudonymised"
	// RowsAggregates lets only aggregate results leave the purpose, through
	// the suppression gate.
	RowsAggregates = "aggregates"
)

// Suppression profiles (queries/suppress implements them).
const (
	SuppressNHSD       = "nhsd"
	SuppressOpenSAFELY = "opensafely"
)

// Config is one purpose, as an IG lead approves it. docs/purposes.md
// documents every field; purpose/examples holds examples.
type Config struct {
	ID         string
	Title      string
	Controller string
	// Article6 and Article9 are the UK GDPR lawful basis and special
	// category condition, as codes ("6(1)(e)", "9(2)(h)").
	Article6, Article9 string
	Category           Category
	// Datasets are the lake tables the purpose may see, in file order,
	// each with exactly the columns it may see.
	Datasets []Dataset
	// Sensitive are the sensitive categories admitted; records of the
	// others are left out.
	Sensitive []Sensitive
	// DateOfBirth and Postcode are the generalisations (DOB*, Postcode*).
	DateOfBirth, Postcode string
	// Suppression is the profile applied to aggregate results (nhsd or
	// opensafely); Rows says whether analysts may see row-level data.
	Suppression, Rows string
	// Users and Roles may use the purpose: a user named in Users, or
	// holding one of Roles in the workspace's users file.
	Users, Roles []string
	// ValidFrom and ValidUntil bound the days (inclusive) on which the
	// purpose may run.
	ValidFrom, ValidUntil models.Date
}

// Dataset is one lake table of a purpose and the columns it may see.
type Dataset struct {
	Table   models.Table
	Columns []string
}

// Admits reports whether the purpose admits sensitive category s.
func (c *Config) Admits(s Sensitive) bool { return slices.Contains(c.Sensitive, s) }

// AppliesOptOuts reports whether opt-outs apply: to every category except
// direct care.
func (c *Config) AppliesOptOuts() bool { return c.Category != DirectCare }

// Dataset returns the purpose's dataset for table t.
func (c *Config) Dataset(t models.Table) (Dataset, bool) {
	i := slices.IndexFunc(c.Datasets, func(d Dataset) bool { return d.Table == t })
	if i < 0 {
		return Dataset{}, false
	}
	return c.Datasets[i], true
}

// Problem is one thing wrong with a config, at a line of its file.
type Problem struct {
	File string
	Line int
	Msg  string
}

// String formats the problem as file:line: message, as compilers do.
func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Msg)
}

// ValidationError lists every problem Parse found, in file order.
type ValidationError struct {
	Problems []Problem
}

// Error lists the problems, one a line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// idPattern keeps purpose ids safe as directory and key file names.
var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)

// ValidID reports whether id is a well-formed purpose id: lower-case
// letters, digits and hyphens, 2 to 63 characters, not starting with a
// hyphen. Ids name directories, so anything else (a slash, "..") is refused.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// LoadFile reads and parses a config file.
func LoadFile(path string) (*Config, []byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("purpose config: %w", err)
	}
	c, err := Parse(path, data)
	return c, data, err
}

// Parse validates a config against the lake schema (models). Its error is
// a *ValidationError naming every problem with file and line.
func Parse(file string, data []byte) (*Config, error) {
	s, err := lakeSchema()
	if err != nil {
		return nil, err
	}
	return parse(file, data, s)
}

func parse(file string, data []byte, s schema) (*Config, error) {
	p := &parser{file: file, schema: s, keyOf: map[*yaml.Node]*yaml.Node{}}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		line := 0
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			// yaml's syntax errors carry "yaml: line N: ..." in the text.
			fmt.Sscanf(err.Error(), "yaml: line %d:", &line)
		}
		return nil, &ValidationError{[]Problem{{file, line, "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &ValidationError{[]Problem{{file, extra.Line, "more than one YAML document"}}}
	}
	c := p.config(&doc)
	if len(p.problems) > 0 {
		slices.SortStableFunc(p.problems, func(a, b Problem) int { return a.Line - b.Line })
		return nil, &ValidationError{p.problems}
	}
	return c, nil
}

type parser struct {
	file     string
	schema   schema
	problems []Problem
	// keyOf maps a mapping's value nodes to their keys: problems about a
	// value are reported on its key's line, where a reader looks.
	keyOf map[*yaml.Node]*yaml.Node
}

func (p *parser) addf(n *yaml.Node, format string, args ...any) {
	line := 0
	if k := p.keyOf[n]; k != nil {
		line = k.Line
	} else if n != nil {
		line = n.Line
	}
	p.problems = append(p.problems, Problem{p.file, line, fmt.Sprintf(format, args...)})
}

// fields walks a mapping node, refusing unknown and repeated keys, and
// returns the value node of each known key.
func (p *parser) fields(n *yaml.Node, where string, known ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		p.addf(n, "%s: want a mapping of %s", where, strings.Join(known, ", "))
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case !slices.Contains(known, k.Value):
			p.addf(k, "%s: unknown field %q (want %s)", where, k.Value, strings.Join(known, ", "))
		case out[k.Value] != nil:
			p.addf(k, "%s: field %q given twice", where, k.Value)
		default:
			out[k.Value] = v
			p.keyOf[v] = k
		}
	}
	return out
}

// scalar returns a required non-empty string value.
func (p *parser) scalar(m map[string]*yaml.Node, parent *yaml.Node, key string) (string, *yaml.Node) {
	v := m[key]
	if v == nil {
		p.addf(parent, "%s: required", key)
		return "", parent
	}
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" || strings.TrimSpace(v.Value) == "" {
		p.addf(v, "%s: want a non-empty value", key)
		return "", v
	}
	return strings.TrimSpace(v.Value), v
}

// list returns a sequence of non-empty strings; a missing key is an empty list.
func (p *parser) list(v *yaml.Node, key string) []string {
	if v == nil || v.Tag == "!!null" {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		p.addf(v, "%s: want a list", key)
		return nil
	}
	var out []string
	for _, it := range v.Content {
		s := strings.TrimSpace(it.Value)
		switch {
		case it.Kind != yaml.ScalarNode || s == "":
			p.addf(it, "%s: want a list of names", key)
		case slices.Contains(out, s):
			p.addf(it, "%s: %q listed twice", key, s)
		default:
			out = append(out, s)
		}
	}
	return out
}

// oneOf checks that a required scalar is one of the allowed values.
func (p *parser) oneOf(m map[string]*yaml.Node, parent *yaml.Node, key string, allowed ...string) string {
	s, n := p.scalar(m, parent, key)
	if s != "" && !slices.Contains(allowed, s) {
		p.addf(n, "%s: %q is not one of %s", key, s, strings.Join(allowed, ", "))
		return ""
	}
	return s
}

func (p *parser) date(m map[string]*yaml.Node, parent *yaml.Node, key string) (models.Date, bool) {
	s, n := p.scalar(m, parent, key)
	if s == "" {
		return 0, false
	}
	d, err := models.ParseDate(s)
	if err != nil {
		p.addf(n, "%s: %v", key, err)
		return 0, false
	}
	return d, true
}

func (p *parser) config(doc *yaml.Node) *Config {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		p.addf(doc, "empty config")
		return nil
	}
	root := doc.Content[0]
	m := p.fields(root, "purpose", "id", "title", "controller", "legal_basis", "category",
		"datasets", "sensitive", "generalise", "output", "access", "valid_from", "valid_until")
	if root.Kind != yaml.MappingNode {
		return nil
	}
	c := &Config{}
	var idNode *yaml.Node
	c.ID, idNode = p.scalar(m, root, "id")
	if c.ID != "" && !ValidID(c.ID) {
		p.addf(idNode, "id: %q must be 2-63 lower-case letters, digits or hyphens, starting with a letter or digit", c.ID)
	}
	c.Title, _ = p.scalar(m, root, "title")
	c.Controller, _ = p.scalar(m, root, "controller")
	p.legalBasis(c, m, root)
	cats := make([]string, len(categories))
	for i, x := range categories {
		cats[i] = string(x)
	}
	c.Category = Category(p.oneOf(m, root, "category", cats...))
	if c.Category == Research && c.Article9 != "" && c.Article9 != "9(2)(j)" && c.Article9 != "9(2)(a)" {
		p.addf(m["legal_basis"], "legal_basis: research needs article9 9(2)(j) (research and statistics) or 9(2)(a) (explicit consent), not %s", c.Article9)
	}
	p.datasets(c, m, root)
	for _, name := range p.list(m["sensitive"], "sensitive") {
		if !slices.Contains(SensitiveCategories, Sensitive(name)) {
			p.addf(m["sensitive"], "sensitive: %q is not one of mental_health, sexual_health, social_care, safeguarding", name)
			continue
		}
		c.Sensitive = append(c.Sensitive, Sensitive(name))
	}
	p.generalise(c, m, root)
	if v := m["output"]; v != nil {
		om := p.fields(v, "output", "suppression", "rows")
		c.Suppression = p.oneOf(om, v, "suppression", SuppressNHSD, SuppressOpenSAFELY)
		c.Rows = p.oneOf(om, v, "rows", RowsPseudonymised, RowsAggregates)
	} else {
		p.addf(root, "output: required (suppression and rows)")
	}
	if v := m["access"]; v != nil {
		am := p.fields(v, "access", "users", "roles")
		c.Users = p.list(am["users"], "access.users")
		c.Roles = p.list(am["roles"], "access.roles")
		for _, r := range c.Roles {
			if !slices.Contains(web.Roles, web.Role(r)) {
				p.addf(am["roles"], "access.roles: %q is not a role of the users file (want commissioner, ig_lead or operator)", r)
			}
		}
		if len(c.Users)+len(c.Roles) == 0 {
			p.addf(v, "access: name at least one user or role")
		}
	} else {
		p.addf(root, "access: required (users and/or roles)")
	}
	from, okFrom := p.date(m, root, "valid_from")
	until, okUntil := p.date(m, root, "valid_until")
	c.ValidFrom, c.ValidUntil = from, until
	if okFrom && okUntil && until < from {
		p.addf(m["valid_until"], "valid_until %s is before valid_from %s", until, from)
	}
	return c
}

func (p *parser) legalBasis(c *Config, m map[string]*yaml.Node, root *yaml.Node) {
	v := m["legal_basis"]
	if v == nil {
		p.addf(root, "legal_basis: required (article6 and article9)")
		return
	}
	lm := p.fields(v, "legal_basis", "article6", "article9")
	for _, a := range []struct {
		key  string
		list []basis
		dst  *string
	}{{"article6", article6, &c.Article6}, {"article9", article9, &c.Article9}} {
		s, n := p.scalar(lm, v, a.key)
		if s == "" {
			continue
		}
		b, ok := lookupBasis(a.list, s)
		if !ok {
			p.addf(n, "legal_basis.%s: %q is not one of %s", a.key, s, describeBases(a.list))
			continue
		}
		*a.dst = b.code
	}
}

func (p *parser) datasets(c *Config, m map[string]*yaml.Node, root *yaml.Node) {
	v := m["datasets"]
	if v == nil || v.Kind != yaml.MappingNode || len(v.Content) == 0 {
		p.addf(orNode(v, root), "datasets: want a mapping of lake table to the columns the purpose may see")
		return
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, cols := v.Content[i], v.Content[i+1]
		t := models.Table(k.Value)
		if _, known := p.schema[t]; !known {
			names := make([]string, len(models.Tables))
			for i, t := range models.Tables {
				names[i] = string(t)
			}
			p.addf(k, "datasets: %q is not a lake table (want %s)", k.Value, strings.Join(names, ", "))
			continue
		}
		if _, dup := c.Dataset(t); dup {
			p.addf(k, "datasets: table %s given twice", t)
			continue
		}
		d := Dataset{Table: t}
		if cols.Kind != yaml.SequenceNode || len(cols.Content) == 0 {
			p.addf(cols, "datasets.%s: want a list of columns", t)
			continue
		}
		for _, cn := range cols.Content {
			col, ok := p.schema.column(t, cn.Value)
			switch {
			case cn.Kind != yaml.ScalarNode:
				p.addf(cn, "datasets.%s: want column names", t)
			case !ok:
				p.addf(cn, "datasets.%s: %q is not a column of the lake table (models: %s)", t, cn.Value, strings.Join(p.schema.names(t), ", "))
			case col.kind == kindFreeText:
				p.addf(cn, "datasets.%s: %s is free text, which never enters purpose data", t, cn.Value)
			case col.kind == kindUnclassified:
				p.addf(cn, "datasets.%s: %s has not been classified for governance (purpose/columns.go), so no purpose may see it", t, cn.Value)
			case slices.Contains(d.Columns, cn.Value):
				p.addf(cn, "datasets.%s: %s listed twice", t, cn.Value)
			default:
				d.Columns = append(d.Columns, cn.Value)
			}
		}
		c.Datasets = append(c.Datasets, d)
	}
}

func (p *parser) generalise(c *Config, m map[string]*yaml.Node, root *yaml.Node) {
	v := m["generalise"]
	if v == nil {
		p.addf(root, "generalise: required (date_of_birth and postcode)")
		return
	}
	gm := p.fields(v, "generalise", "date_of_birth", "postcode")
	c.DateOfBirth = p.oneOf(gm, v, "date_of_birth", DOBYearMonth, DOBYear, DOBAgeBand)
	if n := gm["postcode"]; n != nil && strings.TrimSpace(n.Value) == "sector" {
		p.addf(n, "postcode: sector is finer than the lake keeps (district); want district or area")
	} else {
		c.Postcode = p.oneOf(gm, v, "postcode", PostcodeDistrict, PostcodeArea)
	}
	if c.DateOfBirth == DOBYear {
		if d, ok := c.Dataset(models.TablePerson); ok && slices.Contains(d.Columns, "month_of_birth") {
			p.addf(gm["date_of_birth"], "generalise.date_of_birth: year drops month_of_birth, which datasets.person lists: remove it there or keep year_month")
		}
	}
}

func orNode(n, fallback *yaml.Node) *yaml.Node {
	if n != nil {
		return n
	}
	return fallback
}
