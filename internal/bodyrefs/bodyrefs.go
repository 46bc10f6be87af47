// Package bodyrefs finds the uploaded files an inference body names (a chat "file" part, a Responses input_file
// or input_image, a code interpreter container's file_ids, an image edit's images and mask), so the gateway can
// check they are the caller's own. It only parses: bytes in, ids out, no I/O.
package bodyrefs

import (
	"bytes"

	"github.com/tidwall/gjson"
)

// Max bounds the ids returned for one body: the gateway looks each up in its object store.
const Max = 64

// MayNameFiles is the cheap test that lets a body naming no file skip the scan (FileIDs): a key spelled with a JSON
// escape (file\u005fid) still reaches the scanner, which unescapes keys.
func MayNameFiles(body []byte) bool {
	return bytes.Contains(body, []byte("file_id")) || bytes.Contains(body, []byte(`\u`))
}

// FileIDs appends to dst the file ids an OpenAI chat or Responses body names: messages[].content[].file.
// file_id; input[].file_id, input[].content[].file_id and input[].output[].file_id (any part type: input_file
// and input_image both take one); tools[].container.file_ids[]; an image edit's images[].file_id and mask.file_id. Every key of each object is visited, so a
// duplicate key (which an upstream may read last) or an escaped one is not missed. ok is false past Max.
func FileIDs(body []byte, dst []string) (ids []string, ok bool) {
	ok = true
	add := func(v gjson.Result) {
		if v.Type != gjson.String {
			return
		}
		if len(dst) == Max {
			ok = false
			return
		}
		dst = append(dst, v.String())
	}
	// fileIDs adds the "file_id" of part, and of its "file" object when chat is set.
	var fileIDs func(part gjson.Result, chat bool)
	fileIDs = func(part gjson.Result, chat bool) {
		eachKey(part, func(k string, v gjson.Result) {
			switch {
			case k == "file_id":
				add(v)
			case chat && k == "file":
				fileIDs(v, false)
			}
		})
	}
	eachKey(gjson.ParseBytes(body), func(k string, v gjson.Result) {
		switch k {
		case "messages":
			eachElem(v, func(msg gjson.Result) {
				eachKey(msg, func(k string, v gjson.Result) {
					if k == "content" {
						eachElem(v, func(part gjson.Result) { fileIDs(part, true) })
					}
				})
			})
		case "input":
			eachElem(v, func(item gjson.Result) {
				fileIDs(item, false)
				eachKey(item, func(k string, v gjson.Result) {
					if k == "content" || k == "output" {
						eachElem(v, func(part gjson.Result) { fileIDs(part, false) })
					}
				})
			})
		case "images": // an image edit's JSON body
			eachElem(v, func(img gjson.Result) { fileIDs(img, false) })
		case "mask":
			fileIDs(v, false)
		case "tools":
			eachElem(v, func(tool gjson.Result) {
				eachKey(tool, func(k string, v gjson.Result) {
					if k == "container" {
						eachKey(v, func(k string, v gjson.Result) {
							if k == "file_ids" {
								eachElem(v, add)
							}
						})
					}
				})
			})
		}
	})
	return dst, ok
}

// eachKey calls fn with every key (unescaped) and value of an object, duplicates included; nothing for another
// value.
func eachKey(obj gjson.Result, fn func(k string, v gjson.Result)) {
	if !obj.IsObject() {
		return
	}
	obj.ForEach(func(k, v gjson.Result) bool {
		fn(k.String(), v)
		return true
	})
}

// eachElem calls fn with every element of an array; nothing for another value.
func eachElem(arr gjson.Result, fn func(v gjson.Result)) {
	if !arr.IsArray() {
		return
	}
	arr.ForEach(func(_, v gjson.Result) bool {
		fn(v)
		return true
	})
}
