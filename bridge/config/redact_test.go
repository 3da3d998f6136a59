package config

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/stretchr/testify/require"
)

// TestHideConfigSecrets prints a loaded configuration every way fmt can
// and checks that no credential shows, in the spirit of alertmanager's test
// of the same name.
func TestHideConfigSecrets(t *testing.T) {
	t.Parallel()
	body := `state:
  redis: { url: "redis://user:urlpass-1@redis.example.org:6379/0" }
tenants:
  - name: ldap1
    backend:
      type: ldap
      config:
        url: ldaps://ldap.example.org
        bind_dn: cn=admin,dc=example,dc=org
        bind_password: ${file:secrets/ldap}
        base_dn: ${file:secrets/basedn}
        other_password: literal-3
        dsn: postgres://u:dsnpass-4@db.example.org/pharos
        conn: host=db password=kvpass-5 user=u
        mysql: u:mysqlpass-6@tcp(db:3306)/pharos
        tls: { key_password: nested-7, ca: [ "${file:secrets/ca}" ] }
        api_token: 12345
    mapping: m.yaml
`
	path := writeConfig(t, body, map[string]string{
		"m.yaml":         "MAPPING",
		"secrets/ldap":   "filesecret-2\n",
		"secrets/basedn": "filesecret-8",
		"secrets/ca":     "filesecret-9",
	})
	cfg, err := load(path, testRegistry(), envOf(nil))
	require.NoError(t, err)
	secrets := []string{"urlpass-1", "filesecret-2", "literal-3", "dsnpass-4", "kvpass-5", "mysqlpass-6", "nested-7", "filesecret-8", "filesecret-9", "12345"}

	// The values are there to be used...
	require.Equal(t, "filesecret-2", cfg.Tenants[0].Backend.Config["bind_password"])
	require.Equal(t, "redis://user:urlpass-1@redis.example.org:6379/0", cfg.State.Redis.URL)

	// ...but never printed.
	printed := map[string]any{
		"config":   *cfg,
		"*config":  cfg,
		"tenant":   cfg.Tenants[0],
		"tenants":  cfg.Tenants,
		"backend":  cfg.Tenants[0].Backend,
		"redis":    *cfg.State.Redis,
		"*redis":   cfg.State.Redis,
		"state":    cfg.State,
		"redacted": cfg.State.Redis.Redacted(),
	}
	for name, v := range printed {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			out := fmt.Sprintf(verb, v)
			for _, s := range secrets {
				require.NotContains(t, out, s, "%s printed with %s: %s", name, verb, out)
			}
		}
	}

	// What is not secret still shows.
	s := cfg.String()
	for _, want := range []string{"redis.example.org:6379", "ldap1", `bind_dn: "cn=admin,dc=example,dc=org"`, "db.example.org", "<secret>"} {
		require.Contains(t, s, want)
	}
	require.Equal(t, "redis://user:xxxxx@redis.example.org:6379/0", cfg.State.Redis.Redacted())
}

func TestSecretType(t *testing.T) {
	t.Parallel()
	r := RedisConfig{Addrs: []string{"a:26379"}, MasterName: "m", Password: "pw-secret", KeyPrefix: "p:"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		require.NotContains(t, fmt.Sprintf(verb, r), "pw-secret")
		require.NotContains(t, fmt.Sprintf(verb, &r), "pw-secret")
		require.NotContains(t, fmt.Sprintf(verb, r.Password), "pw-secret")
	}
	y, err := yaml.Marshal(map[string]Secret{"p": r.Password})
	require.NoError(t, err)
	require.NotContains(t, string(y), "pw-secret")
	j, err := json.Marshal(map[string]Secret{"p": r.Password})
	require.NoError(t, err)
	require.JSONEq(t, `{"p":"<secret>"}`, string(j))
	require.Equal(t, "pw-secret", string(r.Password))
	require.Empty(t, Secret("").String(), "an unset secret prints as unset")
}

// TestSecretsNotInErrors checks that a value read from a file does not
// appear in an error about it, and that snippets show the file as written.
func TestSecretsNotInErrors(t *testing.T) {
	t.Parallel()
	body := `listen: ${file:listen}
public_url: "${file:url}"
state: { sqlite: { path: s.db } }
tenants:
  - name: t
    backend: { type: nope, config: { password: literal-secret } }
    mapping: m.yaml
`
	path := writeConfig(t, body, map[string]string{
		"m.yaml": "MAPPING",
		"listen": "listen-secret-1",
		"url":    "ftp://url-secret-2",
	})
	_, err := load(path, testRegistry(), envOf(nil))
	errs := configErrors(t, err)
	require.Len(t, errs, 3, "%v", err)
	out := err.Error()
	for _, s := range []string{"listen-secret-1", "url-secret-2", "literal-secret"} {
		require.NotContains(t, out, s)
	}
	require.Contains(t, errs[0].Msg, `listen: "<secret>" is not host:port`)
	require.Contains(t, errs[0].Snippet, "listen: ${file:listen}")
	require.Equal(t, 1, errs[0].Line)
	require.Equal(t, 2, errs[1].Line)
	require.Contains(t, errs[2].Snippet, "password: <secret>")
}

func TestRedactString(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"postgres://u:p@h/db", "postgres://u:xxxxx@h/db"},
		{"postgres://u@h/db", "postgres://u@h/db"},
		{"host=h password=p user=u", "host=h password=<secret> user=u"},
		{"host=h password='p q' user=u", "host=h password=<secret> user=u"},
		{"Server=h;Pwd=p;Database=d", "Server=h;Pwd=<secret>;Database=d"},
		{"u:p@tcp(h:3306)/db", "u:<secret>@tcp(h:3306)/db"},
		{"data/pharos.db", "data/pharos.db"},
		{"cn=admin,dc=example,dc=org", "cn=admin,dc=example,dc=org"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, redactString(tt.in))
		})
	}
}

func TestRedactLine(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`  redis: { url: "redis://:pw@h:6379" }`, `  redis: { url: "redis://:xxxxx@h:6379" }`},
		{`    bind_password: hunter2 # the admin`, `    bind_password: <secret> # the admin`},
		{`{ password: "a b", user: u }`, `{ password: <secret>, user: u }`},
		{`    password: ${file:/run/secrets/ldap}`, `    password: ${file:/run/secrets/ldap}`},
		{`tokens: { validity: 8760h }`, `tokens: { validity: 8760h }`},
		{`tokens:`, `tokens:`},
		{`listen: 127.0.0.1:8080`, `listen: 127.0.0.1:8080`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, redactLine(tt.in))
		})
	}
}
