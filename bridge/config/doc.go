// Package config owns bridge.yaml: its model, strict loading, ${...}
// expansion and validation. One loader serves serve, mapping check, token
// and every other command, so a file that passes `scimbridge mapping check`
// is the file serve runs with. Load does no network I/O.
//
// A complete file, with every default spelled out (configs/bridge.yaml is
// the same, commented key by key):
//
//	listen: ${SCIMBRIDGE_LISTEN:-127.0.0.1:8080}
//	public_url: ${SCIMBRIDGE_PUBLIC_URL:-http://127.0.0.1:8080}
//	log: { level: info, format: auto }       # format: auto | json | text
//	state:                                    # exactly one of sqlite / redis
//	  sqlite: { path: ${SCIMBRIDGE_DATA_DIR:-data}/state.db }
//	  # redis: { url: ${SCIMBRIDGE_REDIS_URL:-redis://127.0.0.1:6379/0} }
//	  # redis: { addrs: ["10.0.0.1:26379", "10.0.0.2:26379"], master_name: mymaster, password: ${file:redis.pw} }
//	limits:
//	  body_bytes: 1048576                     # 413 above this
//	  request_timeout: 25s                    # must be < 60s (Entra's limit)
//	  write_retries: 3                        # inline retries on transient target errors
//	tokens:
//	  validity: 8760h                         # Go durations, or days: 365d
//	  grace: 24h
//	  file: ${SCIMBRIDGE_DATA_DIR:-data}/tenant-token.txt
//	tenants:
//	  - name: default                         # ^[a-z0-9][a-z0-9-]{0,62}$, URL /scim/default/v2
//	    backend: { type: pharos, config: { driver: sqlite, dsn: ${SCIMBRIDGE_DATA_DIR:-data}/pharos.db, init: true } }
//	    mapping: mappings/entra-to-pharos.yaml
//
// # Loading
//
// Load runs these steps and stops after the first that fails:
//
//  1. Expansion, on the text before YAML parsing, in scalar values only
//     (never in comments or keys): ${NAME} is the environment variable NAME
//     and an error if it is unset; ${NAME:-default} uses default when NAME
//     is unset or empty (default may itself hold references); ${file:PATH}
//     is the content of the file PATH with one trailing newline removed,
//     for secrets; $$ is a literal $. A lone $ followed by anything else is
//     kept. A value is inserted so that the YAML structure stays as written:
//     escaped inside quotes, and an unquoted scalar whose values YAML would
//     misread (a password with '#' or ': ', a DN with commas in a flow
//     mapping) is turned into a double-quoted one; otherwise numbers and
//     booleans keep their type. Every reference that fails is reported.
//  2. Strict decoding with goccy/go-yaml: unknown and duplicate keys, type
//     mismatches and syntax errors are errors with line:col.
//  3. Defaults, then validation of every key, reporting every problem at
//     once, each at its line:col.
//  4. For each tenant whose mapping file exists: mapping.Load, then the
//     backend driver's Validate with the mapping's schema. Their errors are
//     prefixed with the tenant's name.
//
// Errors are *Error values joined with errors.Join; their positions and
// source snippets are those of the file as written, so an expanded secret
// never appears in one.
//
// # Relative paths
//
// ${file:PATH} and each tenant's mapping are resolved against the directory
// of the configuration file, so that a configuration and the mappings and
// secrets shipped with it work from any working directory. Data files —
// state.sqlite.path and tokens.file — are resolved against the working
// directory, like the relative paths inside a backend's config block (the
// Pharos SQLite dsn), so that the bridge's files and the embedded target's
// land together where the bridge is run (data/ for `make run`). Config holds
// all of them as absolute paths.
//
// # Secrets
//
// Config, RedisConfig and BackendConfig print (%v, %+v, %#v, %s) without
// credentials: Secret fields show "<secret>", passwords in URLs and DSNs are
// masked, backend keys named like a credential (password, secret, token,
// ...) are hidden, and every value read through ${file:...} is replaced by
// "<secret>" wherever it appears, error messages included.
package config
