package risk_test

import (
	"fmt"

	"github.com/pophealth/pophealth/queries/risk"
)

// A person with heart failure, diabetes with and without complications
// (the complicated form supersedes) and CKD, coded with and without dots.
func ExampleComorbidityIndex_Score() {
	charlson, err := risk.Charlson(risk.Quan2011)
	if err != nil {
		panic(err)
	}
	res := charlson.Score([]string{"I50.0", "e11.4", "E119", "N183", "J18.9"})
	fmt.Println("score", res.Score)
	for _, c := range res.Conditions {
		fmt.Println(c.Key, c.Weight, c.Superseded, c.Codes)
	}
	fmt.Println("unmatched", res.Unmatched)
	// Output:
	// score 4
	// chf 2 false [I500]
	// diab 0 true [E119]
	// diabwc 1 false [E114]
	// rend 1 false [N183]
	// unmatched [J189]
}

func ExampleFrailtyCategory() {
	for _, n := range []int{4, 5, 12, 13} {
		fmt.Printf("%d deficits: eFI %.2f %s\n", n, float64(n)/risk.Deficits, risk.FrailtyCategory(n))
	}
	// Output:
	// 4 deficits: eFI 0.11 fit
	// 5 deficits: eFI 0.14 mild
	// 12 deficits: eFI 0.33 moderate
	// 13 deficits: eFI 0.36 severe
}
