package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/scimbridge/scimbridge/bridge/config"
	"github.com/scimbridge/scimbridge/bridge/state"
)

// queueOptions are the flags of the queue commands.
type queueOptions struct {
	path   string
	tenant string
	state  string
	limit  int
	json   bool
}

// lastErrorWidth is how much of a job's last error fits a table row.
const lastErrorWidth = 60

func newQueueCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "queue",
		Short: "List, inspect, re-run and drop the writes waiting in the retry queue",
		Long: `The retry queue holds the writes the bridge accepted but could not apply
while their target was unavailable; the worker applies them, per resource
in order, once it is back. A job that failed too often, for too long, or in
a way retrying cannot fix is "dead": it waits for an operator to retry it
(after fixing the cause) or drop it.

These commands open the configured state store directly (the SQLite file, or
Redis), so they work whether or not the bridge is running.`,
	}
	var o queueOptions
	common := func(c *cobra.Command) *cobra.Command {
		configFlag(c, &o.path)
		c.Flags().StringVar(&o.tenant, "tenant", "", "only this tenant's jobs")
		c.Flags().BoolVar(&o.json, "json", false, "print JSON instead of text")
		return c
	}
	list := common(&cobra.Command{
		Use:   "list",
		Short: "List queued jobs, oldest first per tenant",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return queueList(cmd.Context(), cmd.OutOrStdout(), o)
		},
	})
	list.Flags().StringVar(&o.state, "state", "", "only jobs in this state: pending, leased or dead")
	list.Flags().IntVar(&o.limit, "limit", 100, "show at most this many jobs")
	show := common(&cobra.Command{
		Use:   "show ID",
		Short: "Show everything about one job, its operation included",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return queueShow(cmd.Context(), cmd.OutOrStdout(), o, args[0])
		},
	})
	retry := common(&cobra.Command{
		Use:   "retry ID",
		Short: "Re-run a dead (or waiting) job now, with a fresh retry budget",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return queueRetry(cmd.Context(), cmd.OutOrStdout(), o, args[0])
		},
	})
	drop := common(&cobra.Command{
		Use:   "drop ID",
		Short: "Delete a job for good: its write is never applied",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return queueDrop(cmd.Context(), cmd.OutOrStdout(), o, args[0])
		},
	})
	cmd.AddCommand(list, show, retry, drop)
	return cmd
}

