package jobs

import (
	"sync/atomic"

	"github.com/pophealth/pophealth/ingest/feed"
	"github.com/pophealth/pophealth/models"
)

// pipeline is a feed.Sink that hands what a parser produces to another
// sink running on a goroutine of its own, in order, in batches. With the
// lake's encoder that makes three stages (parse | link, pseudonymise and
// build rows | encode and write Parquet), which keeps both cores of a small
// machine busy; the profile of an HL7 v2 ingest put two thirds of the work
// in parsing and linking alone.
//
// Errors of the downstream sink surface at a later Record or Quarantine
// call, or at close; after one, the rest of the file is dropped and the
// batch fails, so nothing half-handled is committed.
type pipeline struct {
	out  feed.Sink
	cur  []sunk
	work chan []sunk
	free chan []sunk
	done chan struct{}

	failed atomic.Bool
	err    error // the downstream error, written before failed is set
	// sent counts Record and Quarantine calls, for progress displays.
	sent int64
}

// sunk is one Record (rec) or Quarantine (q) call.
type sunk struct {
	rec models.Record
	q   models.Quarantined
}

const (
	pipelineBatch = 256 // calls per hand-over
	pipelineDepth = 4   // batches in flight: bounds memory
)

// startPipeline starts the downstream goroutine; the caller must call close.
func startPipeline(out feed.Sink) *pipeline {
	p := &pipeline{
		out:  out,
		work: make(chan []sunk, pipelineDepth),
		free: make(chan []sunk, pipelineDepth+2),
		done: make(chan struct{}),
	}
	go p.run()
	return p
}

func (p *pipeline) run() {
	defer close(p.done)
	for batch := range p.work {
		if !p.failed.Load() {
			for i := range batch {
				var err error
				if s := &batch[i]; s.rec != nil {
					err = p.out.Record(s.rec)
				} else {
					err = p.out.Quarantine(s.q)
				}
				if err != nil {
					p.err = err
					p.failed.Store(true)
					break
				}
			}
		}
		clear(batch)
		select {
		case p.free <- batch[:0]:
		default:
		}
	}
}

// Record implements feed.Sink.
func (p *pipeline) Record(r models.Record) error { return p.add(sunk{rec: r}) }

// Quarantine implements feed.Sink.
func (p *pipeline) Quarantine(q models.Quarantined) error { return p.add(sunk{q: q}) }

func (p *pipeline) add(s sunk) error {
	if p.failed.Load() {
		return p.err
	}
	p.sent++
	if p.cur == nil {
		select {
		case p.cur = <-p.free:
		default:
			p.cur = make([]sunk, 0, pipelineBatch)
		}
	}
	p.cur = append(p.cur, s)
	if len(p.cur) == pipelineBatch {
		p.work <- p.cur
		p.cur = nil
	}
	return nil
}

// close hands over what is left, waits for the downstream sink to handle
// everything and returns its error, if any.
func (p *pipeline) close() error {
	if len(p.cur) > 0 {
		p.work <- p.cur
		p.cur = nil
	}
	close(p.work)
	<-p.done
	if p.failed.Load() {
		return p.err
	}
	return nil
}
