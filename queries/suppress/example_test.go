package suppress_test

import (
	"fmt"

	"github.com/pophealth/pophealth/queries/suppress"
)

func ExampleGate() {
	// A result as the sandbox returns it: counts by age band and sex with a
	// total column and a total row.
	columns := []string{"age_band", "female", "male", "people"}
	rows := [][]any{
		{"18-44", int64(3), int64(40), int64(43)},
		{"45-64", int64(25), int64(31), int64(56)},
		{"65+", int64(60), int64(52), int64(112)},
		{"All ages", int64(88), int64(123), int64(211)},
	}
	table, err := suppress.Gate(suppress.NHSD, columns, nil, rows)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, row := range table.Rows {
		fmt.Println(row)
	}
	_, err = suppress.Gate(suppress.NHSD, []string{"person_key", "n"}, nil, [][]any{{"9f86d081884c7d65", int64(12)}})
	fmt.Println(err)
	// Output:
	// [18-44 * * 45]
	// [45-64 * * 55]
	// [65+ 60 50 110]
	// [All ages 90 125 210]
	// suppress: result refused: column "person_key" holds person-level keys; an aggregates-only purpose publishes counts, never pseudonyms
}
