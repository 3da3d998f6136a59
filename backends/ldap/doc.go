// Package ldap owns the LDAP directory backend: it provisions users and
// groups into an existing directory (OpenLDAP, 389 DS, AD LDS, Active
// Directory) over go-ldap v3, as the mapping's target blocks lay them out,
// and reads them back for SCIM GETs and filters. main registers Driver as
// backend type "ldap".
//
// # The backend block (bridge.yaml)
//
//	backend:
//	  type: ldap
//	  config:
//	    url: ldaps://ldap.example.org        # ldap:// or ldaps://; required
//	    bindDN: cn=scimbridge,ou=services,dc=example,dc=org   # required
//	    password: ${file:/run/secrets/ldap}  # required; never logged
//	    baseDN: dc=example,dc=org            # the suffix; required
//	    startTLS: false         # upgrade ldap:// before binding
//	    caFile: ""              # PEM CAs of the server certificate (default: system roots)
//	    certFile: ""            # client certificate and key (PEM), both or neither
//	    keyFile: ""
//	    serverName: ""          # name in the server certificate (default: the URL's host)
//	    insecureSkipVerify: false   # laboratory only
//	    timeout: 10s            # per LDAP request, the bind and the dial; a shorter request deadline wins
//	    poolSize: 8             # bound connections for writes, and as many for reads
//	    maxConcurrent: 64       # operations running or waiting; more fail at once (503)
//	    pageSize: 500           # paged-results page size (AD: at most 1000)
//	    permissiveModify: auto  # auto | on | off (see Backend.Modify)
//
// Keys are exact; an unknown key, a missing required one or a bad value is
// reported by Driver.Validate (scimbridge mapping check), all at once,
// without any network I/O.
//
// # The mapping's target blocks
//
// users.target and groups.target (the mapping passes them through as
// backends.KindSchema.Layout) say where entries live. Every DN in them is
// relative to the backend's baseDN, so a mapping file works on any suffix:
//
//	users:
//	  target:
//	    parent: ou=people                  # where new entries go; required
//	    rdn: uid                           # naming attribute, written by the mapping; required
//	    objectClasses: [inetOrgPerson]     # of new entries; also select users; required
//	    auxiliaryClasses: [scimBridgeUser] # added to new entries and, on the first write, to older ones
//	    filter: ""                         # selects users instead of objectClasses, e.g.
//	                                       #   (&(objectCategory=person)(objectClass=user)) on AD
//	    searchBase: ou=people              # subtree searched (default: parent)
//	    id: entryUUID                      # entryUUID | objectGUID | another immutable unique attribute
//	    longNames: {attribute: scimBridgeKey, over: 200}   # see "Names" below
//	    defaults: {}                       # values written on create when the mapping gives none
//	    active:                            # only for a flags bit or a move; see "Soft delete"
//	      attribute: userAccountControl
//	      bit: 2
//	      initial: 512
//	      moveTo: ""                       # e.g. ou=disabled,ou=people
//	      password: ""                     # e.g. unicodePwd: a random password on create (AD)
//	groups:
//	  target:
//	    parent: ou=groups
//	    rdn: cn
//	    objectClasses: [groupOfNames]
//	    auxiliaryClasses: [scimBridgeGroup]
//	    member:
//	      attribute: member                # default member
//	      format: dn                       # dn | id | attribute
//	      userAttribute: ""                # with format attribute, e.g. uid for posixGroup memberUid
//	      placeholder: cn=empty-membership-placeholder   # value an empty group holds, or:
//	      allowEmpty: false                # the class allows no members
//
// configs/mappings/entra-to-openldap.yaml, entra-to-389ds.yaml and entra-to-active-directory.yaml
// are complete, commented examples; configs/schema/scimbridge.schema (and
// .ldif for cn=config) holds the auxiliary classes.
//
// # Identity
//
// The SCIM id is the directory's own: entryUUID (lower-case RFC 4122 text)
// or objectGUID (16 bytes, shown as Windows shows a GUID: the first three
// fields little-endian). A lookup by id is an equality filter on that
// attribute, with objectGUID as its escaped bytes; a string that is not a
// UUID names nothing (ErrNotFound) without a request. The DN is never the
// id: a new entry is named RDN=value,parent,baseDN with the value escaped
// as one RDN value (RFC 4514, plus control characters as \xx), and a write
// that changes the naming attribute's value (even its case) renames the
// entry with ModifyDN first, deleting the old RDN value. After a rename (or
// a move on disable) the group member values and manager references
// holding the old DN are pointed at the new one, as OpenLDAP's refint
// overlay would (AD rewrites its linked attributes itself; then none hold
// the old DN). The RDN attribute itself is left to the ModifyDN: Active
// Directory refuses a modify of it, even to the value it holds.
//
// # Names
//
// OpenLDAP's mdb refuses a DN much over 500 bytes (result 80), while a SCIM
// userName or group displayName may be 256 characters in any script. With
// longNames, a value longer than `over` bytes names the entry
// attribute=<hex SHA-256 of the value, lower-cased with runs of spaces
// collapsed> instead; the value itself is still written to the RDN
// attribute. Two names that fold together hash together, so the directory
// still refuses the second one.
//
// # Filters
//
// The neutral filter becomes one LDAP filter, every assertion value through
// ldap.EscapeFilter (RFC 4515): `*`, `(`, `)`, `\`, NUL and non-ASCII bytes
// in a SCIM value are data, so eq is always an equality match. eq, ne, co,
// sw, ew, pr, and, or, not map directly; gt and lt are >= / <= without the
// equal value. Matching is the directory's: the default rules fold case and
// spaces, as SCIM's case-insensitive attributes expect. A substring or
// ordering comparison on an attribute whose schema has no SUBSTR or
// ORDERING rule (read once from the subschema subentry) is ErrUnsupported,
// never a silently empty answer. On 389 DS, which matches values cut at a
// NUL (as Samba does), a value holding a NUL is ErrInvalid, in filters and
// in writes. References are converted first: a member
// or manager id becomes the stored DN (or value); one naming nothing
// matches nothing.
//
// # Find: order, paging and totals
//
// Results are ordered by createTimestamp, then by id, a stable order in
// which newly created entries come last, so that offset pages are slices of
// one list. total counts every match. A query matching at most 100 entries
// is answered by one search; a larger one reads every match's id and
// createTimestamp with the paged-results control (RFC 2696), then the
// requested page by id. Members are read only when the query asks for them
// (Entra sends excludedAttributes=members), and are converted from DNs to
// ids in batches of 200 per search; AD range retrieval (member;range=) is
// followed.
//
// # Writes
//
// Create checks the mapping's unique attributes (match keys) with one
// equality search and fails with a ConflictError naming the attribute and
// the holder; the directory stays the arbiter: racing creates meet at the
// DN, and entryAlreadyExists (68) is a ConflictError too. Modify sends one
// ModifyDN when the name changes or a disable moves the entry, then one
// Modify request with every change in order, so they land together. Member
// changes are coalesced: one Add and one Delete of many values, never one
// request per member (a 20,000-member group gains members about as fast as
// a small one). Adding a present value and removing an absent one succeed:
// the Permissive Modify control (1.2.840.113556.1.4.1413) is sent, and when
// the server still refuses (slapd's 16 for an absent value, AD's 68/53 for
// members without the control), the values are read and the request is sent
// once more with only the effective changes. groupOfNames requires a
// member: an empty group holds the placeholder, removed when a member
// arrives and put back when the last one leaves (or when the server answers
// 65). Adding an id that names no user or group is ErrInvalid on
// backends.AttrMembers. Delete removes the entry from every group and
// reference (manager) naming it first, since directories without
// referential integrity keep dangling values.
//
// # Requests per operation
//
// TestRoundTrips pins these on the shipped OpenLDAP layout (RoundTrips
// counts them; binds of new connections are not counted):
//
//	Get, Find userName eq               1 search, +1 for the manager DNs of the whole page
//	Get with members                    +1 search per 200 members
//	Create                              uniqueness search, add, read-back (id, timestamps)
//	                                    +1 search to convert the manager or the members' ids
//	Modify (of what Get read, OpenLDAP) the Modify; +1 search for unique attributes or member ids
//	Modify (no handle, 389, AD)         +1 lookup search
//	Delete                              lookup, groups holding it, references to it, the delete
//
// The read-back after an add stays: go-ldap's Add returns no response
// controls, so a Post-Read control cannot carry the new entryUUID. The
// members and the manager's id are not read back: Create knows them.
//
// A Modify of a record Get read takes the DN, classes and flags Get left
// on the record (its Handle, see entryHandle) instead of searching again,
// and its first write carries an assertion control (RFC 4528) that the
// entry at that DN still has this id, these flags and these classes. A
// renamed, deleted or replaced entry, or flags changed meanwhile, fail the
// write (32, 122); Modify then looks the entry up and plans again, once.
// On directories that do not list the control (389 DS and Samba), and for
// a record without a handle, Modify looks the entry up. A member add
// asserts the same way that an empty group's placeholder is absent,
// instead of searching for it; the once-in-a-group's-life answer 122 sends
// the request again, removing it.
//
// # Soft delete
//
// Disabling is an attribute mapping: active to scimActive (OpenLDAP, with
// toTarget 'value ? "TRUE" : "FALSE"'). The layout's active block covers
// what a plain value cannot: bit makes the attribute a flags integer (AD's
// userAccountControl, bit 2 ACCOUNTDISABLE) that the mapping sees as
// true/false and the backend sets and clears by read-modify-write, keeping
// the other flags; moveTo moves a disabled entry into that container and an
// enabled one back to parent (searchBase must contain both). With
// password (and bit), Create adds the account disabled with a random
// 32-character password (unicodePwd in AD's quoted UTF-16LE form), then
// enables it when SCIM says active, since Windows refuses to enable an
// account without one; the URL must then be ldaps:// or startTLS, as AD
// accepts password writes only over an encrypted connection.
//
// # Connections and failures
//
// Ping (the health check) binds and reads the base entry; it never uses
// the WhoAmI extended operation, which Active Directory does not have.
// Two puddle pools keep poolSize connections each bound as the service
// account, one for reads (Get, Find, Ping) and one for writes and their
// own reads (a backends.Read with ForWrite), so that Entra's queries
// and its Test Connection probe never wait behind writes to a slow
// directory; an operation holds one connection for its few
// requests, and a panic destroys it. Requests get the smaller of
// timeout and the context's remaining time, and a cancelled context closes
// the connection, which is the only way to interrupt go-ldap. A connection
// that saw a network error is destroyed, and the next operation dials a new
// one. Result codes become sentinels where they first appear:
//
//	68                                   ErrConflict (*ConflictError, with the holder's id when known)
//	32                                   ErrNotFound
//	51, 52, 53, 3, 11, 80, network, timeout, context ended     ErrUnavailable
//	49, 50, 8, 13 (the service account)  ErrUnavailable, logged: an operator fixes it, queued writes land
//	19, 21, 65, 17, 34, 64, 18, 67, 20, 16, 69, 66             ErrInvalid (*InvalidError naming the attribute
//	                                     the server's message names)
//	12, 2                                ErrUnsupported
//
// A failed bind of the service account is ErrUnavailable (the bridge
// answers 503, never 401, which would make Entra quarantine the job).
// Ambiguous writes (the connection dropped after sending) are resolved by
// reading again: a Create looks for the entry at its DN with the values it
// wrote, a Delete looks the id up (gone means done); a Modify is idempotent
// as written here and reports ErrUnavailable, so the bridge retries it,
// starting from a fresh read.
package ldap
