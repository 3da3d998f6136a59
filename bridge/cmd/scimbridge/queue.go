package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/scimbridge/scimbridge/bridge/ops"
	"github.com/scimbridge/scimbridge/bridge/opsview"
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
// store for f, through an operator scoped to --tenant.
func withQueue(ctx context.Context, o queueOptions, f func(op *ops.Operator) error) error {
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
	return f(cliOperator(cfg, st).Scoped(o.tenant))
}

func queueList(ctx context.Context, w io.Writer, o queueOptions) error {
	filter := opsview.JobFilter{Tenant: o.tenant, State: o.state, Limit: o.limit}
	if err := ops.CheckJobFilter(filter); err != nil {
		return fmt.Errorf("--%s", err)
	}
	return withQueue(ctx, o, func(op *ops.Operator) error {
		jobs, err := op.Jobs(ctx, filter)
		if err != nil {
			return err
		}
		if o.json {
			return writeJSON(w, jobs)
		}
		if len(jobs) == 0 {
			_, err := fmt.Fprintln(w, "No jobs"+describeFilter(o)+".")
			return err
		}
		now := time.Now()
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTENANT\tRESOURCE\tOP\tSTATE\tATTEMPTS\tNEXT/LEASE\tAGE\tLAST ERROR")
		for _, j := range jobs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", j.ID, j.Tenant, oneLine(j.Resource), j.Op, j.State,
				j.Attempts, nextOrLease(j, now), opsview.ShortDuration(now.Sub(j.CreatedAt)), lastError(j, lastErrorWidth))
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
	return withQueue(ctx, o, func(op *ops.Operator) error {
		j, err := op.Job(ctx, id)
		if err != nil {
			return err
		}
		if o.json {
			return writeJSON(w, j)
		}
		now := time.Now()
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
		field("State", j.State)
		field("Attempts", fmt.Sprint(j.Attempts))
		field("Created", fmt.Sprintf("%s (%s ago)", formatTime(j.CreatedAt), opsview.ShortDuration(now.Sub(j.CreatedAt))))
		if j.State != string(state.JobDead) {
			field("Next attempt", nextOrLease(j, now))
		}
		field("Not before", formatTimePtr(j.NotBefore))
		field("Leased by", j.Owner)
		field("Lease until", formatTimePtr(j.LeaseUntil))
		field("Error class", j.ErrorClass)
		field("Last error", oneLine(j.LastError))
		field("Fingerprint", j.Fingerprint)
		if err := tw.Flush(); err != nil {
			return err
		}
		if len(j.Payload) > 0 {
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, j.Payload, "", "  "); err != nil {
				pretty.Reset()
				pretty.Write(j.Payload)
			}
			fmt.Fprintf(w, "Payload:\n%s\n", pretty.String())
		}
		return nil
	})
}

// actionJSON is `queue retry|drop --json`: the job as it is after a
// retry, as it was before a drop.
type actionJSON struct {
	ID     string      `json:"id"`
	Result string      `json:"result"`
	Job    opsview.Job `json:"job"`
}

func queueRetry(ctx context.Context, w io.Writer, o queueOptions, id string) error {
	return withQueue(ctx, o, func(op *ops.Operator) error {
		a, err := op.Retry(ctx, id)
		if err != nil {
			return err
		}
		before, after := a.Before, a.Before
		after.State = string(state.JobPending)
		if a.Job != nil {
			after = *a.Job
		}
		if o.json {
			return writeJSON(w, actionJSON{ID: id, Result: a.Result, Job: after})
		}
		_, err = fmt.Fprintf(w, "Job %s requeued: %s, due now, attempts reset to 0 (it was %s after %d attempts%s).\nA running bridge applies it within seconds; watch it with `scimbridge queue show %s`.\n",
			id, after.State, before.State, before.Attempts, lastErrorSuffix(before), id)
		return err
	})
}

func queueDrop(ctx context.Context, w io.Writer, o queueOptions, id string) error {
	return withQueue(ctx, o, func(op *ops.Operator) error {
		a, err := op.Drop(ctx, id)
		if err != nil {
			return err
		}
		before := a.Before
		if o.json {
			return writeJSON(w, actionJSON{ID: id, Result: a.Result, Job: before})
		}
		_, err = fmt.Fprintf(w, "Job %s dropped: the %s of %s (tenant %s, %s after %d attempts) will not be applied.\n",
			id, before.Op, oneLine(before.Resource), before.Tenant, before.State, before.Attempts)
		return err
	})
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
func nextOrLease(j opsview.Job, now time.Time) string {
	switch state.JobState(j.State) {
	case state.JobPending:
		if j.NotBefore == nil || !j.NotBefore.After(now) {
			return "due now"
		}
		return "in " + opsview.ShortDuration(j.NotBefore.Sub(now))
	case state.JobLeased:
		if j.LeaseUntil == nil || !j.LeaseUntil.After(now) {
			return "lease expired"
		}
		return "leased, " + opsview.ShortDuration(j.LeaseUntil.Sub(now)) + " left"
	}
	return "-"
}

func lastError(j opsview.Job, width int) string {
	if j.LastError == "" && j.ErrorClass == "" {
		return "-"
	}
	s := oneLine(j.LastError)
	if j.ErrorClass != "" {
		s = "[" + j.ErrorClass + "] " + s
	}
	return truncate(s, width)
}

func lastErrorSuffix(j opsview.Job) string {
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

func formatTimePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return formatTime(*t)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
