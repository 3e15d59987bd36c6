package jobs

import (
	"errors"
	"fmt"
	"testing"

	"github.com/pophealth/pophealth/models"
)

// orderSink records what it receives and fails at call number failAt
// (1-based; 0: never).
type orderSink struct {
	got    []string
	failAt int
}

var errSinkFull = errors.New("sink full")

func (s *orderSink) take(what string) error {
	if len(s.got)+1 == s.failAt {
		return errSinkFull
	}
	s.got = append(s.got, what)
	return nil
}

func (s *orderSink) Record(r models.Record) error { return s.take("record " + r.Subject()) }

func (s *orderSink) Quarantine(q models.Quarantined) error { return s.take("quarantine " + q.Reason) }

func TestPipeline_DeliversEveryCallInOrder(t *testing.T) {
	for _, n := range []int{0, 1, pipelineBatch - 1, pipelineBatch, pipelineBatch*(pipelineDepth+3) + 7} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			out := &orderSink{}
			p := startPipeline(out)
			var want []string
			for i := range n {
				var err error
				if i%5 == 4 {
					err = p.Quarantine(models.Quarantined{Reason: fmt.Sprint(i)})
					want = append(want, fmt.Sprintf("quarantine %d", i))
				} else {
					err = p.Record(&models.Observation{PatientID: fmt.Sprint(i)})
					want = append(want, fmt.Sprintf("record %d", i))
				}
				if err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
			}
			if err := p.close(); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(out.got) != fmt.Sprint(want) {
				t.Errorf("sink got %d calls %v\nwant %d", len(out.got), out.got, len(want))
			}
			if p.sent != int64(n) {
				t.Errorf("sent = %d, want %d", p.sent, n)
			}
		})
	}
}

func TestPipeline_StopsAtTheSinksFirstError(t *testing.T) {
	const failAt = pipelineBatch + 3
	out := &orderSink{failAt: failAt}
	p := startPipeline(out)
	var addErr error
	for i := 0; i < pipelineBatch*(pipelineDepth+4) && addErr == nil; i++ {
		addErr = p.Record(&models.Observation{PatientID: fmt.Sprint(i)})
	}
	if err := p.close(); !errors.Is(err, errSinkFull) {
		t.Errorf("close: err = %v, want %v", err, errSinkFull)
	}
	if addErr != nil && !errors.Is(addErr, errSinkFull) {
		t.Errorf("Record: err = %v, want nil or %v", addErr, errSinkFull)
	}
	if len(out.got) != failAt-1 {
		t.Errorf("sink took %d calls after failing at call %d, want %d", len(out.got), failAt, failAt-1)
	}
}
