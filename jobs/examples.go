package jobs

import "embed"

// Examples holds the example job files (examples/*.yaml): demo.yaml is
// what "pophealth demo" writes into its workspace.
//
//go:embed examples/*.yaml
var Examples embed.FS
