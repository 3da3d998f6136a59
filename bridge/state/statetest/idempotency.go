package statetest

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/state"
)

func testIdempotency(t *testing.T, open opener) {
	t.Run("Absent", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		_, err := s.Answer(t.Context(), "never-stored")
		require.ErrorIs(t, err, state.ErrNotFound)
	})

	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		every := make([]byte, 256) // every byte value, invalid UTF-8 included
		for i := range every {
			every[i] = byte(i)
		}
		large := make([]byte, 64<<10) // spans many SQLite overflow pages
		rng := rand.NewChaCha8([32]byte{1})
		_, _ = rng.Read(large)

		for _, tc := range []struct {
			name string
			a    state.Answer
		}{
			{"created", state.Answer{Status: 201, Body: []byte(`{"id":"u1","userName":"ada@example.org"}`), ResourceID: "u1", Version: 1}},
			{"no content", state.Answer{Status: 204, Version: 7}},
			{"empty body", state.Answer{Status: 200, Body: []byte{}, ResourceID: "u2", Version: 2}},
			{"server error", state.Answer{Status: 500, Body: []byte(`{"detail":"internal"}`)}},
			{"every byte", state.Answer{Status: 200, Body: every, ResourceID: "g1", Version: 1 << 40}},
			{"large body", state.Answer{Status: 200, Body: large, ResourceID: "g2", Version: 3}},
			{"text-like body", state.Answer{Status: 200, Body: []byte("line1\r\nline2\x00tail"), ResourceID: "ü-id/with:chars"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				s := newTestStore(t, open)
				require.NoError(t, s.PutAnswer(t.Context(), "fp-"+tc.name, tc.a, long))
				got, err := s.Answer(t.Context(), "fp-"+tc.name)
				require.NoError(t, err)
				// Bodies compared apart: go-cmp walks a []byte element by
				// element, which is slow for the large one under -race.
				require.True(t, bytes.Equal(tc.a.Body, got.Body), "body bytes differ")
				want, got := tc.a, got
				want.Body, got.Body = nil, nil
				requireEqual(t, want, got)
			})
		}
	})

	t.Run("Overwrite", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		first := state.Answer{Status: 201, Body: []byte(`{"v":1}`), ResourceID: "u1", Version: 1}
		second := state.Answer{Status: 200, Body: []byte(`{"v":2}`), ResourceID: "u1", Version: 2}
		require.NoError(t, s.PutAnswer(t.Context(), "k", first, long))
		require.NoError(t, s.PutAnswer(t.Context(), "k", second, long))
		got, err := s.Answer(t.Context(), "k")
		require.NoError(t, err)
		requireEqual(t, second, got)
	})

	t.Run("KeysIndependent", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		keys := []string{"sha256:abc", "sha256:abc:x", "sha256:ab*", "o'brien\"; DROP TABLE answers; --", "ü"}
		for i, k := range keys {
			require.NoError(t, s.PutAnswer(t.Context(), k, state.Answer{Status: 200 + i, Version: int64(i)}, long))
		}
		for i, k := range keys {
			got, err := s.Answer(t.Context(), k)
			require.NoError(t, err, k)
			requireEqual(t, state.Answer{Status: 200 + i, Version: int64(i)}, got)
		}
		_, err := s.Answer(t.Context(), "sha256:ab")
		require.ErrorIs(t, err, state.ErrNotFound)
	})

	t.Run("Expiry", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		a := state.Answer{Status: 201, Body: []byte(`{}`), ResourceID: "u1", Version: 1}
		require.NoError(t, s.PutAnswer(t.Context(), "short", a, short))
		require.NoError(t, s.PutAnswer(t.Context(), "long", a, long))
		time.Sleep(pastShort)
		_, err := s.Answer(t.Context(), "short")
		require.ErrorIs(t, err, state.ErrNotFound, "expired answer")
		got, err := s.Answer(t.Context(), "long")
		require.NoError(t, err, "unexpired answer")
		requireEqual(t, a, got)

		// The expired key can be stored again, and the new ttl counts.
		b := state.Answer{Status: 200, Version: 2}
		require.NoError(t, s.PutAnswer(t.Context(), "short", b, long))
		got, err = s.Answer(t.Context(), "short")
		require.NoError(t, err, "answer stored again after expiry")
		requireEqual(t, b, got)
	})

	t.Run("OverwriteResetsTTL", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		require.NoError(t, s.PutAnswer(t.Context(), "k", state.Answer{Status: 200}, long))
		require.NoError(t, s.PutAnswer(t.Context(), "k", state.Answer{Status: 201}, short))
		time.Sleep(pastShort)
		_, err := s.Answer(t.Context(), "k")
		require.ErrorIs(t, err, state.ErrNotFound)
	})

	t.Run("BodyNotAliased", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		body := []byte(`{"id":"u1"}`)
		require.NoError(t, s.PutAnswer(t.Context(), "k", state.Answer{Status: 200, Body: body}, long))
		body[2] = 'X' // the caller reuses its buffer
		got, err := s.Answer(t.Context(), "k")
		require.NoError(t, err)
		require.Equal(t, `{"id":"u1"}`, string(got.Body))
		got.Body[2] = 'Y' // the caller edits what it got
		again, err := s.Answer(t.Context(), "k")
		require.NoError(t, err)
		require.Equal(t, `{"id":"u1"}`, string(again.Body))
	})

	t.Run("InvalidInput", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		for _, tc := range []struct {
			name string
			key  string
			ttl  time.Duration
		}{
			{"empty key", "", long},
			{"zero ttl", "k0", 0},
			{"negative ttl", "kn", -time.Second},
		} {
			require.Error(t, s.PutAnswer(t.Context(), tc.key, state.Answer{Status: 200}, tc.ttl), tc.name)
			_, err := s.Answer(t.Context(), tc.key)
			require.ErrorIs(t, err, state.ErrNotFound, "%s: nothing is stored", tc.name)
		}
	})
}
