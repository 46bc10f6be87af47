package pricing

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Money is an amount of US dollars in nano-dollars (1e-9 USD), as an int64.
//
// Why nano-dollars: a cheap model's output token costs ~$0.04/1M = 4e-8 USD, so cent or micro-dollar units
// would round single requests to zero and budgets would never fill. int64 nano-dollars still covers ±$9.2
// billion, far past any budget, and integer addition makes a million tiny charges sum exactly — unlike float64,
// whose accumulated rounding drifts and whose comparisons against a budget flap.
type Money int64

// Common amounts.
const (
	NanoUSD  Money = 1
	MicroUSD Money = 1_000
	Cent     Money = 10_000_000
	USD      Money = 1_000_000_000
)

// MaxMoney is the largest representable amount; arithmetic that would pass it saturates there.
const MaxMoney = Money(math.MaxInt64)

// FromUSD converts a configured dollar amount (e.g. a YAML max_usd: 0.01) to Money. It goes through the float's
// shortest decimal form so 0.01 becomes exactly 10,000,000 nano-dollars, not 9,999,999.
func FromUSD(f float64) Money {
	if math.IsNaN(f) || f <= 0 {
		return 0
	}
	m, err := ParseUSD(strconv.FormatFloat(f, 'g', -1, 64))
	if err != nil {
		return MaxMoney
	}
	return m
}

// ParseUSD parses a decimal dollar amount ("12.5", "1e-6", "0.000000150") exactly, rounding half up to whole
// nano-dollars.
func ParseUSD(s string) (Money, error) {
	v, err := parseScaled(s, 9)
	return Money(v), err
}

// USDFloat is the amount as float64 dollars, for display and JSON only — never accumulate it.
func (m Money) USDFloat() float64 { return float64(m) / float64(USD) }

// String formats the amount as dollars with all nine decimals trimmed of trailing zeros, e.g. "$0.00015".
func (m Money) String() string {
	neg := m < 0
	u := uint64(m)
	if neg {
		u = uint64(-m)
	}
	whole, frac := u/1e9, u%1e9
	s := strconv.FormatUint(whole, 10)
	if frac != 0 {
		f := fmt.Sprintf("%09d", frac)
		s += "." + strings.TrimRight(f, "0")
	}
	if neg {
		return "-$" + s
	}
	return "$" + s
}

var errBadDecimal = errors.New("not a decimal number")

// parseScaled parses a non-negative decimal number (optionally with an exponent, as JSON writes 1.5e-07) and
// returns it multiplied by 10^scale, rounded half up, without ever passing through float64.
func parseScaled(s string, scale int) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errBadDecimal
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, fmt.Errorf("%q: %w", s, errBadDecimal)
	}
	if r.Sign() < 0 {
		return 0, fmt.Errorf("%q: negative amount", s)
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	// Round half up: floor(r + 1/2).
	r.Add(r, big.NewRat(1, 2))
	q := new(big.Int).Quo(r.Num(), r.Denom())
	if !q.IsInt64() {
		return 0, fmt.Errorf("%q: amount too large", s)
	}
	return q.Int64(), nil
}
