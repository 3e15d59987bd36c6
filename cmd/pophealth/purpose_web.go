package main

import (
	"context"
	"time"

	"github.com/pophealth/pophealth/purpose"
	"github.com/pophealth/pophealth/web"
	"github.com/pophealth/pophealth/workspace"
)

// purposeSource shows the workspace's purposes on the web front's IG page
// (web.PurposeSource), wired by serve.
type purposeSource struct {
	ws *workspace.Workspace
}

// ListPurposes implements web.PurposeSource: every purpose with its status
// today and, for one changed since approval, the diff.
func (s purposeSource) ListPurposes(context.Context) ([]web.PurposeView, error) {
	l, err := purpose.OpenLedger(s.ws)
	if err != nil {
		return nil, err
	}
	states, err := l.List(time.Now())
	if err != nil {
		return nil, err
	}
	out := make([]web.PurposeView, 0, len(states))
	for _, st := range states {
		v := web.PurposeView{ID: st.ID, Title: st.Title, Status: string(st.Status)}
		if st.Record != nil {
			v.ApprovedBy, v.ApprovedAt = st.Record.Approval.By, st.Record.Approval.At
		}
		if st.Status == purpose.StatusChanged {
			if v.Diff, err = l.Diff(st.ID, ""); err != nil {
				v.Diff = err.Error()
			}
		}
		out = append(out, v)
	}
	return out, nil
}

var _ web.PurposeSource = purposeSource{}
