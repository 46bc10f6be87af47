package main

// Provider types compiled into the binary: each registers itself by type name.
import (
	_ "github.com/weir-gateway/weir/internal/provider/anthropic"
	_ "github.com/weir-gateway/weir/internal/provider/bedrock"
	_ "github.com/weir-gateway/weir/internal/provider/cohere"
	_ "github.com/weir-gateway/weir/internal/provider/gemini"
	_ "github.com/weir-gateway/weir/internal/provider/mock"
	_ "github.com/weir-gateway/weir/internal/provider/openai"
	_ "github.com/weir-gateway/weir/internal/provider/vertex"
)
