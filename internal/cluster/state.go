package cluster

import (
	"encoding/binary"
	"errors"
	"slices"
)

// Key names one window (or budget period) of one counter.
type Key struct {
	Subject string // "key:ci-bot"
	Metric  string // "rpm", "spend/1d"
	Start   int64  // window or period start, Unix nanoseconds
}

// Entry is one node's count for a Key. Only the owning node writes its entries; Ver increases with every write
// (wall-clock based, so also across restarts), so the latest entry is the largest (Ver, Count) pair. Merging
// is a max in that order: idempotent, commutative and associative. A count may go down (a released
// reservation, tokens settled below the estimate); it still replaces the older entry because its Ver is higher.
type Entry struct {
	Ver   uint64
	Count int64
}

func (e Entry) less(o Entry) bool { return e.Ver < o.Ver || e.Ver == o.Ver && e.Count < o.Count }

// State holds, per counter and window, the latest entry from every node (dead ones too, until the window ends).
type State struct {
	m map[string]map[int64]map[string]Entry // counter id → window start → node → entry
}

// NewState returns an empty state.
func NewState() *State { return &State{m: map[string]map[int64]map[string]Entry{}} }

func counterID(subject, metric string) string { return subject + "\x00" + metric }

func splitID(id string) (string, string) {
	for i := 0; i < len(id); i++ {
		if id[i] == 0 {
			return id[:i], id[i+1:]
		}
	}
	return id, ""
}

// Merge folds in node's entry for k and reports whether the state changed.
func (s *State) Merge(node string, k Key, e Entry) bool {
	id := counterID(k.Subject, k.Metric)
	ws := s.m[id]
	if ws == nil {
		ws = map[int64]map[string]Entry{}
		s.m[id] = ws
	}
	ns := ws[k.Start]
	if ns == nil {
		ns = map[string]Entry{}
		ws[k.Start] = ns
	}
	if old, ok := ns[node]; ok && !old.less(e) {
		return false
	}
	ns[node] = e
	return true
}

// MergeState folds all of o into s.
func (s *State) MergeState(o *State) {
	o.Each(func(node string, k Key, e Entry) { s.Merge(node, k, e) })
}

// Get returns node's entry for k.
func (s *State) Get(node string, k Key) (Entry, bool) {
	e, ok := s.m[counterID(k.Subject, k.Metric)][k.Start][node]
	return e, ok
}

// Sum is the total count for k over every node except exclude.
func (s *State) Sum(k Key, exclude string) int64 {
	return sumExcept(s.m[counterID(k.Subject, k.Metric)][k.Start], exclude)
}

func sumExcept(ns map[string]Entry, exclude string) int64 {
	var t int64
	for n, e := range ns {
		if n != exclude {
			t += e.Count
		}
	}
	return t
}

// Each calls fn for every entry.
func (s *State) Each(fn func(node string, k Key, e Entry)) {
	for id, ws := range s.m {
		sub, met := splitID(id)
		for start, ns := range ws {
			for n, e := range ns {
				fn(n, Key{sub, met, start}, e)
			}
		}
	}
}

// Len is the number of entries.
func (s *State) Len() int {
	n := 0
	for _, ws := range s.m {
		for _, ns := range ws {
			n += len(ns)
		}
	}
	return n
}

// Equal reports whether both states hold the same entries.
func (s *State) Equal(o *State) bool {
	if s.Len() != o.Len() {
		return false
	}
	eq := true
	s.Each(func(n string, k Key, e Entry) {
		if oe, ok := o.Get(n, k); !ok || oe != e {
			eq = false
		}
	})
	return eq
}

// Prune keeps only the latest keep windows of each counter (a sliding window needs the current and previous
// one). Older windows have ended, and with them the counts of nodes that died during them.
func (s *State) Prune(keep int) {
	for id, ws := range s.m {
		if len(ws) <= keep {
			continue
		}
		starts := make([]int64, 0, len(ws))
		for st := range ws {
			starts = append(starts, st)
		}
		slices.Sort(starts)
		for _, st := range starts[:len(starts)-keep] {
			delete(ws, st)
		}
		if len(ws) == 0 {
			delete(s.m, id)
		}
	}
}

