package pharos

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/scimbridge/scimbridge/backends"
)

// Engine names accepted in Config.Driver.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Config is the tenant's backend block for type pharos.
type Config struct {
	// Driver is the database engine: "sqlite" or "postgres".
	// Defaults to "sqlite", the embedded store.
	Driver string `json:"driver"`
	// DSN locates the database: a file path for sqlite (the WAL, busy
	// timeout, foreign-key and immediate-transaction settings are added
	// unless the DSN sets them), a URL such as
	// postgres://pharos@127.0.0.1:5432/pharos?sslmode=disable for postgres.
	// Required.
	DSN string `json:"dsn"`
	// MaxOpenConns bounds the connection pool. SQLite writers take the
	// database lock with BEGIN IMMEDIATE and wait for it up to the busy
	// timeout, so several connections let reads run beside a write.
	// Defaults to 4.
	MaxOpenConns int `json:"maxOpenConns"`
	// Init creates the Pharos schema (schema.sql) when the users table is
	// missing. Defaults to true for sqlite, so a fresh clone runs with no
	// setup, and false for postgres, whose database belongs to someone else.
	Init *bool `json:"init"`
}

const defaultMaxOpenConns = 4

// decodeConfig turns the decoded YAML block into a Config, rejecting
// unknown keys, and applies the defaults.
func decodeConfig(raw backends.Config) (Config, error) {
	var c Config
	if err := backends.DecodeConfig(map[string]any(raw), &c); err != nil {
		return c, fmt.Errorf("pharos: config: %w", err)
	}
	if c.Driver == "" {
		c.Driver = DriverSQLite
	}
	if c.MaxOpenConns == 0 {
		c.MaxOpenConns = defaultMaxOpenConns
	}
	if c.Init == nil {
		init := c.Driver == DriverSQLite
		c.Init = &init
	}
	return c, nil
}

func (c Config) validate() []error {
	var errs []error
	switch c.Driver {
	case DriverSQLite, DriverPostgres:
	default:
		errs = append(errs, fmt.Errorf("pharos: config.driver: %q is not sqlite or postgres", c.Driver))
	}
	if strings.TrimSpace(c.DSN) == "" {
		errs = append(errs, errors.New("pharos: config.dsn: required"))
	}
	if c.MaxOpenConns < 0 {
		errs = append(errs, fmt.Errorf("pharos: config.maxOpenConns: %d is negative", c.MaxOpenConns))
	}
	return errs
}

// Layout is the mapping's "target" block for one kind: where its records
// live.
type Layout struct {
	// Table holds one row per record. Required.
	Table string `json:"table"`
	// Key is the primary-key column; its value is the SCIM id. Required.
	Key string `json:"key"`
	// Created and Modified are timestamp columns the backend maintains.
	// Default to created_at and updated_at when the table has them; a
	// column named here must exist.
	Created  string `json:"created"`
	Modified string `json:"modified"`
	// MultiValued maps an attribute name to the child table holding its
	// values, one row per value.
	MultiValued map[string]ChildLayout `json:"multiValued"`
	// Members is the membership table; groups only.
	Members *MembersLayout `json:"members"`
}

// ChildLayout is a child table of a multi-valued attribute.
type ChildLayout struct {
	// Table holds the values. Required.
	Table string `json:"table"`
	// Key is the column referring to the owner's key. Required.
	Key string `json:"key"`
	// Value is the column holding one value. Required.
	Value string `json:"value"`
}

// MembersLayout is the group membership table.
type MembersLayout struct {
	// Table holds one row per membership. Required.
	Table string `json:"table"`
	// Group is the column holding the group's key. Required.
	Group string `json:"group"`
	// Member is the column holding the member's id: a user's or, for
	// nested groups, a group's key. Required.
	Member string `json:"member"`
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// decodeLayout decodes and checks one kind's layout against its schema. A
// nil layout for groups means the mapping has no groups; users are required.
func decodeLayout(kind backends.Kind, ks backends.KindSchema) (*Layout, []error) {
	prefix := "pharos: " + backends.LayoutPath(kind)
	var l Layout
	if ok, errs := backends.DecodeLayout(prefix, kind, ks, "", &l); !ok {
		return nil, errs
	}
	var errs []error
	ident := func(path, v string, required bool) {
		switch {
		case v == "" && required:
			errs = append(errs, fmt.Errorf("%s.%s: required", prefix, path))
		case v != "" && !identRE.MatchString(v):
			errs = append(errs, fmt.Errorf("%s.%s: %q is not an identifier (letters, digits, _)", prefix, path, v))
		}
	}
	ident("table", l.Table, true)
	ident("key", l.Key, true)
	ident("created", l.Created, false)
	ident("modified", l.Modified, false)
	for _, name := range slices.Sorted(maps.Keys(l.MultiValued)) {
		c := l.MultiValued[name]
		p := "multiValued." + name
		ident(p, name, true)
		ident(p+".table", c.Table, true)
		ident(p+".key", c.Key, true)
		ident(p+".value", c.Value, true)
		if a, ok := ks.Attr(name); !ok || !a.Multi {
			errs = append(errs, fmt.Errorf("%s.%s: the mapping has no multi-valued attribute %q", prefix, p, name))
		}
	}
	if l.Members != nil {
		if kind != backends.Group {
			errs = append(errs, fmt.Errorf("%s.members: only groups have members", prefix))
		}
		ident("members.table", l.Members.Table, true)
		ident("members.group", l.Members.Group, true)
		ident("members.member", l.Members.Member, true)
	}
	for _, a := range ks.Attrs {
		p := fmt.Sprintf("%s: attribute %q", prefix, a.Name)
		switch {
		case a.Name == backends.AttrMembers:
			if l.Members == nil {
				errs = append(errs, fmt.Errorf("%s: the layout has no members table", p))
			}
		case a.Name == backends.AttrID:
			errs = append(errs, fmt.Errorf("%s: the id is the key column and is never written", p))
		case !identRE.MatchString(a.Name):
			errs = append(errs, fmt.Errorf("%s: not a column name (letters, digits, _)", p))
		case a.Multi:
			if _, ok := l.MultiValued[a.Name]; !ok {
				errs = append(errs, fmt.Errorf("%s: multi-valued, but the layout's multiValued has no entry for it", p))
			}
		case strings.EqualFold(a.Name, l.Key):
			errs = append(errs, fmt.Errorf("%s: the key column is the id and is never written", p))
		}
		if a.Ref != "" && a.Ref != backends.User && a.Ref != backends.Group {
			errs = append(errs, fmt.Errorf("%s: refers to unknown kind %q", p, a.Ref))
		}
		if a.Ref != "" && a.Multi {
			errs = append(errs, fmt.Errorf("%s: a multi-valued reference is not supported", p))
		}
	}
	return &l, errs
}
