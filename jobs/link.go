package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/link"
	"github.com/pophealth/pophealth/pseudonymise"
)

// LinkOptions configures a linkage run (the job behind "pophealth link").
type LinkOptions struct {
	// Key is the lake key person pseudonyms derive from.
	Key pseudonymise.Key
	// Full retrains the model and relinks every source patient.
	Full bool
	// Settings are the model settings; the zero value means
	// link.DefaultSettings.
	Settings *link.Settings
	Logger   *slog.Logger
	// Progress, when set, is told each step as it starts.
	Progress func(step string)
}

// Link links the lake's master person index (link.Run) in a new batch:
// verified NHS numbers first, Fellegi-Sunter for the rest, incrementally
// when an earlier run trained a model. A scheduler calls it after ingest.
func Link(ctx context.Context, lk *lake.Lake, opts LinkOptions) (link.RunResult, error) {
	batchID, err := newBatchID(time.Now())
	if err != nil {
		return link.RunResult{}, err
	}
	s := link.DefaultSettings()
	if opts.Settings != nil {
		s = *opts.Settings
	}
	return link.Run(ctx, lk, link.RunOptions{BatchID: batchID, Key: opts.Key, Full: opts.Full, Settings: s, Logger: opts.Logger, Progress: opts.Progress})
}

// LinkDecision records a clerical review decision (link.Decide) in a new
// batch.
func LinkDecision(ctx context.Context, lk *lake.Lake, a, b, decision, by string) (string, error) {
	now := time.Now()
	batchID, err := newBatchID(now)
	if err != nil {
		return "", err
	}
	return batchID, link.Decide(ctx, lk, batchID, a, b, decision, by, now)
}
