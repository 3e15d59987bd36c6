package purpose

import (
	"fmt"

	"github.com/parquet-go/parquet-go"

	"github.com/pophealth/pophealth/models"
)

// columnKind says what a lake column holds, which decides how it may reach
// a purpose's data.
type columnKind int

const (
	// kindUnclassified is a column nobody has reviewed: it never reaches a
	// purpose (fail closed), so a column added to models must be classified
	// here before any purpose can name it.
	kindUnclassified columnKind = iota
	// kindPseudonym is a lake key (person_key, encounter_key): replaced by
	// the purpose's own pseudonym.
	kindPseudonym
	// kindQuasi is a quasi-identifier: generalised as the purpose says.
	kindQuasi
	// kindCoded is coded or numeric clinical content, a date or a status.
	kindCoded
	// kindLineage says where a row came from (feed, batch, arrival order).
	kindLineage
	// kindFreeText is text a person typed: it never enters purpose data.
	kindFreeText
)

// columnKinds classifies every lake column by name (a name means the same
// in every table). models is the source of the column names; this table is
// the governance view of them.
var columnKinds = map[string]columnKind{
	"person_key":        kindPseudonym,
	"encounter_key":     kindPseudonym,
	"year_of_birth":     kindQuasi,
	"month_of_birth":    kindQuasi,
	"postcode_district": kindQuasi,
	"sex":               kindQuasi,
	"practice_code":     kindQuasi,
	"registered_from":   kindQuasi,
	"death_month":       kindQuasi,
	// registered_to and deprivation_decile are the person columns the
	// deprivation work adds; classified here so that they are admissible
	// as soon as models has them.
	"registered_to":      kindQuasi,
	"deprivation_decile": kindQuasi,
	"source":             kindLineage,
	"batch_id":           kindLineage,
	"seq":                kindLineage,
	"nhs_number_status":  kindCoded,
	"event":              kindCoded,
	"class":              kindCoded,
	"admission_method":   kindCoded,
	"start_date":         kindCoded,
	"end_date":           kindCoded,
	"cancelled":          kindCoded,
	"code_system":        kindCoded,
	"code":               kindCoded,
	"recorded_date":      kindCoded,
	"value":              kindCoded,
	"unit":               kindCoded,
	"effective_date":     kindCoded,
	"authored_date":      kindCoded,
	"performed_date":     kindCoded,
}

// schema is the lake as purpose validation sees it: each table's columns
// in order with their kinds.
type schema map[models.Table][]schemaColumn

type schemaColumn struct {
	name string
	kind columnKind
}

// lakeSchema derives the schema from the models row types, the one source
// of truth for column names.
func lakeSchema() (schema, error) {
	s := schema{}
	for _, t := range models.Tables {
		row, err := models.RowOf(t)
		if err != nil {
			return nil, fmt.Errorf("purpose: %w", err)
		}
		for _, f := range parquet.SchemaOf(row).Fields() {
			s[t] = append(s[t], schemaColumn{name: f.Name(), kind: columnKinds[f.Name()]})
		}
	}
	return s, nil
}

func (s schema) column(t models.Table, name string) (schemaColumn, bool) {
	for _, c := range s[t] {
		if c.name == name {
			return c, true
		}
	}
	return schemaColumn{}, false
}

func (s schema) names(t models.Table) []string {
	out := make([]string, len(s[t]))
	for i, c := range s[t] {
		out[i] = c.name
	}
	return out
}
