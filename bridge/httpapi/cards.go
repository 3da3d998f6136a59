package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scimbridge/scimbridge/bridge/cards"
	"github.com/scimbridge/scimbridge/bridge/scim"
)

// CardImporter runs badge-card imports for POST /admin/cards/import
// (implemented by *ops.Operator over bridge/cards).
type CardImporter interface {
	// ImportCards imports the CSV file in body into tenant, with the
	// options the query parameters give. The answer is marshalled as JSON.
	// Errors are *scim.Error (400 for bad options or an unusable file, 404
	// for an unknown tenant) or wrap opsview.ErrNotFound; an upload over the limit
	// surfaces as *http.MaxBytesError and is answered 413.
	ImportCards(ctx context.Context, tenant string, params url.Values, body io.Reader) (cards.Answer, error)
}

// Limits of an upload to POST /admin/cards/import: the file may be much
// larger than a SCIM body (100,000 rows are about 5 MB), and the import
// may take minutes, so the route has its own body cap and deadline in place
// of the SCIM ones. Larger files go through `scimbridge cards import`.
const (
	MaxCardsUpload     int64 = 64 << 20
	CardsImportTimeout       = 10 * time.Minute
)

const cardsImportRoute = "/admin/cards/import"

// adminImportCards streams the request body into the import: nothing is
// buffered beyond a batch.
func (a *api) adminImportCards(c *gin.Context) {
	tenant := c.Query("tenant")
	if tenant == "" {
		a.adminError(c, scim.Errorf(http.StatusBadRequest, "", "name the tenant: POST /admin/cards/import?tenant=NAME with the CSV file as the body"))
		return
	}
	tooLarge := scim.Errorf(http.StatusRequestEntityTooLarge, "",
		"the file is over %d bytes; import it with `scimbridge cards import`, or in parts", MaxCardsUpload)
	if c.Request.ContentLength > MaxCardsUpload {
		a.adminError(c, tooLarge)
		return
	}
	// The server's read and write timeouts are sized for SCIM requests.
	rc := http.NewResponseController(c.Writer)
	deadline := time.Now().Add(CardsImportTimeout)
	_ = rc.SetReadDeadline(deadline)
	_ = rc.SetWriteDeadline(deadline.Add(10 * time.Second))
	body := http.MaxBytesReader(c.Writer, c.Request.Body, MaxCardsUpload)
	v, err := a.cards.ImportCards(c.Request.Context(), tenant, c.Request.URL.Query(), body)
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		a.adminError(c, tooLarge)
		return
	}
	adminAnswer(a, c, v, err)
}
