// Package mapping owns the attribute mapping between SCIM resources and a
// target directory: the YAML mapping file, its compilation (once, at load
// time) into an immutable *Mapping, the transform expressions, the
// conversion of SCIM resources into target attributes and back, and the
// translation of SCIM filters into backend queries. Nothing on the request
// path parses a rule: paths, expressions and the attr() paths inside them
// are parsed and checked when the file loads, and every problem of a file
// is reported at once with its file:line:column.
//
// # The mapping file
//
// A complete, annotated example (configs/mappings/entra-to-pharos.yaml is
// the shipped one):
//
//	users:
//	  # target: where users live in the backend. Passed through untouched
//	  # as backends.Schema.Users.Layout; the backend decodes and checks it
//	  # (SQL: table, key column, multi-valued side tables; LDAP: base DN,
//	  # RDN attribute, object classes).
//	  target:
//	    table: users
//	    key: id
//	    multiValued: {cards: {table: cards, key: user_id, value: card_number}}
//	  attributes:
//	    # scim: the SCIM attribute, in PATCH path syntax: userName,
//	    #   name.givenName, emails[type eq "work"].value, a full extension
//	    #   URN path (urn:…:enterprise:2.0:User:department), or an attribute
//	    #   of your own extension (urn:example:…:User:badgeCards).
//	    #   Names are case-insensitive. Read-only attributes (id, meta,
//	    #   groups) cannot be mapped; group members are provisioned through
//	    #   groups.members.
//	    # target: the target attribute or column (required, unique per
//	    #   kind, not starting with $).
//	    # match: matching precedence (1 is tried first), as in Entra's
//	    #   "Match objects using this attribute"; implies a unique,
//	    #   case-insensitive key in the target. Users must map userName and
//	    #   externalId as match keys, groups displayName.
//	    - scim: externalId                   # Entra objectId
//	      target: external_id
//	      match: 1
//	    - scim: userName                     # userPrincipalName
//	      target: login
//	      match: 2
//	      required: true
//	    # required: a create (or PUT) without a value for it, and a PATCH
//	    #   that removes its value, are answered 400 invalidValue naming
//	    #   the attribute and the Entra attribute to map; /Schemas marks it
//	    #   (and a complex parent such as emails) required.
//	    - scim: emails[type eq "work"].value # falls back to the primary email
//	      target: email
//	      required: true
//	    # toTarget / fromTarget: expressions (expr-lang) converting the value
//	    #   on the way in and out. Without them values are converted by
//	    #   type (see ToAttrs and ToResource).
//	    - scim: active
//	      target: active
//	      toTarget: 'value ? "1" : "0"'
//	      fromTarget: 'value == nil ? nil : value == "1"'
//	    # reference: User or Group — the values are SCIM ids of that kind,
//	    #   which a backend may convert (LDAP stores DNs). manager is always
//	    #   a User reference.
//	    - scim: urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager
//	      target: manager_id
//	      reference: User
//	    # multiValued: the attribute holds a list. Required for multi-valued
//	    #   SCIM attributes mapped whole (emails, roles) and for lists in an
//	    #   extension of your own; an error on single-valued ones.
//	    - scim: urn:ietf:params:scim:schemas:extension:pharos:2.0:User:badgeCards
//	      target: cards
//	      multiValued: true
//	    # mutability: who writes the attribute. readWrite (the default):
//	    #   SCIM clients. readOnly: the directory (another tool writes it,
//	    #   such as the badge-card import): returned, never written through
//	    #   SCIM; what a client sends is ignored. immutable: set on create,
//	    #   and later only while the target holds no value. /Schemas
//	    #   advertises it.
//	    - scim: urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter
//	      target: cost_center
//	      mutability: immutable
//	    # A computed attribute has no scim: toTarget builds it from other
//	    # attributes with attr(). It is written, never read back, and
//	    # cannot be filtered on.
//	    - target: cn
//	      toTarget: 'Join(" ", attr("name.givenName"), attr("name.familyName"))'
//	groups:
//	  target: {table: groups, key: id, members: {table: group_members, group: group_id, member: user_id}}
//	  members: true      # provision membership (default true); stored per the target layout
//	  attributes:
//	    - {scim: displayName, target: name, match: 1, required: true}
//	    - {scim: externalId, target: external_id}
//	    # selectUniqueValue: like Entra's SelectUniqueValue, for a computed
//	    # attribute the directory keeps unique but SCIM does not (AD's cn
//	    # and sAMAccountName): candidates tried in order until the
//	    # directory accepts one, never a 409. Each later candidate sees the
//	    # first one's result as value; the last may count with n (1, 2, …,
//	    # up to 100 tries in all). A rename follows the same rule.
//	    - target: cn
//	      selectUniqueValue:
//	        - 'attr("displayName")'
//	        - 'value + " (" + Left(attr("externalId"), 8) + ")"'
//	        - 'Join(" ", value, n + 2)'
//	deprovision:
//	  onDelete: delete   # SCIM DELETE of a user: delete (default) | disable
//	                     # (keep the entry, write active=false through the
//	                     # active mapping, which must exist, and the marker)
//	  marker: {target: deprovisioned, value: "1"}
//	                     # required by disable: what marks a kept entry, in
//	                     # an attribute no SCIM attribute maps. Marked
//	                     # entries are gone for SCIM (Get is 404, Filter
//	                     # leaves them out) until a POST restores them.
//	  groups:
//	    onDelete: delete # groups: delete (default) | keep (with a marker)
//
// A PUT replaces every mapped attribute SCIM owns (one the body omits is
// cleared), except the attributes of an extension the body does not carry
// at all (no object under its URN): those are kept, so a client that does
// not know the Pharos extension cannot wipe badge cards added outside SCIM.
// PATCH changes only what its operations name. Discovery lists what the
// mapping stores, with these characteristics, for /Schemas.
//
// Keys are exact (YAML is case-sensitive); an unknown key, a duplicate key
// or a value of the wrong type is an error. Anchors, aliases and merge keys
// (<<: *common) work as in any YAML file.
//
// # Expressions
//
// toTarget sees `value`, the SCIM value at the attribute's path (string,
// bool, float64, a list, or nil; a complex value such as the manager is
// reduced to its "value"), and attr("path"), the value at another path of
// the resource being written (the path must be a quoted literal). It runs
// only when the attribute has a value; a computed attribute always runs.
// Its result is coerced to target values: a string, a bool
// ("true"/"false"), a number, or a list of those; nil and "" give no value.
//
// fromTarget sees `value` (a string for a single-valued attribute, []string
// for a multi-valued one, nil when the target has none) and `attrs`, every
// target attribute of the record (map[string][]string). Its result is the
// SCIM value; nil or "" leaves the attribute out.
//
// The functions, named and behaving like Entra's attribute-mapping
// functions (nil in, nil out; a list is processed element by element):
//
//	Join(sep, values...)          join non-empty values (lists contribute every element)
//	Switch(source, default, k1, v1, k2, v2, ...)
//	                              value of the first key equal to source, else default;
//	                              a boolean source matches "true"/"false" in any case
//	ToLower(s), ToUpper(s)        change case
//	Trim(s)                       remove leading and trailing white space
//	StripSpaces(s)                remove all white space
//	NormalizeDiacritics(s)        é -> e, Ł -> L, ß -> ss, æ -> ae
//	Replace(s, old, new)          replace every occurrence (literal, not a regex)
//	Left(s, n)                    first n characters (all of s when n < 0)
//	Mid(s, start, n)              n characters from the 1-based position start
//	Word(s, n, separators)        the 1-based n-th word, split at any separator character
//	Coalesce(values...)           the first value that is not nil, "" or empty
//	Append(s, suffix)             s + suffix; nil when s is empty
//	Split(s, sep)                 list of the pieces
//	attr("path")                  (toTarget only) another attribute of the resource
//
// The expr built-ins that cannot grow values (len, lower, upper, trim,
// split, hasPrefix, filter, map, …) stay available; now and date are
// disabled so that a transform is a pure function of its input. `+` joins
// strings (nil counts as "") and adds numbers. Every expression is bounded
// in size (nodes), in allocation (the VM's memory budget) and in the length
// of every string it builds, so a hostile expression fails with an error
// instead of exhausting the service.
package mapping
