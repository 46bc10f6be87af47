package requestlog

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// GenerateOptions shapes synthetic log rows (for load and scale tests: `weir logs generate`).
type GenerateOptions struct {
	Rows int
	// Span spreads the rows evenly over [End-Span, End), oldest first. Defaults 30 days and now.
	Span time.Duration
	End  time.Time
	// Keys virtual keys in Teams teams (defaults 50 and 10); a tenth of the rows have no key.
	Keys, Teams int
	// Seed makes the rows reproducible (0: 1).
	Seed uint64
	// BatchSize rows per transaction (default 2,000).
	BatchSize int
	// Progress, if set, is called after each batch with the rows written so far.
	Progress func(done int)
}

// genModel is a provider's model and its price per million tokens, in nano-dollars.
type genModel struct {
	provider, model string
	inNano, outNano int64
	latencyMS       float64 // median
}

var genModels = []genModel{
	{"openai", "gpt-4o-mini", 150_000_000, 600_000_000, 450},
	{"openai", "gpt-4o", 2_500_000_000, 10_000_000_000, 900},
	{"openai", "o3-mini", 1_100_000_000, 4_400_000_000, 2500},
	{"anthropic", "claude-3-5-haiku", 800_000_000, 4_000_000_000, 600},
	{"anthropic", "claude-sonnet-4", 3_000_000_000, 15_000_000_000, 1400},
	{"gemini", "gemini-2.0-flash", 100_000_000, 400_000_000, 400},
	{"mock", "mock-model", 0, 0, 5},
}

var genRoutes = []struct {
	route  string
	weight int
}{{"POST /v1/chat/completions", 70}, {"POST /v1/messages", 15}, {"POST /v1/embeddings", 10}, {"POST /v1/responses", 5}}

// Generate writes opts.Rows synthetic rows, and their rollups, into s in batches: realistic spreads of
// providers, models, keys, statuses, tokens, latency and overhead; ids time-sortable at each row's time. Unlike
// the Writer it folds many batches' rollups in memory before adding them (in their own transactions), so a
// bucket spanning many batches is written once: a crash midway leaves rows without rollups, which is fine for
// synthetic data.
func Generate(ctx context.Context, s *SQLSink, opts GenerateOptions) error {
	if opts.Rows <= 0 {
		return errors.New("requestlog: generate needs a positive number of rows")
	}
	if opts.Span <= 0 {
		opts.Span = 30 * 24 * time.Hour
	}
	if opts.End.IsZero() {
		opts.End = time.Now()
	}
	if opts.Keys <= 0 {
		opts.Keys = 50
	}
	if opts.Teams <= 0 {
		opts.Teams = 10
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 2000
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	rng := rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))
	start := opts.End.Add(-opts.Span)
	step := float64(opts.Span) / float64(opts.Rows)
	batch := make([]Record, 0, opts.BatchSize)
	rollups := make(rollupBatch, 1<<16)
	for i := 0; i < opts.Rows; i++ {
		t := start.Add(time.Duration(float64(i) * step))
		batch = append(batch, genRecord(rng, t, &opts))
		if len(batch) == opts.BatchSize || i == opts.Rows-1 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := s.insertLogs(ctx, batch, rollups, opts.End); err != nil {
				return err
			}
			if len(rollups) >= genRollupFlush || i == opts.Rows-1 {
				if err := s.addRollups(ctx, rollups); err != nil {
					return err
				}
				clear(rollups)
			}
			if opts.Progress != nil {
				opts.Progress(i + 1)
			}
			batch = batch[:0]
		}
	}
	return nil
}

// genRollupFlush is how many rollup rows Generate holds before adding them to the table.
const genRollupFlush = 200_000

func genRecord(rng *rand.Rand, t time.Time, o *GenerateOptions) Record {
	m := genModels[zipf(rng, len(genModels))]
	r := Record{ID: idAt(rng, t), Time: t, Provider: m.provider, Model: m.model, Status: 200,
		CallerIP: "10.0." + strconv.Itoa(rng.IntN(4)) + "." + strconv.Itoa(1+rng.IntN(250))}
	if rng.IntN(10) > 0 {
		k := zipf(rng, o.Keys)
		r.KeyID = "key-" + strconv.Itoa(k)
		r.TeamID = "team-" + strconv.Itoa(k%o.Teams)
		r.CustomerID = "customer-" + strconv.Itoa(k%o.Teams%3)
	}
	w := rng.IntN(100)
	for _, rt := range genRoutes {
		if w < rt.weight {
			r.Route = rt.route
			break
		}
		w -= rt.weight
	}
	r.Stream = r.Route != "POST /v1/embeddings" && rng.IntN(2) == 0
	lat := time.Duration(m.latencyMS * math.Exp(rng.NormFloat64()*0.6) * float64(time.Millisecond))
	r.Overhead = time.Duration(200*math.Exp(rng.NormFloat64()*0.5)) * time.Microsecond
	r.Attempts = []Attempt{{Provider: m.provider, Model: m.model, Status: 200, Latency: lat, KeyHint: "…" + m.model[:4]}}
	switch p := rng.IntN(1000); {
	case p < 20: // rate limited by the gateway: no attempt
		r.Status, r.Error, r.Attempts, lat = 429, "rate limit exceeded: rpm 60", nil, 0
	case p < 35:
		r.Status, r.Error = 503, "upstream unavailable"
		r.Attempts[0].Status, r.Attempts[0].Error = 503, r.Error
	case p < 45:
		r.Status, r.Error, r.Attempts, lat = 400, "invalid_request_error: messages: required", nil, 0
	case p < 50: // a stream cut after it began
		r.Error = "upstream closed the stream"
	case p < 110: // a fallback after an overloaded first target
		first := genModels[rng.IntN(len(genModels))]
		r.Attempts = append([]Attempt{{Provider: first.provider, Model: first.model, Status: 529,
			Latency: 80 * time.Millisecond, Error: "overloaded", KeyHint: "…" + first.model[:4]}}, r.Attempts...)
		lat += 80 * time.Millisecond
	}
	r.Duration = lat + r.Overhead
	if r.Stream && lat > 0 {
		r.TTFB = lat / 5
	} else {
		r.TTFB = lat
	}
	if len(r.Attempts) > 0 {
		r.ProviderKey = r.Attempts[len(r.Attempts)-1].KeyHint
	}
	if r.Status == 200 {
		r.InputTokens = int64(20 + rng.IntN(4000))
		if r.Route != "POST /v1/embeddings" {
			r.OutputTokens = int64(1 + rng.IntN(1200))
		}
		r.CostNanoUSD = (r.InputTokens*m.inNano + r.OutputTokens*m.outNano) / 1_000_000
	}
	if rng.IntN(4) == 0 {
		r.TraceID = hex.EncodeToString(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, rng.Uint64()), rng.Uint64()))
	}
	return r
}

// zipf picks 0…n-1, low numbers more often (a few big users, a long tail).
func zipf(rng *rand.Rand, n int) int {
	return min(int(float64(n)*math.Pow(rng.Float64(), 2)), n-1)
}

// idAt is a UUIDv7 for time t, so generated ids sort with their rows' times as real ones do.
func idAt(rng *rand.Rand, t time.Time) string {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	b[0], b[1], b[2], b[3], b[4], b[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	binary.BigEndian.PutUint64(b[8:], rng.Uint64())
	r := rng.Uint32()
	b[6], b[7] = 0x70|byte(r>>8)&0x0f, byte(r)
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
