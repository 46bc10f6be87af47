package responses

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"unsafe"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/weir-gateway/weir/internal/gateway"
)

// Clients of the Responses API send earlier items back by reference when the response was stored:
// {"type":"item_reference","id":"fc_…"} (the Vercel AI SDK), or just {"id":"fc_…"} (openai-go, whose item
// reference omits the type). An upstream with the Responses API resolves them itself; for a translated target
// Weir replaces each with the item it stored for the same virtual key, before translation.

// itemRef is one reference in a request's input: its index there and the id it names.
type itemRef struct {
	index int
	id    string
}

// findItemRefs returns the item references of a Responses request's input, in order. A reference without a
// string id is a 400. The ids alias body, which outlives their use; a request without references costs no
// allocation.
func findItemRefs(body []byte) ([]itemRef, *gateway.Error) {
	input := gjson.Get(unsafeString(body), "input")
	if !input.IsArray() {
		return nil, nil // a string input, or none
	}
	var (
		refs []itemRef
		gerr *gateway.Error
	)
	i := -1
	input.ForEach(func(_, it gjson.Result) bool {
		i++
		if !it.IsObject() {
			return true // not an item: the translation says so
		}
		typ := it.Get("type")
		switch {
		case typ.Type == gjson.String && typ.Str == "item_reference":
		case typ.Type == gjson.Null && !it.Get("role").Exists() && it.Get("id").Exists():
			// a typeless item with an id and no role is a reference
		default:
			return true
		}
		id := it.Get("id")
		if id.Type != gjson.String || id.Str == "" {
			gerr = &gateway.Error{Status: http.StatusBadRequest, Type: gateway.TypeInvalidRequest, Code: "invalid_value",
				Param: "input[" + strconv.Itoa(i) + "].id", Message: "an item reference needs the id of an item"}
			return false
		}
		refs = append(refs, itemRef{index: i, id: id.Str})
		return true
	})
	return refs, gerr
}

// expandItemReferences returns body with every item reference of its input replaced by the item it names among
// the stored responses of keyID, in place. An id that is unknown, or another key's, is a 404 in OpenAI's words;
// body comes back unchanged when its input holds no reference.
func expandItemReferences(ctx context.Context, e *gateway.Engine, body []byte, keyID string, up *gateway.Upstream) ([]byte, *gateway.Error) {
	refs, gerr := findItemRefs(body)
	if gerr != nil || len(refs) == 0 {
		return body, gerr
	}
	convs := e.Conversations()
	if convs == nil {
		return nil, &gateway.Error{Status: http.StatusNotFound, Type: gateway.TypeInvalidRequest, Param: "input", Message: fmt.Sprintf(
			"Item with id '%s' not found: this gateway keeps no stored responses for provider %s.", refs[0].id, up.Config.Name)}
	}
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = r.id
	}
	items, err := convs.Items(ctx, keyID, ids)
	if err != nil {
		e.Logger().Error("loading referenced items", "err", err)
		return nil, gateway.Errorf(http.StatusInternalServerError, gateway.TypeAPI, "conversation_store_error",
			"the items the input references could not be loaded")
	}
	for _, r := range refs {
		if items[r.id] == nil {
			return nil, itemNotFound(r.id)
		}
	}
	// Rebuild the input array: the caller's items as they are, each reference replaced by its item.
	input := gjson.Get(unsafeString(body), "input")
	out := make([]byte, 0, len(input.Raw)+len(refs)*256)
	out = append(out, '[')
	i, next := -1, 0
	input.ForEach(func(_, it gjson.Result) bool {
		i++
		if i > 0 {
			out = append(out, ',')
		}
		if next < len(refs) && refs[next].index == i {
			out = append(out, items[refs[next].id]...)
			next++
		} else {
			out = append(out, it.Raw...)
		}
		return true
	})
	out = append(out, ']')
	expanded, err := sjson.SetRawBytes(body, "input", out)
	if err != nil {
		return nil, gateway.Errorf(http.StatusBadRequest, gateway.TypeInvalidRequest, "invalid_request", "input: %s", err)
	}
	return expanded, nil
}

// itemNotFound is the 404 for an item reference to an unknown item or another virtual key's, as OpenAI words it.
func itemNotFound(id string) *gateway.Error {
	return &gateway.Error{Status: http.StatusNotFound, Type: gateway.TypeInvalidRequest, Param: "input",
		Message: fmt.Sprintf("Item with id '%s' not found.", id)}
}

// unsafeString views b as a string without copying, so finding references costs no allocation. The results of
// parsing it alias b, which must not change while they are in use.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
