package gateway

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/affinity"
	"github.com/weir-gateway/weir/internal/pricing"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/relay"
	"github.com/weir-gateway/weir/internal/schema"
)

// Batches are billed when they finish, hours after they were created: the gateway reads the results (OpenAI's
// output file, Anthropic's results) once, sums the usage per model, and charges it to the virtual key that
// created the batch. Providers bill batches at half their list price, and so does the charge.
const batchPriceDivisor = 2

// BatchFinished reports whether a batch object (either provider's) is in a final state.
func BatchFinished(kind affinity.Kind, object []byte) bool {
	if kind == affinity.KindMessageBatch {
		return gjson.GetBytes(object, "processing_status").Str == "ended"
	}
	switch gjson.GetBytes(object, "status").Str {
	case "completed", "failed", "expired", "cancelled":
		return true
	}
	return false
}

// SettleBatch charges a finished batch's usage to its owner, once across every replica sharing the store.
// object is the batch as the upstream last described it.
func (e *Engine) SettleBatch(ctx context.Context, rec affinity.Record, object []byte) error {
	objs := e.Objects()
	if objs == nil || rec.Settled || !BatchFinished(rec.Kind, object) {
		return nil
	}
	rs, key, err := e.batchAccount(rec)
	if err != nil {
		return err
	}
	usage, err := e.batchUsage(ctx, rs, key, rec, object)
	if err != nil {
		return err
	}
	won, err := objs.MarkSettled(ctx, rec.Kind, rec.ID)
	if err != nil || !won {
		return err
	}
	var total pricing.Money
	for model, u := range usage {
		name := rec.Provider + "/" + model
		var cost pricing.Money
		if e.gov != nil {
			cost = e.gov.Prices().Cost(name, u) / batchPriceDivisor
			if rec.Owner != "" {
				e.gov.Charge(rec.Owner, name, u, cost)
			}
		}
		total += cost
	}
	e.log.Info("batch settled", "batch", rec.ID, "provider", rec.Provider, "key", rec.Owner, "models", len(usage), "cost", total.String())
	return nil
}

// batchUsage reads a finished batch's results and sums their usage per model.
func (e *Engine) batchUsage(ctx context.Context, rs provider.RawSender, key *provider.Key, rec affinity.Record,
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

// RunBatchSettler polls the batches not yet settled every interval, asking their provider how they stand, and
// settles the finished ones, until ctx ends. Callers that poll a batch themselves settle it sooner.
func (e *Engine) RunBatchSettler(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, kind := range []affinity.Kind{affinity.KindBatch, affinity.KindMessageBatch} {
			e.pollBatches(ctx, kind)
		}
	}
}

func (e *Engine) pollBatches(ctx context.Context, kind affinity.Kind) {
	objs := e.Objects()
	if objs == nil {
		return
	}
	recs, err := objs.Unsettled(ctx, kind, 100)
	if err != nil {
		e.log.Warn("listing unsettled batches", "err", err)
		return
	}
	for _, rec := range recs {
		object, err := e.fetchBatch(ctx, rec)
		if err != nil {
			e.log.Warn("polling a batch", "batch", rec.ID, "err", err)
			continue
		}
		rec.Object = object
		_ = objs.Put(ctx, rec)
		e.RememberBatchFiles(ctx, rec)
		if err := e.SettleBatch(ctx, rec, object); err != nil {
			e.log.Warn("settling a batch", "batch", rec.ID, "err", err)
		}
	}
}

// fetchBatch asks the batch's provider for its current state.
func (e *Engine) fetchBatch(ctx context.Context, rec affinity.Record) ([]byte, error) {
	rs, key, err := e.batchAccount(rec)
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

// RememberBatchFiles records the files a batch produced (its output and error files) as the batch owner's, in
// the batch's account, so the owner can download them and no other key can.
func (e *Engine) RememberBatchFiles(ctx context.Context, batch affinity.Record) {
	objs := e.Objects()
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
			e.log.Warn("remembering a batch's file", "batch", batch.ID, "file", id, "err", err)
		}
	}
}

// batchAccount is the provider (as a RawSender) and key that hold a batch.
func (e *Engine) batchAccount(rec affinity.Record) (provider.RawSender, *provider.Key, error) {
	up, key, gerr := e.objectAccount(rec, "batch "+rec.ID)
	if gerr != nil {
		return nil, nil, gerr
	}
	rs, ok := up.Provider.(provider.RawSender)
	if !ok {
		return nil, nil, fmt.Errorf("batch %s: provider %s cannot be asked about it", rec.ID, rec.Provider)
	}
	return rs, key, nil
}
