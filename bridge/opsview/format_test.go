package opsview

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestShortDuration(t *testing.T) {
	for _, tc := range []struct {
		in   time.Duration
		want string
	}{
		{-time.Second, "0s"},
		{0, "0s"},
		{45 * time.Second, "45s"},
		{3*time.Minute + 20*time.Second, "3m20s"},
		{10 * time.Minute, "10m"},
		{2*time.Hour + 5*time.Minute + 30*time.Second, "2h5m"},
		{76 * time.Hour, "3d4h"},
		{48 * time.Hour, "2d"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			require.Equal(t, tc.want, ShortDuration(tc.in))
		})
	}
}
