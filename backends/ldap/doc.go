// Package ldap owns the LDAP directory backend: it provisions users and
// groups into an existing directory (OpenLDAP, 389 DS, AD LDS, Active
// Directory) over go-ldap v3, as the mapping's target blocks lay them out.
package ldap
