package openai

import (
	"fmt"

	"github.com/weir-gateway/weir/internal/confkit"
	"github.com/weir-gateway/weir/internal/provider"
)

// Every OpenAI-family upstream has these; the types add what they are known to offer.
var baseOps = []provider.Op{provider.OpChat, provider.OpCompletions, provider.OpEmbeddings, provider.OpResponses,
	provider.OpModel, provider.OpNative}

// flavorOps lists what each type offers beyond baseOps, as its public API documents it.
var flavorOps = map[string][]provider.Op{
	"openai": {provider.OpImages, provider.OpImageEdits, provider.OpImageVariation, provider.OpSpeech, provider.OpTranscriptions,
		provider.OpTranslations, provider.OpModerations, provider.OpFiles, provider.OpBatches},
	"azure": {provider.OpImages, provider.OpImageEdits, provider.OpSpeech, provider.OpTranscriptions,
		provider.OpTranslations, provider.OpFiles, provider.OpBatches},
	"groq":     {provider.OpSpeech, provider.OpTranscriptions, provider.OpTranslations, provider.OpFiles, provider.OpBatches},
	"mistral":  {provider.OpModerations, provider.OpFiles, provider.OpBatches},
	"together": {provider.OpImages, provider.OpRerank, provider.OpFiles, provider.OpBatches},
	"vllm":     {provider.OpRerank, provider.OpTranscriptions},
}

// endpointNames maps the names a config's `endpoints` list uses to operations.
var endpointNames = map[string]provider.Op{
	"chat": provider.OpChat, "completions": provider.OpCompletions, "embeddings": provider.OpEmbeddings,
	"responses": provider.OpResponses, "images": provider.OpImages, "image_edits": provider.OpImageEdits,
	"image_variations": provider.OpImageVariation,
	"speech":           provider.OpSpeech, "transcriptions": provider.OpTranscriptions, "translations": provider.OpTranslations,
	"moderations": provider.OpModerations, "rerank": provider.OpRerank, "files": provider.OpFiles,
	"batches": provider.OpBatches, "models": provider.OpModel,
}

// opsFor returns the operations a provider offers: its `endpoints` when configured (an OpenAI-compatible server
// that only has chat completions says `endpoints: [chat]`, and Responses requests are then translated), else its
// type's defaults. The provider's own routes (/openai/...) are always offered.
func opsFor(cfg provider.Common) (map[provider.Op]bool, confkit.Problems) {
	ops := map[provider.Op]bool{provider.OpNative: true}
	if len(cfg.Endpoints) > 0 {
		var ps confkit.Problems
		for i, n := range cfg.Endpoints {
			op, ok := endpointNames[n]
			if !ok {
				ps = append(ps, confkit.Problem{Path: fmt.Sprintf("endpoints[%d]", i),
					Msg: fmt.Sprintf("unknown endpoint %q (known: chat, completions, embeddings, responses, images, image_edits, image_variations, speech, transcriptions, translations, moderations, rerank, files, batches, models)", n)})
				continue
			}
			ops[op] = true
		}
		return ops, ps
	}
	for _, op := range baseOps {
		ops[op] = true
	}
	for _, op := range flavorOps[cfg.Type] {
		ops[op] = true
	}
	return ops, nil
}
