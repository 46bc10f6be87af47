// Package mcpserver is an MCP server for Weir's tests, built on the official Go SDK: the tools add, echo,
// sleep, secret, crash and weather (what mockupstream's scripted tool calls ask for), a resource and a prompt. The e2e tests serve it over Streamable HTTP and SSE
// in-process, and over stdio through cmd/mcpstdio.
package mcpserver

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Calls counts the tool calls that reached the server.
type Calls struct{ n atomic.Int64 }

// Load is the count.
func (c *Calls) Load() int64 { return c.n.Load() }

type addArgs struct {
	A int `json:"a" jsonschema:"first addend"`
	B int `json:"b" jsonschema:"second addend"`
}

type echoArgs struct {
	Text string `json:"text" jsonschema:"text to echo back"`
}

type weatherArgs struct {
	City string `json:"city" jsonschema:"the city"`
}

type sleepArgs struct {
	Ms int `json:"ms" jsonschema:"milliseconds to sleep"`
}

func text(s string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: s}}}
}

// New builds the server; name tells instances apart in echo's answer ("name: text").
func New(name string, calls *Calls) *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: name, Version: "v1.0.0"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "add", Description: "Add two integers."},
		func(ctx context.Context, req *mcp.CallToolRequest, a addArgs) (*mcp.CallToolResult, any, error) {
			calls.n.Add(1)
			return text(fmt.Sprint(a.A + a.B)), nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "echo", Description: "Echo the text back, after the server's name."},
		func(ctx context.Context, req *mcp.CallToolRequest, a echoArgs) (*mcp.CallToolResult, any, error) {
			calls.n.Add(1)
			return text(name + ": " + a.Text), nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "sleep", Description: "Sleep, then answer."},
		func(ctx context.Context, req *mcp.CallToolRequest, a sleepArgs) (*mcp.CallToolResult, any, error) {
			calls.n.Add(1)
			select {
			case <-time.After(time.Duration(a.Ms) * time.Millisecond):
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			}
			return text("slept"), nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "secret", Description: "A tool most keys must not see."},
		func(ctx context.Context, req *mcp.CallToolRequest, a struct{}) (*mcp.CallToolResult, any, error) {
			calls.n.Add(1)
			return text("the secret is 42"), nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "crash", Description: "Exit the process (stdio servers: the gateway restarts it)."},
		func(ctx context.Context, req *mcp.CallToolRequest, a struct{}) (*mcp.CallToolResult, any, error) {
			calls.n.Add(1)
			fmt.Fprintln(os.Stderr, "crashing on request")
			os.Exit(3)
			return nil, nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "weather", Description: "The weather in a city."},
		func(ctx context.Context, req *mcp.CallToolRequest, a weatherArgs) (*mcp.CallToolResult, any, error) {
			calls.n.Add(1)
			return text(name + ": sunny in " + a.City), nil, nil
		})
	s.AddResource(&mcp.Resource{URI: "test://" + name + "/readme", Name: "readme", MIMEType: "text/plain"},
		func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, MIMEType: "text/plain", Text: "read me from " + name}}}, nil
		})
	s.AddPrompt(&mcp.Prompt{Name: "greet", Description: "A greeting."},
		func(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: "hello from " + name}}}}, nil
		})
	return s
}