// withQueue loads the configuration, checks --tenant and opens the state
// store for f.
func withQueue(ctx context.Context, o queueOptions, f func(cfg *config.Config, q state.Store) error) error {
	cfg, err := loadConfig(o.path)
	if err != nil {
		return err
	}
	if _, ok := cfg.Tenant(o.tenant); o.tenant != "" && !ok {
		return fmt.Errorf("no tenant %q in %s", o.tenant, o.path)
	}
	st, err := openState(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	return f(cfg, st)
}

func queueList(ctx context.Context, w io.Writer, o queueOptions) error {
	switch state.JobState(o.state) {
	case "", state.JobPending, state.JobLeased, state.JobDead:
	default:
		return fmt.Errorf("--state %q is not one of pending, leased, dead", o.state)
	}
	if o.limit < 1 {
		return fmt.Errorf("--limit must be at least 1, not %d", o.limit)
	}
	return withQueue(ctx, o, func(_ *config.Config, q state.Store) error {
		jobs, err := q.List(ctx, state.JobFilter{Tenant: o.tenant, State: state.JobState(o.state)}, o.limit)
		if err != nil {
			return fmt.Errorf("list jobs: %w", err)
		}
		now := time.Now()
		if o.json {
			views := make([]jobView, len(jobs))
			for i, j := range jobs {
				views[i] = newJobView(j, now, false)
			}
			return writeJSON(w, views)
		}
		if len(jobs) == 0 {
			_, err := fmt.Fprintln(w, "No jobs"+describeFilter(o)+".")
			return err
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTENANT\tRESOURCE\tOP\tSTATE\tATTEMPTS\tNEXT/LEASE\tAGE\tLAST ERROR")
		for _, j := range jobs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", j.ID, j.Tenant, oneLine(j.Resource), j.Op, j.State,
				j.Attempts, nextOrLease(j, now), shortDuration(now.Sub(j.CreatedAt)), lastError(j, lastErrorWidth))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if len(jobs) == o.limit {
			fmt.Fprintf(w, "(showing the first %d%s; raise --limit to see more)\n", o.limit, describeFilter(o))
		}
		return nil
	})
}

func queueShow(ctx context.Context, w io.Writer, o queueOptions, id string) error {
	return withQueue(ctx, o, func(_ *config.Config, q state.Store) error {
		j, err := getJob(ctx, q, o, id)
		if err != nil {
			return err
		}
		v := newJobView(j, time.Now(), true)
		if o.json {
			return writeJSON(w, v)
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		field := func(name, value string) {
			if value != "" {
				fmt.Fprintf(tw, "%s:\t%s\n", name, value)
			}
		}
		field("ID", j.ID)
		field("Tenant", j.Tenant)
		field("Resource", oneLine(j.Resource))
		field("Operation", j.Op)
		field("State", string(j.State))
		field("Attempts", fmt.Sprint(j.Attempts))
		field("Created", fmt.Sprintf("%s (%s ago)", formatTime(j.CreatedAt), shortDuration(time.Since(j.CreatedAt))))
		if j.State != state.JobDead {
			field("Next attempt", nextOrLease(j, time.Now()))
		}
		field("Not before", formatTime(j.NotBefore))
		field("Leased by", j.Owner)
		field("Lease until", formatTime(j.LeaseUntil))
		field("Error class", j.ErrorClass)
		field("Last error", oneLine(j.LastError))
		field("Fingerprint", j.Fingerprint)
		if err := tw.Flush(); err != nil {
			return err
		}
		if len(v.Payload) > 0 {
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, v.Payload, "", "  "); err != nil {
				pretty.Reset()
				pretty.Write(v.Payload)
			}
			fmt.Fprintf(w, "Payload:\n%s\n", pretty.String())
		}
		return nil
	})
}

func queueRetry(ctx context.Context, w io.Writer, o queueOptions, id string) error {
	return withQueue(ctx, o, func(_ *config.Config, q state.Store) error {
		before, err := getJob(ctx, q, o, id)
		if err != nil {
			return err
		}
		if err := q.Requeue(ctx, id); err != nil {
			return queueError(id, err)
		}
		after, err := q.Get(ctx, id)
		if err != nil {
			// Taken and applied by a worker already, or dropped meanwhile.
			after = before
			after.State = state.JobPending
		}
		if o.json {
			return writeJSON(w, map[string]any{"id": id, "result": "requeued", "job": newJobView(after, time.Now(), false)})
		}
		_, err = fmt.Fprintf(w, "Job %s requeued: %s, due now, attempts reset to 0 (it was %s after %d attempts%s).\nA running bridge applies it within seconds; watch it with `scimbridge queue show %s`.\n",
			id, after.State, before.State, before.Attempts, lastErrorSuffix(before), id)
		return err
	})
}

func queueDrop(ctx context.Context, w io.Writer, o queueOptions, id string) error {
	return withQueue(ctx, o, func(_ *config.Config, q state.Store) error {
		before, err := getJob(ctx, q, o, id)
		if err != nil {
			return err
		}
		if err := q.Drop(ctx, id); err != nil {
			return queueError(id, err)
		}
		if o.json {
			return writeJSON(w, map[string]any{"id": id, "result": "dropped", "job": newJobView(before, time.Now(), false)})
		}
		_, err = fmt.Fprintf(w, "Job %s dropped: the %s of %s (tenant %s, %s after %d attempts) will not be applied.\n",
			id, before.Op, oneLine(before.Resource), before.Tenant, before.State, before.Attempts)
		return err
	})
}

// getJob reads a job and checks it belongs to --tenant, if given.
func getJob(ctx context.Context, q state.Queue, o queueOptions, id string) (state.Job, error) {
	j, err := q.Get(ctx, id)
	if err != nil {
		return state.Job{}, queueError(id, err)
	}
	if o.tenant != "" && j.Tenant != o.tenant {
		return state.Job{}, fmt.Errorf("job %s belongs to tenant %q, not %q", id, j.Tenant, o.tenant)
	}
	return j, nil
}

// queueError says what a queue sentinel means for the operator.
func queueError(id string, err error) error {
	switch {
	case errors.Is(err, state.ErrNotFound):
		return fmt.Errorf("no job %q in the queue (applied, or dropped, already?): %w", id, err)
	case errors.Is(err, state.ErrConflict):
		return fmt.Errorf("job %s is being applied by a worker right now; try again when the attempt is over: %w", id, err)
	case errors.Is(err, state.ErrUnavailable):
		return fmt.Errorf("the state store is unavailable: %w", err)
	}
	return fmt.Errorf("job %s: %w", id, err)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func describeFilter(o queueOptions) string {
	var parts []string
	if o.state != "" {
		parts = append(parts, "in state "+o.state)
	}
	if o.tenant != "" {
		parts = append(parts, "of tenant "+o.tenant)
	}
	if len(parts) == 0 {
		return ""
	}
	return " " + strings.Join(parts, " ")
}

// nextOrLease says when a job runs next: a pending job's due time, a
// leased job's remaining lease.
func nextOrLease(j state.Job, now time.Time) string {
	switch j.State {
	case state.JobPending:
		if !j.NotBefore.After(now) {
			return "due now"
		}
		return "in " + shortDuration(j.NotBefore.Sub(now))
	case state.JobLeased:
		if !j.LeaseUntil.After(now) {
			return "lease expired"
		}
		return "leased, " + shortDuration(j.LeaseUntil.Sub(now)) + " left"
	}
	return "-"
}

func lastError(j state.Job, width int) string {
	if j.LastError == "" && j.ErrorClass == "" {
		return "-"
	}
	s := oneLine(j.LastError)
	if j.ErrorClass != "" {
		s = "[" + j.ErrorClass + "] " + s
	}
	return truncate(s, width)
}

func lastErrorSuffix(j state.Job) string {
	if j.LastError == "" {
		return ""
	}
	return "; last error: " + truncate(oneLine(j.LastError), 200)
}

// oneLine keeps a value on one table row: no line breaks or tabs.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func truncate(s string, width int) string {
	r := []rune(s)
	if len(r) <= width {
		return s
	}
	return string(r[:width-1]) + "…"
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// shortDuration is a duration in at most two units: 45s, 3m20s, 2h5m, 3d4h.
func shortDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return twoUnits(int(d/time.Minute), "m", int(d%time.Minute/time.Second), "s")
	case d < 24*time.Hour:
		return twoUnits(int(d/time.Hour), "h", int(d%time.Hour/time.Minute), "m")
	}
	return twoUnits(int(d/(24*time.Hour)), "d", int(d%(24*time.Hour)/time.Hour), "h")
}

func twoUnits(a int, au string, b int, bu string) string {
	if b == 0 {
		return fmt.Sprintf("%d%s", a, au)
	}
	return fmt.Sprintf("%d%s%d%s", a, au, b, bu)
}
