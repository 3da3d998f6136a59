package ldap

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/scimbridge/scimbridge/backends"
)

// resultCode returns the LDAP result code of err, or -1.
func resultCode(err error) int {
	var le *goldap.Error
	if errors.As(err, &le) {
		return int(le.ResultCode)
	}
	return -1
}

// isNetwork reports whether err means the connection is unusable: a
// network error, a timeout or a closed connection. The connection is then
// destroyed, and a write that got such an error is ambiguous.
func isNetwork(err error) bool {
	if err == nil {
		return false
	}
	switch resultCode(err) {
	case int(goldap.ErrorNetwork), int(goldap.LDAPResultServerDown), int(goldap.LDAPResultTimeout),
		int(goldap.LDAPResultConnectError):
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// classify wraps an LDAP error of operation op with the backend sentinel
// it means, keeping the cause. attrs are the attribute names the request
// wrote, so that a schema error can name the one the server's diagnostic
// message mentions. Result codes per RFC 4511 Appendix A.
func classify(op string, err error, attrs []string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, backends.ErrUnavailable) || errors.Is(err, backends.ErrNotFound) ||
		errors.Is(err, backends.ErrConflict) || errors.Is(err, backends.ErrInvalid) ||
		errors.Is(err, backends.ErrUnsupported) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("ldap: %s: %w: %w", op, backends.ErrUnavailable, err)
	}
	if isNetwork(err) {
		return fmt.Errorf("ldap: %s: %w: %w", op, backends.ErrUnavailable, err)
	}
	code := resultCode(err)
	diag := diagnostic(err)
	switch code {
	case int(goldap.LDAPResultEntryAlreadyExists): // 68
		return fmt.Errorf("ldap: %s: %w", op, &backends.ConflictError{Attr: namedAttr(diag, attrs)})
	case int(goldap.LDAPResultNoSuchObject): // 32
		return fmt.Errorf("ldap: %s: %w: %w", op, backends.ErrNotFound, err)
	case int(goldap.LDAPResultBusy), int(goldap.LDAPResultUnavailable), int(goldap.LDAPResultUnwillingToPerform), // 51, 52, 53
		int(goldap.LDAPResultTimeLimitExceeded), int(goldap.LDAPResultAdminLimitExceeded), // 3, 11
		int(goldap.LDAPResultOther), int(goldap.LDAPResultLoopDetect), // 80, 54
		int(goldap.LDAPResultInsufficientAccessRights), int(goldap.LDAPResultInvalidCredentials), // 50, 49
		int(goldap.LDAPResultStrongAuthRequired), int(goldap.LDAPResultConfidentialityRequired): // 8, 13
		// 50/49/8/13 are the service account's configuration, not the
		// request: an operator fixes them and the queued write lands.
		return fmt.Errorf("ldap: %s: %w: %w", op, backends.ErrUnavailable, err)
	case int(goldap.LDAPResultConstraintViolation), int(goldap.LDAPResultInvalidAttributeSyntax), // 19, 21
		int(goldap.LDAPResultObjectClassViolation), int(goldap.LDAPResultUndefinedAttributeType), // 65, 17
		int(goldap.LDAPResultInvalidDNSyntax), int(goldap.LDAPResultNamingViolation), // 34, 64
		int(goldap.LDAPResultInappropriateMatching), int(goldap.LDAPResultNotAllowedOnRDN), // 18, 67
		int(goldap.LDAPResultAttributeOrValueExists), int(goldap.LDAPResultNoSuchAttribute), // 20, 16
		int(goldap.LDAPResultObjectClassModsProhibited), int(goldap.LDAPResultNotAllowedOnNonLeaf), // 69, 66
		int(goldap.LDAPResultSizeLimitExceeded): // 4
		return fmt.Errorf("ldap: %s: %w", op, &backends.InvalidError{Attr: namedAttr(diag, attrs), Reason: reason(code, diag)})
	case int(goldap.LDAPResultUnavailableCriticalExtension), int(goldap.LDAPResultProtocolError): // 12, 2
		return fmt.Errorf("ldap: %s: %w: %w", op, backends.ErrUnsupported, err)
	}
	return fmt.Errorf("ldap: %s: %w", op, err)
}

// diagnostic returns the server's diagnostic message of err.
func diagnostic(err error) string {
	var le *goldap.Error
	if errors.As(err, &le) && le.Err != nil {
		return le.Err.Error()
	}
	return ""
}

// reason is the text of an InvalidError: the result code's name and the
// server's diagnostic message, which says what the schema wanted.
func reason(code int, diag string) string {
	name := goldap.LDAPResultCodeMap[uint16(code)]
	if diag == "" {
		return strings.ToLower(name)
	}
	return strings.ToLower(name) + ": " + diag
}

// namedAttr finds which of attrs the diagnostic message names, e.g.
// slapd's "mail: value #0 invalid per syntax" or "object class
// 'inetOrgPerson' requires attribute 'sn'". The longest match wins, so
// that givenName beats name.
func namedAttr(diag string, attrs []string) string {
	low := strings.ToLower(diag)
	best := ""
	for _, a := range attrs {
		la := strings.ToLower(a)
		if la == "" || la[0] == '$' || len(la) <= len(best) {
			continue
		}
		for i := 0; ; {
			j := strings.Index(low[i:], la)
			if j < 0 {
				break
			}
			j += i
			before := j == 0 || !isWordByte(low[j-1])
			after := j+len(la) == len(low) || !isWordByte(low[j+len(la)])
			if before && after {
				best = a
				break
			}
			i = j + 1
		}
	}
	if strings.Contains(low, "requires attribute") || strings.Contains(low, "object class") {
		// A missing MUST attribute the request did not write at all:
		// quote it from the message ("requires attribute 'sn'").
		if best == "" {
			if i := strings.Index(low, "attribute '"); i >= 0 {
				rest := diag[i+len("attribute '"):]
				if j := strings.IndexByte(rest, '\''); j > 0 {
					return rest[:j]
				}
			}
		}
	}
	return best
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}
