// Package riskmodel predicts emergency hospital admission in the next 12
// months for everyone in the lake, and ranks the population into the tiers
// of the Kaiser Permanente pyramid.
//
// The model is a logistic regression fitted by iteratively reweighted least
// squares (Fit) on features that sql/features.sql extracts from the lake
// views on an index date: age, sex, the Charlson score of the person's
// ICD-10 codes and their electronic Frailty Index (both scored by package
// risk, so the CLI's "risk score" and the model agree), emergency
// admissions and A&E attendances in the 12 months before, and the number
// of different medicines prescribed in those 12 months. The lake holds no
// deprivation measure yet (postcode district only), so there is no
// deprivation feature.
//
// Fitting uses a temporal split: features on T-1 with admissions in the
// following year as outcome fit the model; features on T with the year
// after T as outcome validate it (AUROC with a DeLong confidence interval,
// calibration by decile, positive predictive value in the top 0.5% and
// 5%). The fitted Model records its version, the index dates and the lake
// batches it was fitted on, and is stored as JSON in the workspace.
package riskmodel
