package main

// Provider types compiled into the binary: each registers itself by type name.
import (
	_ "github.com/weir-gateway/weir/internal/provider/mock"
	_ "github.com/weir-gateway/weir/internal/provider/openai"
)
