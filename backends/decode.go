package backends

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
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
	for _, k := range sortedKeys(m) {
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

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
