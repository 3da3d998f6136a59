package scim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// requireSCIMError checks that err is a 400 *Error with the given scimType
// whose detail contains every fragment.
func requireSCIMError(tb testing.TB, err error, scimType string, fragments ...string) {
	tb.Helper()
	require.Error(tb, err)
	e, ok := asError(err)
	require.True(tb, ok, "error %v is not a *scim.Error", err)
	require.Equal(tb, http.StatusBadRequest, e.Status, "status of %v", err)
	require.Equal(tb, scimType, e.ScimType, "scimType of %v", err)
	for _, f := range fragments {
		require.Contains(tb, e.Detail, f)
	}
	require.NotContains(tb, e.Detail, "parse conflict", "filter-parser's raw text leaked")
	require.NotContains(tb, e.Detail, "expected int32", "filter-parser's raw text leaked")
}

// mustJSON decodes a JSON literal with UseNumber, as Decode does.
func mustJSON(tb testing.TB, s string) any {
	tb.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	require.NoError(tb, dec.Decode(&v))
	return v
}
