package link

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/models/nhsnumber"
)

// benchPopulation generates index rows for people (ids from first): each
// has a GP record and, a quarter of them, a second record from another
// feed. 10% of records have no usable NHS number (missing or mistyped),
// 5% a name typo, 5% another postcode. Names are built from syllables with
// a skewed distribution, so blocks have realistic sizes (common surnames
// are common).
func benchPopulation(r *rand.Rand, first, people int, batch string) []models.LinkRow {
	syll := strings.Fields("an ber car dan el fi gar han is jo ka li mor nel os pa quin ros sa tan ul vin wes xa yor zel ba co de ga")
	word := func(parts int) string {
		var b strings.Builder
		for range parts {
			// Skew: low syllables far more often.
			k := int(float64(len(syll)) * math.Pow(r.Float64(), 1.5))
			b.WriteString(syll[k])
		}
		s := b.String()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	rows := make([]models.LinkRow, 0, people*5/4)
	for i := first; i < first+people; i++ {
		nine := strconv.Itoa(100_000_000 + i*3)
		c, ok := nhsnumber.CheckDigit(nine)
		for !ok {
			nine = strconv.Itoa(100_000_000 + i*3 + 1)
			c, ok = nhsnumber.CheckDigit(nine)
		}
		nhs := nine + string(c)
		given, family := word(2), word(2+r.IntN(2))
		dob := models.NewDate(1920+r.IntN(100), time.Month(1+r.IntN(12)), 1+r.IntN(28))
		sex := [...]string{"male", "female"}[r.IntN(2)]
		pc := fmt.Sprintf("%c%c%d %d%c%c", 'A'+r.IntN(26), 'A'+r.IntN(26), 1+r.IntN(30), r.IntN(10), 'A'+r.IntN(26), 'A'+r.IntN(26))
		n := 1
		if r.IntN(4) == 0 {
			n = 2
		}
		for k := range n {
			row := models.LinkRow{
				Feed: [...]string{"gp", "fhir", "hl7v2"}[k+r.IntN(2)*k], LocalID: fmt.Sprintf("L%d-%d", i, k),
				PersonID: fmt.Sprintf("P%d-%d", i, k), NHSNumber: nhs, NHSNumberStatus: string(models.NHSValid),
				Method: models.LinkNew, BatchID: batch,
				GivenName: given, FamilyName: family, BirthDate: &dob, Sex: sex, Postcode: pc,
			}
			switch u := r.Float64(); {
			case u < 0.05:
				row.NHSNumber, row.NHSNumberStatus = "", string(models.NHSMissing)
			case u < 0.10:
				row.NHSNumber, row.NHSNumberStatus = nhs[:9]+string('0'+(nhs[9]-'0'+1)%10), string(models.NHSInvalid)
			}
			if r.Float64() < 0.05 {
				row.FamilyName = family[:len(family)-1] + "e"
			}
			if r.Float64() < 0.05 {
				row.Postcode = fmt.Sprintf("%c%c%d %d%c%c", 'A'+r.IntN(26), 'A'+r.IntN(26), 1+r.IntN(30), r.IntN(10), 'A'+r.IntN(26), 'A'+r.IntN(26))
			}
			rows = append(rows, row)
		}
	}
	return rows
}

func commitBench(b *testing.B, lk *lake.Lake, id string, rows []models.LinkRow) {
	bt, err := lk.Begin(id)
	if err != nil {
		b.Fatal(err)
	}
	if err := lake.Append(bt, LinksDir, rows...); err != nil {
		b.Fatal(err)
	}
	if err := bt.Commit(lake.Manifest{BatchID: id}); err != nil {
		b.Fatal(err)
	}
}

// peakRSSMB reads the process's peak resident set (Linux), 0 elsewhere.
func peakRSSMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// benchPeople is the population size of a benchmark: the environment
// variable name's value, or def.
func benchPeople(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		b.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

// newBatch returns the benchmarks' incremental batch: 10,000 records, half
// for people already indexed (under other local ids), half for new people.
func newBatch(people int, batch string) []models.LinkRow {
	more := benchPopulation(rand.New(rand.NewPCG(2, 2)), people, 5000, batch)
	again := benchPopulation(rand.New(rand.NewPCG(1, 1)), 0, 4000, batch)
	for i := range again {
		again[i].LocalID += "-again"
	}
	return append(more, again...)[:10_000]
}

func recordsOf(rows []models.LinkRow) []Record {
	recs := make([]Record, len(rows))
	for i, r := range rows {
		recs[i] = Record{ID: SourceID(r.Feed, r.LocalID), NHSNumber: r.NHSNumber, NHSStatus: models.NHSNumberStatus(r.NHSNumberStatus),
			GivenName: r.GivenName, FamilyName: r.FamilyName, BirthDate: r.BirthDate.String(), Sex: r.Sex, Postcode: r.Postcode}
	}
	return recs
}

// BenchmarkResident is the linkage itself, in memory: a full link of
// LINK_BENCH_PEOPLE people (default 1,000,000: about 1.25 million records,
// 10% without a usable NHS number), then an incremental batch of 10,000
// records against that index (Resident.Add). Peak RSS is the benchmark
// process's, generated input included.
func BenchmarkResident(b *testing.B) {
	people := benchPeople(b, "LINK_BENCH_PEOPLE", 1_000_000)
	recs := recordsOf(benchPopulation(rand.New(rand.NewPCG(1, 1)), 0, people, ""))
	batch := recordsOf(newBatch(people, ""))
	for b.Loop() {
		cpu0 := cpuSeconds()
		start := time.Now()
		r, full, err := NewResident(context.Background(), recs, DefaultSettings())
		if err != nil {
			b.Fatal(err)
		}
		fullS, fullCPU := time.Since(start).Seconds(), cpuSeconds()-cpu0
		cpu1 := cpuSeconds()
		start = time.Now()
		if _, err := r.Add(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(recs)), "records")
		b.ReportMetric(float64(full.Stats.CandidatePairs), "pairs")
		b.ReportMetric(fullS, "full-s")
		b.ReportMetric(fullCPU, "full-cpu-s")
		b.ReportMetric(time.Since(start).Seconds(), "incremental-10k-s")
		b.ReportMetric(cpuSeconds()-cpu1, "incremental-cpu-s")
		b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
	}
}

// BenchmarkRun links an index through the lake as "pophealth link" does,
// reading and writing the restricted zone: a full run, then an incremental
// run of a 10,000-record batch. LINK_RUN_PEOPLE people (default 200,000;
// the 1,000,000 figure in BENCHMARKS.md sets it).
func BenchmarkRun(b *testing.B) {
	people := benchPeople(b, "LINK_RUN_PEOPLE", 200_000)
	r := rand.New(rand.NewPCG(1, 1))
	rows := benchPopulation(r, 0, people, "20260101T000000Z-000001")
	for b.Loop() {
		b.StopTimer()
		lk, key := testLake(b)
		commitBench(b, lk, "20260101T000000Z-000001", rows)
		b.StartTimer()
		cpu0 := cpuSeconds()
		full, err := Run(context.Background(), lk, RunOptions{BatchID: "20260101T000000Z-000002", Key: key, Settings: DefaultSettings()})
		if err != nil {
			b.Fatal(err)
		}
		fullCPU := cpuSeconds() - cpu0
		b.StopTimer()
		batch := newBatch(people, "20260101T000000Z-000003")
		commitBench(b, lk, "20260101T000000Z-000003", batch)
		cpu1 := cpuSeconds()
		inc, err := Run(context.Background(), lk, RunOptions{BatchID: "20260101T000000Z-000004", Key: key, Settings: DefaultSettings()})
		if err != nil {
			b.Fatal(err)
		}
		incCPU := cpuSeconds() - cpu1
		for _, st := range full.Stats.Blocking {
			b.Logf("rule %s: %d pairs, %d blocks skipped", st.Rule, st.Pairs, st.SkippedBlocks)
		}
		b.ReportMetric(float64(len(rows)), "records")
		b.ReportMetric(full.Seconds, "full-s")
		b.ReportMetric(float64(full.Stats.CandidatePairs), "pairs")
		b.ReportMetric(inc.Seconds, "incremental-10k-s")
		b.ReportMetric(fullCPU, "full-cpu-s")
		b.ReportMetric(incCPU, "incremental-cpu-s")
		b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
		b.StartTimer()
	}
}
