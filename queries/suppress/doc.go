// Package suppress is the small-number gate every aggregate leaving
// pophealth passes through: commissioners' reports and the results of an
// aggregates-only purpose.
//
// A Profile is the published rule for one count:
//
//   - NHSD (NHS Digital): 1 to 7 withheld as "*", 0 shown as 0, every
//     other count rounded to the nearest 5; totals rounded separately from
//     their exact values.
//   - OpenSAFELY: 0 to 7 redacted as "*", every other count rounded to the
//     nearest 5; totals are recomputed as the sum of the published parts, so
//     a total says nothing about the redacted ones.
//
// A withheld cell is always marked (Cell.Suppressed, "*" in text and JSON),
// never shown as a silent 0, and a published 0 is a number, not a
// withheld cell.
//
// Protect adds secondary suppression: when totals tie cells together
// (Grid.Lines), a withheld cell whose value would follow from the published
// cells and the totals is protected by withholding the next-smallest cell of
// one of its lines, repeated until no withheld cell can be recovered by any
// combination of the lines (checked by linear algebra, not only line by
// line).
//
// Gate applies all of this to an arbitrary query result: it refuses a
// result that holds a person-level key, finds the count columns by their
// values (any whole-number column, whatever its name or type), finds total
// rows and columns, and returns a Table whose cells are safe to show.
// Nothing in this package can be switched off by a caller.
package suppress
