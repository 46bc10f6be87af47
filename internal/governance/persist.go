package governance

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// counterRetention is how long persisted counters are kept: the longest period (a month) plus slack.
// Never-resetting budgets are stored at the Unix epoch and kept by the store's Prune.
const counterRetention = 40 * 24 * time.Hour

// loadCounters queues every persisted counter for restore as its subject's counters are built, so spend and
// current-window counts survive a restart.
func (s *Service) loadCounters(ctx context.Context) error {
	rows, err := s.st.Counters().List(ctx, time.Unix(0, 0))
	if err != nil {
		return fmt.Errorf("governance: load counters: %w", err)
	}
	s.reg.addPending(rows)
	return nil
}

// Flush writes every counter changed since the last flush. Writes are absolute values, so a retry after a
// failure (kept for the next flush) is harmless.
func (s *Service) Flush(ctx context.Context) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	rows := append(s.retryRows, s.reg.dirty(s.now())...)
	s.retryRows = nil
	if len(rows) == 0 {
		return nil
	}
	if err := s.st.Counters().Upsert(ctx, rows); err != nil {
		// Keep only the newest value per row for the retry.
		seen := map[string]int{}
		for _, r := range rows {
			k := r.Subject + "\x00" + r.Metric + "\x00" + r.WindowStart.String()
			if i, ok := seen[k]; ok {
				s.retryRows[i] = r
				continue
			}
			seen[k] = len(s.retryRows)
			s.retryRows = append(s.retryRows, r)
		}
		return fmt.Errorf("governance: flush counters: %w", err)
	}
	return nil
}

// Start runs the background flusher until Close.
func (s *Service) Start() {
	s.stop = make(chan struct{})
	s.done = make(chan struct{})
	go s.flushLoop()
}

func (s *Service) flushLoop() {
	defer close(s.done)
	t := time.NewTicker(s.opt.FlushInterval)
	defer t.Stop()
	lastPrune := time.Time{}
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := s.Flush(ctx); err != nil {
			s.log.Warn("governance flush failed; will retry", "err", err)
		}
		if now := s.opt.Now(); now.Sub(lastPrune) > time.Hour {
			lastPrune = now
			if _, err := s.st.Counters().Prune(ctx, now.Add(-counterRetention)); err != nil {
				s.log.Warn("governance prune failed", "err", err)
			}
		}
		cancel()
	}
}

// Close stops the flusher and writes a final flush. It does not close the store (the caller opened it).
func (s *Service) Close(ctx context.Context) error {
	var err error
	s.closeOnce.Do(func() {
		if s.stop != nil {
			close(s.stop)
			<-s.done
		}
		err = s.Flush(ctx)
	})
	if err != nil {
		return errors.Join(errors.New("governance: final flush"), err)
	}
	return nil
}
