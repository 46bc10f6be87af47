package requestlog

import (
	"math"
	"strconv"
)

// Latency and gateway overhead are kept in the rollups as fixed log-scale histograms: bucket 0 counts values
// under histMinUS, bucket i (1 ≤ i < HistBuckets-1) values in [histMinUS·1.5^(i-1), histMinUS·1.5^i), and the
// last bucket everything from histMinUS·1.5^(HistBuckets-2) (≈ 250 s) up. Fixed bounds make histograms of any
// rows, buckets and replicas add up column by column, in SQL.
const (
	HistBuckets = 44
	histMinUS   = 10.0
	histFactor  = 1.5
)

// histBounds[i] is bucket i's lower bound in microseconds (histBounds[0] = 0).
var histBounds = func() [HistBuckets + 1]float64 {
	var b [HistBuckets + 1]float64
	v := histMinUS
	for i := 1; i < HistBuckets; i++ {
		b[i] = v
		v *= histFactor
	}
	b[HistBuckets] = math.Inf(1)
	return b
}()

// histBucket is the bucket of a value in microseconds.
func histBucket(us int64) int {
	if us < int64(histMinUS) {
		return 0
	}
	i := min(1+int(math.Log(float64(us)/histMinUS)/math.Log(histFactor)), HistBuckets-1)
	// Correct rounding at the bounds.
	for i > 1 && float64(us) < histBounds[i] {
		i--
	}
	for i < HistBuckets-1 && float64(us) >= histBounds[i+1] {
		i++
	}
	return i
}

// Histogram counts values per bucket.
type Histogram [HistBuckets]int64

// Add counts one value in microseconds.
func (h *Histogram) Add(us int64) { h[histBucket(us)]++ }

// Merge adds o's counts.
func (h *Histogram) Merge(o *Histogram) {
	for i := range h {
		h[i] += o[i]
	}
}

// Count is the number of values.
func (h *Histogram) Count() int64 {
	var n int64
	for _, c := range h {
		n += c
	}
	return n
}

// Quantile is the value in milliseconds below which a fraction q of the values lie (nearest rank), estimated as
// the geometric middle of its bucket (within a factor √1.5 of the true value); ok is false without values.
func (h *Histogram) Quantile(q float64) (ms float64, ok bool) {
	n := h.Count()
	if n == 0 {
		return 0, false
	}
	rank := int64(math.Ceil(q * float64(n)))
	rank = max(rank, 1)
	var seen int64
	for i, c := range h {
		seen += c
		if seen < rank {
			continue
		}
		switch i {
		case 0:
			return histMinUS / 2 / 1000, true
		case HistBuckets - 1:
			return histBounds[i] / 1000, true
		}
		return math.Sqrt(histBounds[i]*histBounds[i+1]) / 1000, true
	}
	return histBounds[HistBuckets-1] / 1000, true
}

// histColumns names the rollup columns of a histogram: prefix0 … prefix43.
func histColumns(prefix string) []string {
	out := make([]string, HistBuckets)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}
