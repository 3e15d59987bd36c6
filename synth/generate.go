package synth

import (
	"context"
	"sync"
)

// Generate writes a synthetic population's feeds, truth.csv, malformed.csv
// and synth.json under opts.OutDir and returns the Summary.
//
// People are generated in fixed chunks of 1,000, each from its own random
// source seeded by opts.Seed and the chunk number, by opts.Workers
// goroutines; chunks are written in order as they complete. The output is
// therefore byte-identical for the same options whatever the number of
// workers, and memory stays bounded by a few chunks in flight whatever the
// population size.
//
// Files are written under temporary names and renamed into place only when
// all are complete, so a cancelled or failed run leaves no half-written
// feed behind. progress, if not nil, is called from Generate's goroutine
// after each chunk with the number of people written so far.
func Generate(ctx context.Context, opts Options, progress func(donePeople, totalPeople int)) (Summary, error) {
	if err := opts.validate(); err != nil {
		return Summary{}, err
	}
	m, err := newModel(opts)
	if err != nil {
		return Summary{}, err
	}
	out, err := createOutput(opts.OutDir)
	if err != nil {
		return Summary{}, err
	}
	defer out.abort()

	sum := newSummary(opts, m)
	if err := run(ctx, m, func(c *chunk) error {
		if err := out.write(c); err != nil {
			return err
		}
		sum.add(c, m)
		if progress != nil {
			progress(sum.People, opts.People)
		}
		return nil
	}); err != nil {
		return Summary{}, err
	}
	if err := out.commit(&sum); err != nil {
		return Summary{}, err
	}
	return sum, nil
}

// run generates every chunk with m.opts.Workers workers and passes the
// chunks to consume in order. A chunk is reused after consume returns.
func run(ctx context.Context, m *model, consume func(*chunk) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := m.opts.Workers
	nChunks := (m.opts.People + chunkSize - 1) / chunkSize

	type job struct {
		index int
		done  chan *chunk // receives the chunk, or nil when cancelled
	}
	jobs := make(chan job)
	// order holds the jobs in chunk order; its capacity bounds the number
	// of chunks generated ahead of the writer.
	order := make(chan job, 2*workers)
	free := make(chan *chunk, cap(order)+workers+1)

	go func() {
		defer close(jobs)
		defer close(order)
		for i := range nChunks {
			j := job{i, make(chan *chunk, 1)}
			select {
			case order <- j:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- j:
			case <-ctx.Done():
				return
			}
		}
	}()

	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			w := newWorker(m)
			for j := range jobs {
				if ctx.Err() != nil {
					j.done <- nil
					continue
				}
				var c *chunk
				select {
				case c = <-free:
				default:
					c = new(chunk)
				}
				w.fill(c, j.index)
				j.done <- c
			}
		})
	}
	defer wg.Wait()
	defer cancel() // runs before wg.Wait: stops the dispatcher on early return

	for j := range order {
		var c *chunk
		select {
		case c = <-j.done:
		case <-ctx.Done():
		}
		if c == nil || ctx.Err() != nil {
			return ctx.Err()
		}
		if err := consume(c); err != nil {
			return err
		}
		select {
		case free <- c:
		default:
		}
	}
	return ctx.Err()
}

// fill generates chunk index into c.
func (w *worker) fill(c *chunk, index int) {
	c.reset(index, len(w.m.conds))
	w.r = chunkRand(w.m.opts.Seed, index)
	first := index * chunkSize
	last := min(w.m.opts.People, first+chunkSize)
	for i := first; i < last; i++ {
		w.newPerson(i)
		p, st := &w.p, &c.stats
		st.people++
		if p.died {
			st.deaths++
		}
		if p.moved {
			st.moved++
		}
		for k := range p.conds {
			if p.conds[k].has {
				st.conds[k]++
			}
		}
		w.writeGP(c)
		w.writeFHIR(c)
		w.writeHL7(c)
	}
	w.flushHL7(c)
}
