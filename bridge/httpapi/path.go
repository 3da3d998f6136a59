package httpapi

import (
	"net/http"
	"net/url"
	"strings"
)

// Canonical spellings of the path segments that are matched without regard
// to case. Entra sends /Users and /Groups, but Microsoft's own Postman
// collection calls /scim/users (docs/entra.md §1, §12 row 18).
const (
	segSCIM                  = "scim"
	segV2                    = "v2"
	segUsers                 = "Users"
	segGroups                = "Groups"
	segServiceProviderConfig = "ServiceProviderConfig"
	segSchemas               = "Schemas"
	segResourceTypes         = "ResourceTypes"
)

var resourceSegments = []string{segUsers, segGroups, segServiceProviderConfig, segSchemas, segResourceTypes}

// canonicalPaths rewrites a request path before Gin routes it: empty
// segments (a doubled or trailing slash, easily produced by a Tenant URL
// pasted with a trailing "/") are dropped, and the fixed segments of
// /scim/<tenant>/v2/<Resource> get their canonical case. Gin can only match
// case-sensitively and would otherwise answer with a redirect, which a SCIM
// client must not be relied on to follow for a POST or PATCH.
func canonicalPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		escaped := r.URL.EscapedPath()
		canon := canonicalPath(escaped)
		if canon != escaped {
			if p, err := url.PathUnescape(canon); err == nil {
				r2 := new(http.Request)
				*r2 = *r
				u := *r.URL
				u.Path, u.RawPath = p, canon
				r2.URL = &u
				r = r2
			}
		}
		next.ServeHTTP(w, r)
	})
}

// canonicalPath works on the escaped path so that an encoded "/" inside an
// id stays inside its segment.
func canonicalPath(escaped string) string {
	if isCanonicalPath(escaped) {
		return escaped // what Entra sends: nothing to split and join
	}
	return rebuildPath(escaped)
}

// rebuildPath is canonicalPath for a path that needs a change.
func rebuildPath(escaped string) string {
	parts := strings.Split(escaped, "/")
	segs := parts[:0]
	for _, s := range parts {
		if s != "" {
			segs = append(segs, s)
		}
	}
	if len(segs) >= 3 && equalFoldEscaped(segs[0], segSCIM) && equalFoldEscaped(segs[2], segV2) {
		segs[0], segs[2] = segSCIM, segV2
		if len(segs) >= 4 {
			for _, name := range resourceSegments {
				if equalFoldEscaped(segs[3], name) {
					segs[3] = name
					break
				}
			}
		}
	}
	return "/" + strings.Join(segs, "/")
}

// equalFoldEscaped compares an escaped path segment with a plain name.
func equalFoldEscaped(seg, name string) bool {
	if strings.EqualFold(seg, name) {
		return true
	}
	if !strings.Contains(seg, "%") {
		return false
	}
	u, err := url.PathUnescape(seg)
	return err == nil && strings.EqualFold(u, name)
}

// isCanonicalPath reports, without allocating, whether canonicalPath would
// return p unchanged: it starts with "/", has no empty segment (unless it
// is "/"), and the fixed segments are already spelled canonically.
func isCanonicalPath(p string) bool {
	if p == "/" {
		return true
	}
	if len(p) < 2 || p[0] != '/' || p[len(p)-1] == '/' || strings.Contains(p, "//") {
		return false
	}
	var segs [4]string
	n := 0
	for rest := p[1:]; rest != "" && n < len(segs); n++ {
		segs[n], rest, _ = strings.Cut(rest, "/")
	}
	if n < 3 || !equalFoldEscaped(segs[0], segSCIM) || !equalFoldEscaped(segs[2], segV2) {
		return true
	}
	if segs[0] != segSCIM || segs[2] != segV2 {
		return false
	}
	if n == 4 {
		for _, name := range resourceSegments {
			if equalFoldEscaped(segs[3], name) {
				return segs[3] == name
			}
		}
	}
	return true
}
