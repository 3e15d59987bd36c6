package synth

import (
	"math/rand/v2"
	"testing"
)

func TestPickReason_FitsThePersonsAgeSexAndConditions(t *testing.T) {
	m, err := newModel(DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	w := newWorker(m)
	w.r = rand.New(rand.NewPCG(9, 10))
	for age := 0; age <= maxAge; age++ {
		for _, male := range []bool{false, true} {
			w.p.age, w.p.male = age, male
			for c := range w.p.conds {
				w.p.conds[c].has = w.r.IntN(4) == 0
			}
			for _, list := range [][]reason{m.emergencyReasons, m.electiveReasons} {
				for range 20 {
					r := w.pickReason(list)
					if age < r.minAge || age > r.maxAge || r.sex == "male" && !male || r.sex == "female" && male || r.cond >= 0 && !w.p.conds[r.cond].has {
						t.Fatalf("age %d, male %v, conditions %v: picked %+v", age, male, w.p.conds, r.admissionReason)
					}
				}
			}
		}
	}
}

func TestNewModel_ResolvesEveryConditionAgainstTheCodeLists(t *testing.T) {
	m, err := newModel(DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range m.conds {
		if len(c.variants) == 0 || len(c.meds) == 0 || c.scale <= 0 {
			t.Errorf("%s: %d variants, %d medications, scale %v", c.name, len(c.variants), len(c.meds), c.scale)
		}
		for _, v := range c.variants {
			if _, ok := icd10Detail[v.icd[:3]]; !ok && v.icd[3:] != ".X" {
				t.Errorf("%s: ICD-10 %s has no four-character form", c.name, v.icd)
			}
		}
	}
}