// DropCounter forgets a counter entirely.
func (s *State) DropCounter(subject, metric string) { delete(s.m, counterID(subject, metric)) }

// Wire format (all integers varints):
//
//	msg   = magic:byte kind:byte ngroups group*
//	group = node:str nentries entry*
//	entry = subject:str metric:str start:svarint ver:uvarint count:svarint
//	str   = len:uvarint bytes
//
// A delta carries one group (the sender's changed entries); a full state (push/pull) carries every node's.
const (
	magic     byte = 0xC7
	kindDelta byte = 1
	kindFull  byte = 2
)

type rec struct {
	k Key
	e Entry
}

type group struct {
	node string
	recs []rec
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendRec(b []byte, r rec) []byte {
	b = appendStr(b, r.k.Subject)
	b = appendStr(b, r.k.Metric)
	b = binary.AppendVarint(b, r.k.Start)
	b = binary.AppendUvarint(b, r.e.Ver)
	return binary.AppendVarint(b, r.e.Count)
}

// encodeDeltas packs node's records into messages of at most max bytes each (one record always fits).
func encodeDeltas(node string, recs []rec, max int) [][]byte {
	var out [][]byte
	for len(recs) > 0 {
		b := []byte{magic, kindDelta, 1}
		b = appendStr(b, node)
		// Count placeholder: records are appended after we know how many fit; use a fixed 2-byte uvarint slot.
		at := len(b)
		b = append(b, 0x80, 0x00)
		n := 0
		for n < len(recs) {
			nb := appendRec(b, recs[n])
			if n > 0 && len(nb) > max || n == 16383 {
				break
			}
			b = nb
			n++
		}
		b[at], b[at+1] = byte(n)|0x80, byte(n>>7)
		out = append(out, b)
		recs = recs[n:]
	}
	return out
}

// encodeFull packs the whole state.
func encodeFull(s *State) []byte {
	byNode := map[string][]rec{}
	s.Each(func(n string, k Key, e Entry) { byNode[n] = append(byNode[n], rec{k, e}) })
	b := []byte{magic, kindFull}
	b = binary.AppendUvarint(b, uint64(len(byNode)))
	for n, rs := range byNode {
		b = appendStr(b, n)
		b = binary.AppendUvarint(b, uint64(len(rs)))
		for _, r := range rs {
			b = appendRec(b, r)
		}
	}
	return b
}

var errShort = errors.New("cluster: truncated or malformed message")

type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errShort
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errShort
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) str() string {
	l := r.uvarint()
	if r.err != nil {
		return ""
	}
	if l > uint64(len(r.b)) {
		r.err = errShort
		return ""
	}
	s := string(r.b[:l])
	r.b = r.b[l:]
	return s
}

// decode parses a delta or full-state message.
func decode(b []byte) (kind byte, groups []group, err error) {
	if len(b) < 2 || b[0] != magic || (b[1] != kindDelta && b[1] != kindFull) {
		return 0, nil, errors.New("cluster: not a weir counter message")
	}
	kind = b[1]
	r := &reader{b: b[2:]}
	ng := r.uvarint()
	for i := uint64(0); i < ng && r.err == nil; i++ {
		g := group{node: r.str()}
		ne := r.uvarint()
		if ne > uint64(len(r.b)) { // every entry takes at least a byte
			return 0, nil, errShort
		}
		g.recs = make([]rec, 0, ne)
		for j := uint64(0); j < ne && r.err == nil; j++ {
			var x rec
			x.k.Subject = r.str()
			x.k.Metric = r.str()
			x.k.Start = r.varint()
			x.e.Ver = r.uvarint()
			x.e.Count = r.varint()
			g.recs = append(g.recs, x)
		}
		groups = append(groups, g)
	}
	if r.err != nil {
		return 0, nil, r.err
	}
	return kind, groups, nil
}
