// Package batches bills batches when they finish, hours after they were created: it reads the results (OpenAI's
// output file, Anthropic's results) once, sums the usage per model, and charges it to the virtual key that
// created the batch. It is a layer around the gateway: the gateway passes batch calls through and remembers
// which account holds each batch; this package asks that account how the batch stands.
package batches

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/affinity"
	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/pricing"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/relay"
	"github.com/weir-gateway/weir/internal/schema"
)

// Providers bill batches at half their list price, and so does the charge.
const priceDivisor = 2

// AccountFunc returns the provider (as a RawSender) and key that hold a remembered object; what names the object
// in errors. gateway.(*Engine).ObjectAccount is one.
type AccountFunc func(rec affinity.Record, what string) (provider.RawSender, *provider.Key, error)

// Settler settles finished batches: it charges their usage to their owners, once across every replica sharing
// the object store.
type Settler struct {
	objs    affinity.Store
	gov     *governance.Service // nil: ungoverned, nothing is charged
	account AccountFunc
	log     *slog.Logger
}

// NewSettler returns a Settler of the batches remembered in objs, charging through gov (nil: nothing is charged)
// and reaching each batch's account through account.
func NewSettler(objs affinity.Store, gov *governance.Service, account AccountFunc, log *slog.Logger) *Settler {
	return &Settler{objs: objs, gov: gov, account: account, log: log}
}

// Finished reports whether a batch object (either provider's) is in a final state.
func Finished(kind affinity.Kind, object []byte) bool {
	if kind == affinity.KindMessageBatch {
		return gjson.GetBytes(object, "processing_status").Str == "ended"
	}
	switch gjson.GetBytes(object, "status").Str {
	case "completed", "failed", "expired", "cancelled":
		return true
	}
	return false
}

// Settle charges a finished batch's usage to its owner, once across every replica sharing the store. object is
// the batch as the upstream last described it.
func (s *Settler) Settle(ctx context.Context, rec affinity.Record, object []byte) error {
	if rec.Settled || !Finished(rec.Kind, object) {
		return nil
	}
	rs, key, err := s.batchAccount(rec)
	if err != nil {
		return err
	}
	usage, err := batchUsage(ctx, rs, key, rec, object)
	if err != nil {
		return err
	}
	won, err := s.objs.MarkSettled(ctx, rec.Kind, rec.ID)
	if err != nil || !won {
		return err
	}
	var total pricing.Money
	for model, u := range usage {
		name := rec.Provider + "/" + model
		var cost pricing.Money
		if s.gov != nil {
			cost = s.gov.Prices().Cost(name, u) / priceDivisor
			if rec.Owner != "" {
				s.gov.Charge(rec.Owner, name, u, cost)
			}
		}
		total += cost
	}
	s.log.Info("batch settled", "batch", rec.ID, "provider", rec.Provider, "key", rec.Owner, "models", len(usage), "cost", total.String())
	return nil
}

// batchUsage reads a finished batch's results and sums their usage per model.
func batchUsage(ctx context.Context, rs provider.RawSender, key *provider.Key, rec affinity.Record,
	object []byte) (map[string]schema.Usage, error) {
	call := provider.RawCall{Method: http.MethodGet, Key: key}
	modelPath, usagePath := "response.body.model", "response.body.usage"
	if rec.Kind == affinity.KindMessageBatch {
		call.Op, call.Path = provider.OpMessageBatches, "/v1/messages/batches/"+rec.ID+"/results"
		modelPath, usagePath = "result.message.model", "result.message.usage"
	} else {
		out := gjson.GetBytes(object, "output_file_id").Str
		if out == "" {
			return nil, nil // failed or cancelled before any result: nothing to bill
		}
		call.Op, call.Path = provider.OpFiles, "/files/"+out+"/content"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	resp, err := rs.SendRaw(ctx, &call)
	if err != nil {
		return nil, fmt.Errorf("batch %s: fetching results: %w", rec.ID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("batch %s: fetching results: %s: %s", rec.ID, resp.Status, b)
	}
	usage := map[string]schema.Usage{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 64<<20) // one result line holds one whole answer
	for sc.Scan() {
		line := sc.Bytes()
		u := gjson.GetBytes(line, usagePath)
		if !u.Exists() {
			continue
		}
		model := gjson.GetBytes(line, modelPath).String()
		sum := usage[model]
		sum.Add(relay.OpenAIUsage([]byte(`{"usage":` + u.Raw + `}`)))
		usage[model] = sum
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("batch %s: reading results: %w", rec.ID, err)
	}
	return usage, nil
}

// Run polls the batches not yet settled every interval, asking their provider how they stand, and settles the
// finished ones, until ctx ends. Callers that poll a batch themselves settle it sooner.
func (s *Settler) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, kind := range []affinity.Kind{affinity.KindBatch, affinity.KindMessageBatch} {
			s.poll(ctx, kind)
		}
	}
}

func (s *Settler) poll(ctx context.Context, kind affinity.Kind) {
	recs, err := s.objs.Unsettled(ctx, kind, 100)
	if err != nil {
		s.log.Warn("listing unsettled batches", "err", err)
		return
	}
	for _, rec := range recs {
		object, err := s.fetch(ctx, rec)
		if err != nil {
			s.log.Warn("polling a batch", "batch", rec.ID, "err", err)
			continue
		}
		rec.Object = object
		_ = s.objs.Put(ctx, rec)
		RememberFiles(ctx, s.objs, rec, s.log)
		if err := s.Settle(ctx, rec, object); err != nil {
			s.log.Warn("settling a batch", "batch", rec.ID, "err", err)
		}
	}
}

// fetch asks the batch's provider for its current state.
func (s *Settler) fetch(ctx context.Context, rec affinity.Record) ([]byte, error) {
	rs, key, err := s.batchAccount(rec)
	if err != nil {
		return nil, err
	}
	call := provider.RawCall{Op: provider.OpBatches, Method: http.MethodGet, Path: "/batches/" + rec.ID, Key: key}
	if rec.Kind == affinity.KindMessageBatch {
		call.Op, call.Path = provider.OpMessageBatches, "/v1/messages/batches/"+rec.ID
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := rs.SendRaw(ctx, &call)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %.200s", resp.Status, body)
	}
	return body, nil
}

// batchAccount is the provider (as a RawSender) and key that hold a batch.
func (s *Settler) batchAccount(rec affinity.Record) (provider.RawSender, *provider.Key, error) {
	return s.account(rec, "batch "+rec.ID)
}

// RememberFiles records the files a batch produced (its output and error files) in objs as the batch owner's,
// in the batch's account, so the owner can download them and no other key can. It needs no Settler: files are
// remembered whether or not batches are billed.
func RememberFiles(ctx context.Context, objs affinity.Store, batch affinity.Record, log *slog.Logger) {
	if objs == nil || batch.Kind != affinity.KindBatch {
		return
	}
	for _, field := range []string{"output_file_id", "error_file_id"} {
		id := gjson.GetBytes(batch.Object, field).Str
		if id == "" {
			continue
		}
		if _, err := objs.Get(ctx, affinity.KindFile, id, batch.Owner); err == nil {
			continue
		}
		rec := affinity.Record{ID: id, Kind: affinity.KindFile, Owner: batch.Owner, Provider: batch.Provider, KeyID: batch.KeyID}
		if err := objs.Put(ctx, rec); err != nil {
			log.Warn("remembering a batch's file", "batch", batch.ID, "file", id, "err", err)
		}
	}
}
