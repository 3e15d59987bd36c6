// Package risk scores people on the published comorbidity and frailty
// indices commissioners use to stratify a population: the Charlson
// Comorbidity Index (Quan 2005 ICD-10 coding algorithm, Quan 2011 weights),
// the Elixhauser comorbidities (Quan 2005 ICD-10, van Walraven 2009
// weights), the electronic Frailty Index (Clegg 2016, 36 deficits from
// SNOMED CT) and the LACE index for readmission after a discharge.
//
// The code tables are CSV files in tables/, embedded in the binary, written
// in the form the papers print them (ICD-10 with the dot, "x" for "any
// further characters", ranges such as I42.5-I42.9) so that a clinician or
// analyst can check them against the publication line by line. Weights and
// hierarchy rules ("diabetes with complications supersedes diabetes
// without") sit in the same folder. The Go code only matches and adds up.
//
// Matching follows the reference implementations: an ICD-10 code is
// upper-cased and stripped of everything but letters and digits (so I50.0,
// i500 and "I50 0" are the same code), and it belongs to a condition when
// it starts with one of the condition's codes. A condition counts once
// however many of a person's codes match it. SNOMED CT concepts match
// exactly.
//
// Scores are pure functions of their inputs: nothing here reads the lake.
// Package riskmodel extracts the inputs from the lake with SQL and uses
// these scores as features.
package risk
