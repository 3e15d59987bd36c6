package jobs

import (
	"context"
	"testing"

	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/link"
	"github.com/pophealth/pophealth/queries"
	"github.com/pophealth/pophealth/synth"
)

// sourceTruth reads synth's truth.csv as source patient (feed/local_id)
// to true person.
func sourceTruth(t *testing.T, feeds string) map[string]string {
	t.Helper()
	rows, err := synth.ReadTruth(feeds)
	if err != nil {
		t.Fatal(err)
	}
	truth := map[string]string{}
	for _, r := range rows {
		truth[link.SourceID(r.Feed, r.LocalID)] = r.PersonID
	}
	return truth
}

// personLevel scores the index's persons against the truth over the
// source patients both know.
func personLevel(t *testing.T, lk *lake.Lake, truth map[string]string) link.Metrics {
	t.Helper()
	persons, err := link.Persons(context.Background(), lk)
	if err != nil {
		t.Fatal(err)
	}
	var pred, want []string
	for s, p := range persons {
		if tr, ok := truth[s]; ok {
			pred, want = append(pred, p), append(want, tr)
		}
	}
	if len(pred) < len(truth)*9/10 {
		t.Fatalf("index links %d of %d true source patients", len(pred), len(truth))
	}
	return link.Score(pred, want)
}

// TestLink_SyntheticPopulationQuality links the ingest fixture's synthetic
// population (synth's default dirt: 5% of records lacking an NHS number,
// 1% carrying a wrong one) and checks the person-level floors of issue 4.
func TestLink_SyntheticPopulationQuality(t *testing.T) {
	f := newFixture(t)
	lk, key := f.lake, f.key
	unlinked := distinctPersonKeys(t, lk)
	res, err := Link(context.Background(), lk, LinkOptions{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	m := personLevel(t, lk, sourceTruth(t, f.feeds))
	t.Logf("%d source patients, %d people: precision %.5f recall %.5f F1 %.5f (%d NHS links rejected)",
		res.Sources, res.Persons, m.Precision, m.Recall, m.F1, res.Stats.Detached)
	if m.Precision < 0.999 || m.Recall < 0.99 {
		t.Errorf("precision %.5f recall %.5f, want at least 0.999 and 0.99", m.Precision, m.Recall)
	}

	// The query views see linked people: rows written under the ingest
	// job's ids follow the key map.
	if n := distinctPersonKeys(t, lk); n != res.Persons || unlinked <= n {
		t.Errorf("query views show %d people (%d before linkage), linkage found %d", n, unlinked, res.Persons)
	}
}

// distinctPersonKeys counts the people the query views show.
func distinctPersonKeys(t *testing.T, lk *lake.Lake) int {
	t.Helper()
	eng, err := queries.Open(context.Background(), lk)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	res, err := eng.Query(context.Background(), `SELECT count(DISTINCT person_key) FROM person`)
	if err != nil {
		t.Fatal(err)
	}
	return int(res.Rows[0][0].(int64))
}
