package config

import (
	"cmp"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
)

// Printing a configuration must never show a credential: configurations
// end up in logs and bug reports. Secret covers the fields this package
// knows are credentials; the rest is redacted by shape (a URL's password,
// a key=value DSN's password, a backend key named like a credential) and by
// value (anything read through ${file:...} is scrubbed wherever it appears).

const redacted = "<secret>"

// Secret is a credential. It prints, and marshals to YAML and JSON, as
// "<secret>"; string(s) is the value.
type Secret string

// String is "<secret>", or "" for an unset secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from showing the value.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// MarshalYAML hides the value.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalJSON hides the value.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// redactor scrubs the values read from ${file:...} references.
type redactor struct {
	secrets []string // longest first, so a secret containing another goes whole
}

func newRedactor(secrets []string) *redactor {
	s := slices.Clone(secrets)
	slices.SortFunc(s, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return &redactor{secrets: slices.Compact(s)}
}

func (r *redactor) scrub(s string) string {
	if r == nil {
		return s
	}
	for _, v := range r.secrets {
		s = strings.ReplaceAll(s, v, redacted)
	}
	return s
}

var (
	// secretKey matches backend config keys that hold credentials.
	secretKey = regexp.MustCompile(`(?i)pass(word|wd)?|pwd|secret|token|credential|api_?key|private_?key`)
	// kvPassword matches the password of a key=value DSN (libpq, ODBC).
	kvPassword = regexp.MustCompile(`(?i)\b((?:password|pwd)\s*=\s*)('[^']*'|[^\s;&]*)`)
	// userPassword matches user:password@ at the start of a DSN without a
	// scheme (go-sql-driver/mysql).
	userPassword = regexp.MustCompile(`^([^:@/\s]*):[^@\s]*@`)
)

var (
	// urlPassword matches the password of a URL anywhere in a line.
	urlPassword = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s"']*):[^@/\s"']*@`)
	// keyValue matches "key: value" where key is named like a credential.
	keyValue = regexp.MustCompile(`(?i)([\w.-]*(?:pass(?:word|wd)?|pwd|secret|token|credential|api_?key|private_?key)[\w.-]*\s*:\s+)("[^"]*"|'[^']*'|[^\s,}\]#]+)`)
)

// redactLine hides credentials written literally in a line of the file,
// for error snippets. ${...} references are kept: they show where a value
// comes from, not the value.
func redactLine(s string) string {
	s = urlPassword.ReplaceAllString(s, "${1}:xxxxx@")
	return keyValue.ReplaceAllStringFunc(s, func(m string) string {
		sub := keyValue.FindStringSubmatch(m)
		v := strings.Trim(sub[2], `"'`)
		if strings.HasPrefix(v, "${") || strings.HasPrefix(v, "{") || strings.HasPrefix(v, "[") {
			return m
		}
		return sub[1] + redacted
	})
}

// redactString hides a password embedded in a URL or DSN.
func redactString(s string) string {
	if strings.Contains(s, "://") {
		if u, err := url.Parse(s); err == nil && u.User != nil {
			if _, ok := u.User.Password(); ok {
				return u.Redacted()
			}
		}
	} else {
		s = userPassword.ReplaceAllString(s, "${1}:"+redacted+"@")
	}
	return kvPassword.ReplaceAllString(s, "${1}"+redacted)
}

// redactValue returns a copy of v, found under key, without credentials.
func redactValue(key string, v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = redactValue(k, e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = redactValue(key, e)
		}
		return out
	case nil:
		return nil
	case string:
		if v != "" && secretKey.MatchString(key) {
			return redacted
		}
		return redactString(v)
	default:
		if secretKey.MatchString(key) {
			return redacted
		}
		return v
	}
}

// flow renders v as one line of YAML flow style.
func flow(v any) string {
	b, err := yaml.MarshalWithOptions(v, yaml.Flow(true))
	if err != nil {
		return "<unprintable: " + err.Error() + ">"
	}
	return strings.TrimSpace(string(b))
}

