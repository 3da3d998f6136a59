package redisstate

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-hclog"
	"github.com/redis/go-redis/v9"
)

// RouteClientLog sends go-redis's own log lines (one per failed dial while
// Redis is down) to log at Debug: the store already reports an outage
// through its errors, which the bridge logs once per failed operation at
// the level the failure deserves. go-redis has one process-wide logger.
func RouteClientLog(log hclog.Logger) {
	redis.SetLogger(hclogAdapter{log.Named("go-redis")})
}

type hclogAdapter struct{ log hclog.Logger }

func (a hclogAdapter) Printf(_ context.Context, format string, v ...any) {
	a.log.Debug(fmt.Sprintf(format, v...))
}
