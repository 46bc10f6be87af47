package translate

// Bedrock ConverseStream (upstream, AWS binary event-stream framing) → hub stream events.
//
// Frames are buffered until complete (a Feed may hold half a frame) and decoded with the SDK's eventstream
// Decoder, which checks both CRCs. By :event-type: messageStart → meta; contentBlockStart with toolUse → tool start
// (next OpenAI tool index); contentBlockDelta text / toolUse.input / reasoningContent.text → text / argument
// fragment / reasoning; messageStop → finish; metadata → usage + done. :message-type exception/error frames →
// error with the exception type and message.

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/tidwall/gjson"
)

// maxFrame bounds a single event-stream message, far above anything Converse sends.
const maxFrame = 16 << 20

type bedrockParser struct {
	dec     *eventstream.Decoder
	buf     []byte
	payload []byte
	rd      bytes.Reader
	evs     []event
	tools   []int // contentBlockIndex → hub tool index + 1
	nTool   int
}

func newBedrockParser() *bedrockParser { return &bedrockParser{dec: eventstream.NewDecoder()} }

func (p *bedrockParser) feed(b []byte, emit func([]event) error) error {
	p.buf = append(p.buf, b...)
	off := 0
	defer func() {
		n := copy(p.buf, p.buf[off:])
		p.buf = p.buf[:n]
	}()
	for len(p.buf)-off >= 12 {
		total := int(binary.BigEndian.Uint32(p.buf[off:]))
		if total < 16 || total > maxFrame {
			return fmt.Errorf("translate: bedrock event-stream frame of %d bytes", total)
		}
		if len(p.buf)-off < total {
			break
		}
		p.rd.Reset(p.buf[off : off+total])
		msg, err := p.dec.Decode(&p.rd, p.payload[:0])
		if err != nil {
			return fmt.Errorf("translate: bedrock event-stream: %w", err)
		}
		off += total
		err = p.onMessage(&msg, emit)
		p.payload = msg.Payload // gjson copied what the events keep, so the buffer is free again
		if err != nil {
			return err
		}
	}
	return nil
}

// finish drops a trailing partial frame: without its CRC it cannot be trusted.
func (p *bedrockParser) finish(func([]event) error) error { return nil }

func headerString(h eventstream.Headers, name string) string {
	if v := h.Get(name); v != nil {
		if s, ok := v.(eventstream.StringValue); ok {
			return string(s)
		}
		return v.String()
	}
	return ""
}

func (p *bedrockParser) onMessage(m *eventstream.Message, emit func([]event) error) error {
	evs := p.evs[:0]
	data := gjson.ParseBytes(m.Payload)
	switch mt := headerString(m.Headers, ":message-type"); mt {
	case "exception", "error":
		typ := headerString(m.Headers, ":exception-type")
		if typ == "" {
			typ = headerString(m.Headers, ":error-code")
		}
		msg := data.Get("message").String()
		if msg == "" {
			msg = data.Get("Message").String()
		}
		if msg == "" {
			msg = headerString(m.Headers, ":error-message")
		}
		evs = append(evs, event{kind: evError, errType: typ, text: msg})
		p.evs = evs
		return emit(evs)
	}
	switch headerString(m.Headers, ":event-type") {
	case "messageStart":
		evs = append(evs, event{kind: evMeta})
	case "contentBlockStart":
		if tu := data.Get("start.toolUse"); tu.IsObject() {
			bi := data.Get("contentBlockIndex").Int()
			if bi >= 0 && bi < maxBlocks {
				for int64(len(p.tools)) <= bi {
					p.tools = append(p.tools, 0)
				}
				p.tools[bi] = p.nTool + 1
				evs = append(evs, event{kind: evToolStart, index: p.nTool, id: tu.Get("toolUseId").String(), name: tu.Get("name").String()})
				p.nTool++
			}
		}
	case "contentBlockDelta":
		d := data.Get("delta")
		if t := d.Get("text"); t.Type == gjson.String {
			evs = append(evs, event{kind: evText, text: t.Str})
		} else if in := d.Get("toolUse.input"); in.Exists() {
			bi := data.Get("contentBlockIndex").Int()
			if bi >= 0 && bi < int64(len(p.tools)) && p.tools[bi] > 0 {
				evs = append(evs, event{kind: evToolArgs, index: p.tools[bi] - 1, text: in.String()})
			}
		} else if r := d.Get("reasoningContent.text"); r.Type == gjson.String {
			evs = append(evs, event{kind: evReasoning, text: r.Str})
		}
	case "messageStop":
		evs = append(evs, event{kind: evFinish, text: finishFromBedrock(data.Get("stopReason").String())})
	case "metadata":
		u := data.Get("usage")
		bu := bedrockUsage{
			InputTokens: u.Get("inputTokens").Int(), OutputTokens: u.Get("outputTokens").Int(),
			CacheReadInputTokens: u.Get("cacheReadInputTokens").Int(), CacheWriteInputTokens: u.Get("cacheWriteInputTokens").Int(),
		}
		evs = append(evs, event{kind: evUsage, usage: bu.toUsage()}, event{kind: evDone})
	}
	p.evs = evs
	if len(evs) == 0 {
		return nil
	}
	return emit(evs)
}
