package cohort

import "embed"

// Examples holds the example specs of examples/ with their code lists,
// assurance timelines and the hand-written DuckDB SQL that the example
// t2d-poor-control.yaml is checked and benchmarked against
// (t2d-poor-control.handwritten.sql), so that the binary can run them
// (pophealth bench) without the source tree.
//
//go:embed examples
var Examples embed.FS
