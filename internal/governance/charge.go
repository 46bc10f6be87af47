package governance

import (
	"strings"

	"github.com/weir-gateway/weir/internal/pricing"
	"github.com/weir-gateway/weir/internal/schema"
)

// Charge adds usage that was spent outside a request — a batch that completed upstream hours after it was
// created — to every level of key id: its tokens and cost, not a request (the request was counted when the
// batch was created). It never refuses: the money is already spent; a key over its budget is refused on its
// next request. Unknown ids (a deleted key) are ignored and reported false.
func (s *Service) Charge(id, model string, u schema.Usage, cost pricing.Money) bool {
	p := s.Principal(id)
	if p == nil {
		return false
	}
	tokens := max(u.TotalTokens, u.PromptTokens+u.CompletionTokens)
	now := s.now()
	charge := func(lv *level) {
		for i := range lv.limits {
			l := &lv.limits[i]
			var amount int64
			switch l.kind {
			case kindTokens:
				amount = tokens
			case kindCost:
				amount = int64(cost)
			}
			if amount != 0 {
				// A leased counter (cluster ring mode) refuses what its lease does not hold; the money is spent,
				// so it is counted anyway, and the owner learns of it with this node's next report.
				if ok, window, _ := l.c.Reserve(now, amount, maxAmount); !ok {
					l.c.Adjust(now, window, amount)
				}
			}
		}
	}
	for _, lv := range p.levels {
		charge(lv)
	}
	if prov, _, ok := strings.Cut(model, "/"); ok && p.provLimits != nil {
		if lv := p.provLimits[prov]; lv != nil {
			charge(lv)
		}
	}
	return true
}

// maxAmount is a limit no charge reaches, so Reserve always takes the amount.
const maxAmount = 1<<62 - 1
