// Package cohort compiles cohort definitions written in YAML into DuckDB
// SQL over the lake views, runs them with attrition per rule, and checks
// them against hand-written patient timelines.
//
// A Spec names its code lists (OpenCodelists CSV files: code,term), an
// entry event (first, every or latest occurrence of a code list in the
// study period), the days of registration required before the index date,
// named inclusion and exclusion rules built from nested all / any /
// at_least / at_most groups of criteria, and an exit. A criterion is a code
// list occurrence in a window relative to the index date (with a count
// and, for observations, a value threshold on the latest or any value), an
// age range at index, a sex, a set of practices or a range of IMD
// deprivation deciles. The exit is the earliest of the end of the study,
// death, the end of registration and a fixed offset. docs/cohorts.md is
// the analyst's guide; examples/ holds specs, code lists, assurance tests
// and the hand-written query the compiled example is checked against.
//
// Compile is the one place a spec becomes SQL (dialect: DuckDB); Check
// finds problems before anything runs; Run executes on an engine in one
// statement and tallies attrition and counts; Result.Report renders them,
// suppressed, with charts; Assure runs a spec on small synthetic lakes
// built from timelines.
package cohort
