package provider

import "github.com/weir-gateway/weir/internal/config"

// fieldSet tells, by YAML name, whether a type-specific provider field is set.
var fieldSet = map[string]func(*config.Provider) bool{
	"keys":              func(c *config.Provider) bool { return len(c.Keys) > 0 },
	"region":            func(c *config.Provider) bool { return c.Region != "" },
	"project":           func(c *config.Provider) bool { return c.Project != "" },
	"credentials_file":  func(c *config.Provider) bool { return c.CredentialsFile != "" },
	"access_key_id":     func(c *config.Provider) bool { return c.AccessKeyID != "" },
	"secret_access_key": func(c *config.Provider) bool { return c.SecretAccessKey != "" },
	"session_token":     func(c *config.Provider) bool { return c.SessionToken != "" },
	"api_version":       func(c *config.Provider) bool { return c.APIVersion != "" },
	"deployments":       func(c *config.Provider) bool { return len(c.Deployments) > 0 },
}

// Unused reports each of fields (YAML names) that cfg sets although its type does not read it, with msg, so a
// misplaced setting is an error rather than silently ignored.
func Unused(cfg config.Provider, msg string, fields ...string) config.Problems {
	var ps config.Problems
	for _, f := range fields {
		if fieldSet[f](&cfg) {
			ps = append(ps, config.Problem{Path: f, Msg: msg})
		}
	}
	return ps
}
