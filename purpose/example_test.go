package purpose_test

import (
	"fmt"

	"github.com/pophealth/pophealth/purpose"
)

// Parse names the file and line of every problem, so an IG lead can fix a
// config before approving it.
func ExampleParse() {
	_, err := purpose.Parse("purposes/asthma.yaml", []byte(`id: asthma-review
title: Asthma review
controller: NHS Example ICB
legal_basis: {article6: 6(1)(e), article9: 9(2)(x)}
category: planning/commissioning
datasets:
  person: [person_key, sex]
  gp_notes: [person_key, text]
sensitive: []
generalise: {date_of_birth: age_band, postcode: sector}
output: {suppression: nhsd, rows: aggregates}
access: {users: [alice]}
valid_from: 2026-12-01
valid_until: 2027-03-31
`))
	fmt.Println(err)
	// Output:
	// purposes/asthma.yaml:4: legal_basis.article9: "9(2)(x)" is not one of 9(2)(a) (explicit consent), 9(2)(b) (employment, social security and social protection law), 9(2)(c) (vital interests of someone unable to consent), 9(2)(d) (not-for-profit body's members), 9(2)(e) (made manifestly public by the data subject), 9(2)(f) (legal claims or judicial acts), 9(2)(g) (substantial public interest), 9(2)(h) (health or social care), 9(2)(i) (public health), 9(2)(j) (archiving, scientific or historical research, or statistics)
	// purposes/asthma.yaml:8: datasets: "gp_notes" is not a lake table (want person, encounter, diagnosis, observation, medication, procedure)
	// purposes/asthma.yaml:10: postcode: sector is finer than the lake keeps (district); want district or area
}
