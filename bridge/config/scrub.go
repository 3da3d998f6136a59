package config

import "strings"

// minScrubLen keeps Scrub from replacing every "a" or "1" when a test
// config has a one-letter password; a credential that short is no secret
// anyway.
const minScrubLen = 4

// Scrub removes credentials from free text about this configuration, such
// as a driver's error message shown to an operator: every value read
// through ${file:...}, the values of backend keys named like a credential,
// the Redis password, and any URL or key=value DSN password. It is safe on a
// nil *Config (patterns only).
func (c *Config) Scrub(s string) string {
	if c != nil {
		s = c.redact.scrub(s)
		var inline []string
		for _, t := range c.Tenants {
			inline = appendSecretValues(inline, "", map[string]any(t.Backend.Config))
		}
		if r := c.State.Redis; r != nil {
			inline = append(inline, string(r.Password))
		}
		for _, v := range newRedactor(inline).secrets {
			if len(v) >= minScrubLen {
				s = strings.ReplaceAll(s, v, redacted)
			}
		}
	}
	s = urlPassword.ReplaceAllString(s, "${1}:xxxxx@")
	return kvPassword.ReplaceAllString(s, "${1}"+redacted)
}

// appendSecretValues collects the string values found under keys named
// like a credential, at any depth.
func appendSecretValues(out []string, key string, v any) []string {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			out = appendSecretValues(out, k, e)
		}
	case []any:
		for _, e := range v {
			out = appendSecretValues(out, key, e)
		}
	case string:
		if v != "" && secretKey.MatchString(key) {
			out = append(out, v)
		}
	}
	return out
}