// Redacted returns URL with its password, if any, replaced by "xxxxx".
func (r RedisConfig) Redacted() string {
	if r.URL == "" {
		return ""
	}
	u, err := url.Parse(r.URL)
	if err != nil {
		return "<invalid url>"
	}
	return u.Redacted()
}

func (r RedisConfig) view() yaml.MapSlice {
	v := yaml.MapSlice{}
	if r.URL != "" {
		v = append(v, yaml.MapItem{Key: "url", Value: r.Redacted()})
	}
	if len(r.Addrs) > 0 {
		v = append(v, yaml.MapItem{Key: "addrs", Value: r.Addrs})
	}
	if r.MasterName != "" {
		v = append(v, yaml.MapItem{Key: "master_name", Value: r.MasterName})
	}
	if r.Username != "" {
		v = append(v, yaml.MapItem{Key: "username", Value: r.Username})
	}
	if r.Password != "" {
		v = append(v, yaml.MapItem{Key: "password", Value: r.Password.String()})
	}
	if r.SentinelPassword != "" {
		v = append(v, yaml.MapItem{Key: "sentinel_password", Value: r.SentinelPassword.String()})
	}
	return append(v,
		yaml.MapItem{Key: "db", Value: r.DB},
		yaml.MapItem{Key: "key_prefix", Value: r.KeyPrefix})
}

// String shows the Redis configuration without its password.
func (r RedisConfig) String() string { return flow(r.view()) }

// GoString keeps %#v from showing the password.
func (r RedisConfig) GoString() string { return r.String() }

func (b BackendConfig) view() yaml.MapSlice {
	cfg := map[string]any(b.Config)
	if cfg == nil {
		cfg = map[string]any{}
	}
	return yaml.MapSlice{
		{Key: "type", Value: b.Type},
		{Key: "config", Value: redactValue("", cfg)},
	}
}

// String shows the backend configuration without credentials.
func (b BackendConfig) String() string { return b.redact.scrub(flow(b.view())) }

// GoString keeps %#v from showing credentials.
func (b BackendConfig) GoString() string { return b.String() }

// String shows the whole configuration on one line, in YAML flow style,
// without any credential. It has a value receiver so that printing a Config
// and a *Config (%v, %+v, %s) both go through it.
func (c Config) String() string {
	st := yaml.MapSlice{}
	if c.State.SQLite != nil {
		st = append(st, yaml.MapItem{Key: "sqlite", Value: yaml.MapSlice{{Key: "path", Value: c.State.SQLite.Path}}})
	}
	if c.State.Redis != nil {
		st = append(st, yaml.MapItem{Key: "redis", Value: c.State.Redis.view()})
	}
	tenants := make([]yaml.MapSlice, 0, len(c.Tenants))
	for _, t := range c.Tenants {
		tenants = append(tenants, yaml.MapSlice{
			{Key: "name", Value: t.Name},
			{Key: "backend", Value: t.Backend.view()},
			{Key: "mapping", Value: t.MappingPath},
		})
	}
	v := yaml.MapSlice{
		{Key: "listen", Value: c.Listen},
		{Key: "public_url", Value: c.PublicURL},
		{Key: "log", Value: yaml.MapSlice{{Key: "level", Value: c.Log.Level}, {Key: "format", Value: c.Log.Format}}},
		{Key: "state", Value: st},
		{Key: "limits", Value: yaml.MapSlice{
			{Key: "body_bytes", Value: c.Limits.BodyBytes},
			{Key: "request_timeout", Value: c.Limits.RequestTimeout.String()},
			{Key: "write_retries", Value: c.Limits.WriteRetries},
		}},
		{Key: "tokens", Value: yaml.MapSlice{
			{Key: "validity", Value: c.Tokens.Validity.String()},
			{Key: "grace", Value: c.Tokens.Grace.String()},
			{Key: "file", Value: c.Tokens.File},
		}},
		{Key: "tenants", Value: tenants},
	}
	return c.redact.scrub(flow(v))
}

// GoString keeps %#v from showing credentials.
func (c Config) GoString() string { return c.String() }
