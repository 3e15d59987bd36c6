// Package synth generates a deterministic synthetic population and the
// exchange feeds pophealth ingests: a GP extract (CSV), FHIR R4 Bulk Data
// NDJSON from a community trust and HL7 v2.4 ADT messages from an acute
// trust, under one output directory.
//
// The population has England's age and sex structure, long-term conditions
// at realistic prevalence rising with age, deaths, and hospital admissions
// whose emergency rate rises with age and the number of conditions, so that
// cohort and risk reports have something true to find. Identifier dirt
// (missing or mistyped NHS numbers, name variants, old postcodes) and
// deliberately malformed records exercise linkage and quarantine.
//
// Alongside the feeds Generate writes the answers tests need: truth.csv maps
// every person-bearing record to its true person, malformed.csv locates
// every broken record, and synth.json (the Summary) counts everything.
// docs/synth.md describes the model and the files.
//
// Generation is streamed in chunks of people with their own seeded random
// sources, so a million people take well under a minute of CPU in bounded
// memory, and the files are identical for the same Options whatever the
// number of workers.
package synth
