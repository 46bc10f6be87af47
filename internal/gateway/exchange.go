package gateway

// Exchange holds the reusable buffers of one request. initial_pool_size of them are made at start, so the hot
// path takes a warm one instead of allocating.
type Exchange struct {
	In   []byte // the caller's body
	Out  []byte // the body sent upstream
	Resp []byte // a buffered upstream answer, or a copy buffer

	attempts [4]AttemptInfo // backing store for Outcome.Attempts
	flow     Flow           // the request's state through the pipeline
}

const (
	inCap   = 4 << 10
	outCap  = 4 << 10
	respCap = 4 << 10
	// Buffers grown past this are dropped on release, so one huge request does not pin memory for good.
	keepCap = 256 << 10
)

// exchangePool is a free list with a fixed capacity. Unlike sync.Pool it is not emptied by the garbage
// collector, which is what makes pre-allocation meaningful.
type exchangePool struct{ free chan *Exchange }

func newExchangePool(n int) *exchangePool {
	p := &exchangePool{free: make(chan *Exchange, max(n, 1))}
	for i := 0; i < n; i++ {
		p.free <- newExchange()
	}
	return p
}

func newExchange() *Exchange {
	return &Exchange{In: make([]byte, 0, inCap), Out: make([]byte, 0, outCap), Resp: make([]byte, 0, respCap)}
}

func (p *exchangePool) get() *Exchange {
	select {
	case x := <-p.free:
		return x
	default:
		return newExchange()
	}
}

func (p *exchangePool) put(x *Exchange) {
	if cap(x.In) > keepCap {
		x.In = make([]byte, 0, inCap)
	}
	if cap(x.Out) > keepCap {
		x.Out = make([]byte, 0, outCap)
	}
	if cap(x.Resp) > keepCap {
		x.Resp = make([]byte, 0, respCap)
	}
	x.In, x.Out, x.Resp = x.In[:0], x.Out[:0], x.Resp[:0]
	x.flow = Flow{} // drop the request's references (context, sink, body) while the buffers wait
	select {
	case p.free <- x:
	default:
	}
}

// AcquireExchange returns a request's buffers; release them with ReleaseExchange when the answer is written.
func (e *Engine) AcquireExchange() *Exchange { return e.exchanges.get() }

// ReleaseExchange returns buffers for reuse.
func (e *Engine) ReleaseExchange(x *Exchange) { e.exchanges.put(x) }

// MaxBody is the largest request body accepted.
func (e *Engine) MaxBody() int64 { return e.maxBody }

// MaxUpload is the largest multipart upload accepted.
func (e *Engine) MaxUpload() int64 { return e.maxUpload }
