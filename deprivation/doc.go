// Package deprivation maps small areas to their deprivation decile: the
// English Index of Multiple Deprivation (IMD), published by MHCLG for each
// Lower-layer Super Output Area (LSOA, about 1,500 residents).
//
// The lake keeps a person's IMD decile, not their LSOA. Ingest looks the GP
// extract's LSOA up here while it pseudonymises, and the LSOA itself never
// leaves memory: an LSOA with month of birth and sex singles out most
// people (1,500 residents spread over some 2,400 birth-month-and-sex cells),
// whereas a decile is shared by a tenth of England. See docs/deprivation.md
// for the reasoning and for the published file's format.
//
// The real IMD file cannot be shipped with pophealth's synthetic data, so
// Synthetic returns a made-up lookup in the published file's format for the
// LSOAs the synthetic population lives in. Its codes (E019xxxxx) have never
// been issued by ONS, so a real extract's LSOAs never match it.
package deprivation
