package backends

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// DecodeConfig decodes a YAML-decoded configuration block (a backend's
// config, a mapping's target layout) into out, a struct with json tags,
// through JSON: unknown keys, keys in the wrong case and mistyped values are
// errors naming them. Every backend decodes its blocks with it, so all of
// them are equally strict.
func DecodeConfig(in map[string]any, out any) error {
	norm := normalizeYAML(in)
	// encoding/json matches keys case-insensitively; a mapping file's
	// keys are exact, so bindDn is a typo, not bindDN.
	if err := exactKeys(norm, reflect.TypeOf(out)); err != nil {
		return err
	}
	b, err := json.Marshal(norm)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// LayoutPath names kind's layout as a mapping file spells it, for errors.
func LayoutPath(kind Kind) string {
	if kind == Group {
		return "groups.target"
	}
	return "users.target"
}

// DecodeLayout decodes kind's layout (the mapping's target block) into out
// with DecodeConfig, every error starting with prefix (the backend's name
// and LayoutPath). ok reports whether out holds a layout: a mapping
// without groups has no groups layout, which is no error; a layout missing
// otherwise is, and need (when set) says what it must hold.
func DecodeLayout(prefix string, kind Kind, ks KindSchema, need string, out any) (ok bool, errs []error) {
	if len(ks.Layout) == 0 {
		if kind == Group && len(ks.Attrs) == 0 {
			return false, nil
		}
		if need != "" {
			need = " (" + need + ")"
		}
		return false, []error{fmt.Errorf("%s: required%s", prefix, need)}
	}
	if err := DecodeConfig(ks.Layout, out); err != nil {
		return false, []error{fmt.Errorf("%s: %w", prefix, err)}
	}
	return true, nil
}

// exactKeys checks that every key of v is a json tag of t, exactly,
// descending into nested structs.
func exactKeys(v any, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	m, ok := v.(map[string]any)
	if !ok || t.Kind() != reflect.Struct {
		return nil
	}
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag != "" && tag != "-" {
			fields[tag] = f.Type
		}
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		ft, ok := fields[k]
		if !ok {
			return fmt.Errorf("unknown field %q", k)
		}
		if err := exactKeys(m[k], ft); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	return nil
}

// normalizeYAML turns map[any]any (which some YAML decoders produce for
// nested maps) into map[string]any so that encoding/json accepts it.
func normalizeYAML(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = normalizeYAML(e)
		}
		return m
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = normalizeYAML(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = normalizeYAML(e)
		}
		return s
	}
	return v
}
