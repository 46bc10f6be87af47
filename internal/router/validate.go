package router

import (
	"fmt"
	"strings"
)

// Validate checks the models list and returns every problem with its field path, e.g.
// `models[0].targets[1].provider: unknown provider "x"`. providerExists may be nil (providers unchecked).
func Validate(models []ModelConfig, providerExists func(string) bool) []error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	index := make(map[string]int, len(models))
	for i, m := range models {
		p := fmt.Sprintf("models[%d]", i)
		if m.Name == "" {
			bad(p+".name", "required")
		} else if j, dup := index[m.Name]; dup {
			bad(p+".name", "duplicate model %q (also models[%d])", m.Name, j)
		} else {
			index[m.Name] = i
		}
	}
	for i, m := range models {
		p := fmt.Sprintf("models[%d]", i)
		if _, err := NewStrategy(m.Strategy, nil); err != nil {
			bad(p+".strategy", "%v", err)
		}
		if len(m.Targets) == 0 && len(m.Fallbacks) == 0 {
			bad(p+".targets", "at least one target (or a fallback) required")
		}
		seen := map[string]int{}
		for j, t := range m.Targets {
			tp := fmt.Sprintf("%s.targets[%d]", p, j)
			switch {
			case t.Provider == "":
				bad(tp+".provider", "required")
			case strings.Contains(t.Provider, "/"):
				bad(tp+".provider", "must not contain '/': %q", t.Provider)
			case providerExists != nil && !providerExists(t.Provider):
				bad(tp+".provider", "unknown provider %q", t.Provider)
			}
			if t.Model == "" {
				bad(tp+".model", "required")
			}
			if t.Weight < 0 {
				bad(tp+".weight", "must not be negative, got %d", t.Weight)
			}
			if k, dup := seen[t.Key()]; dup && t.Provider != "" && t.Model != "" {
				bad(tp, "duplicate target %q (also targets[%d])", t.Key(), k)
			} else {
				seen[t.Key()] = j
			}
		}
		for j, f := range m.Fallbacks {
			fp := fmt.Sprintf("%s.fallbacks[%d]", p, j)
			if _, ok := index[f]; ok {
				continue
			}
			prov, _, ok := splitTarget(f)
			switch {
			case !ok:
				bad(fp, "unknown model %q (want a configured model or \"provider/model\")", f)
			case providerExists != nil && !providerExists(prov):
				bad(fp, "unknown provider %q in %q", prov, f)
			}
		}
		if r := m.Retries; r != nil {
			if r.Max < 0 {
				bad(p+".retries.max", "must not be negative, got %d", r.Max)
			}
			if r.Backoff < 0 {
				bad(p+".retries.backoff", "must not be negative, got %s", r.Backoff)
			}
			if r.MaxBackoff < 0 {
				bad(p+".retries.max_backoff", "must not be negative, got %s", r.MaxBackoff)
			} else if r.MaxBackoff > 0 && r.MaxBackoff < r.Backoff {
				bad(p+".retries.max_backoff", "%s is below backoff %s", r.MaxBackoff, r.Backoff)
			}
		}
		if m.Timeout < 0 {
			bad(p+".timeout", "must not be negative, got %s", m.Timeout)
		}
		if c := m.Cooldown; c != nil {
			errs = append(errs, ValidateBreaker(p+".cooldown", *c)...)
		}
	}
	errs = append(errs, fallbackCycles(models, index)...)
	return errs
}

// ValidateBreaker checks a `cooldown:` block (also the global one); path prefixes the messages.
func ValidateBreaker(path string, c BreakerConfig) []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", path, field, fmt.Sprintf(format, args...)))
	}
	if c.Failures < 0 {
		bad("failures", "must not be negative, got %d", c.Failures)
	}
	if c.Ratio < 0 || c.Ratio > 1 {
		bad("ratio", "must be between 0 and 1, got %g", c.Ratio)
	}
	if c.MinRequests < 0 {
		bad("min_requests", "must not be negative, got %d", c.MinRequests)
	}
	if c.Window < 0 {
		bad("window", "must not be negative, got %s", c.Window)
	}
	if c.Duration < 0 {
		bad("duration", "must not be negative, got %s", c.Duration)
	}
	return errs
}

// fallbackCycles reports every alias fallback chain that leads back to itself, at the fallback entry
// that closes the loop, e.g. `models[1].fallbacks[0]: fallback cycle smart -> claude -> smart`.
func fallbackCycles(models []ModelConfig, index map[string]int) []error {
	const (
		white = iota // unvisited
		grey         // on the current DFS path
		black        // done
	)
	color := make([]int, len(models))
	var stack []string
	var errs []error
	var visit func(i int)
	visit = func(i int) {
		color[i] = grey
		stack = append(stack, models[i].Name)
		for j, f := range models[i].Fallbacks {
			k, ok := index[f]
			if !ok {
				continue // "provider/model" or unknown (reported above)
			}
			switch color[k] {
			case grey:
				start := 0
				for s, n := range stack {
					if n == f {
						start = s
					}
				}
				path := append(append([]string{}, stack[start:]...), f)
				errs = append(errs, fmt.Errorf("models[%d].fallbacks[%d]: fallback cycle %s", i, j, strings.Join(path, " -> ")))
			case white:
				visit(k)
			}
		}
		stack = stack[:len(stack)-1]
		color[i] = black
	}
	for i, m := range models {
		if color[i] == white && index[m.Name] == i && m.Name != "" {
			visit(i)
		}
	}
	return errs
}
