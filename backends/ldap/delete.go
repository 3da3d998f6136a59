package ldap

import (
	"context"
	"errors"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/scimbridge/scimbridge/backends"
)

// Delete removes an entry, after removing it from every group holding it
// (directories without referential integrity keep dangling member values)
// and clearing references to it (manager). If the connection drops after
// the delete was sent, the entry is looked up again: gone means done.
func (b *Backend) Delete(ctx context.Context, kind backends.Kind, id string) error {
	k, err := b.layout(kind)
	if err != nil {
		return err
	}
	ambiguous := false
	err = b.pool.write(ctx, func(c *conn) error {
		attrs := []string{"1.1"}
		if b.groups != nil && b.groups.member != nil && b.groups.member.format == formatAttr {
			attrs = []string{b.groups.member.userAttr}
		}
		e, err := b.lookup(c, k, id, attrs)
		if err != nil {
			return err
		}
		if err := b.unlink(c, k, e, id); err != nil {
			return err
		}
		if err := c.del(goldap.NewDelRequest(e.DN, nil)); err != nil {
			if isNetwork(err) {
				ambiguous = true
			}
			return classify("delete "+e.DN, err, nil)
		}
		return nil
	})
	if err != nil && ambiguous && ctx.Err() == nil {
		rerr := b.pool.write(ctx, func(c *conn) error {
			_, err := b.lookup(c, k, id, []string{"1.1"})
			return err
		})
		if rerr != nil && isNotFound(rerr) {
			return nil
		}
	}
	return classify("delete", err, nil)
}

func isNotFound(err error) bool { return errors.Is(err, backends.ErrNotFound) }
