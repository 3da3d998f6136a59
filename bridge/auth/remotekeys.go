package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/hashicorp/go-hclog"
	"golang.org/x/time/rate"
)

// Fetching an issuer's keys: each HTTP call is bounded in time and size,
// the keys are cached by kid, and a token signed with a kid not in the
// cache makes the set be fetched again at most every unknownKIDEvery, so
// that forged kids cannot make the bridge hammer the issuer.
const (
	fetchTimeout     = 5 * time.Second
	maxFetchBytes    = 1 << 20
	unknownKIDEvery  = 5 * time.Minute
	keysRefreshEvery = time.Hour
	// discoverEvery bounds how often a failed discovery (metadata or the
	// first JWKS fetch) is tried again by a request.
	discoverEvery = 10 * time.Second
)

// errKeysUnavailable means an issuer's keys have never been fetched: the
// caller answers 503, since the token may well be good.
var errKeysUnavailable = errors.New("the issuer's signing keys could not be fetched")

// remoteKeys are the signing keys of an OpenID issuer, found through its
// metadata document (jwks_uri) when first needed.
type remoteKeys struct {
	metadataURL string
	client      *http.Client
	log         hclog.Logger
	ctx         context.Context // ends the refresh goroutine

	mu      sync.Mutex
	kf      keyfunc.Keyfunc
	tried   time.Time
	lastErr error
}

func newRemoteKeys(ctx context.Context, metadataURL string, log hclog.Logger) *remoteKeys {
	return &remoteKeys{
		metadataURL: metadataURL,
		client:      &http.Client{Timeout: fetchTimeout, Transport: limitedTransport{http.DefaultTransport}},
		log:         log,
		ctx:         ctx,
	}
}

// limitedTransport cuts every response body at maxFetchBytes: the JWKS
// parser reads whatever it is given.
type limitedTransport struct{ next http.RoundTripper }

func (t limitedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = limitedBody{io.LimitReader(resp.Body, maxFetchBytes), resp.Body}
	return resp, nil
}

type limitedBody struct {
	io.Reader
	io.Closer
}

// keyfunc returns the issuer's key lookup, discovering it first if needed.
func (r *remoteKeys) keyfunc(ctx context.Context) (jwt.Keyfunc, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kf != nil {
		return r.kf.KeyfuncCtx(ctx), nil
	}
	if !r.tried.IsZero() && time.Since(r.tried) < discoverEvery {
		return nil, fmt.Errorf("%w: %w", errKeysUnavailable, r.lastErr)
	}
	r.tried = time.Now()
	kf, err := r.discover(ctx)
	if err != nil {
		r.lastErr = err
		r.log.Error("cannot fetch the issuer's signing keys; tokens it signed are answered 503 until they are fetched",
			"metadata_url", r.metadataURL, "error", err)
		return nil, fmt.Errorf("%w: %w", errKeysUnavailable, err)
	}
	r.kf = kf
	return kf.KeyfuncCtx(ctx), nil
}

func (r *remoteKeys) discover(ctx context.Context) (keyfunc.Keyfunc, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.metadataURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("openid metadata: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("openid metadata: HTTP %d", resp.StatusCode)
	}
	var meta struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&meta); err != nil {
		return nil, fmt.Errorf("openid metadata: %w", err)
	}
	if meta.JWKSURI == "" {
		return nil, errors.New("openid metadata has no jwks_uri")
	}
	noErrorFirst := false
	kf, err := keyfunc.NewDefaultOverrideCtx(r.ctx, []string{meta.JWKSURI}, keyfunc.Override{
		Client:                    r.client,
		HTTPTimeout:               fetchTimeout,
		NoErrorReturnFirstHTTPReq: &noErrorFirst,
		RefreshInterval:           keysRefreshEvery,
		RefreshUnknownKID:         rate.NewLimiter(rate.Every(unknownKIDEvery), 1),
		// A refetch the limiter does not allow at once is not waited for:
		// the request fails now instead of hanging (the wait bound is also
		// the refetch's own time limit, hence the fetch timeout).
		RateLimitWaitMax: fetchTimeout,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(_ context.Context, err error) {
				r.log.Warn("cannot refresh the issuer's signing keys; the cached keys stay in use", "jwks_uri", u, "error", err)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("jwks %s: %w", meta.JWKSURI, err)
	}
	return kf, nil
}
