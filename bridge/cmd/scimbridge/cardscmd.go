package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/scimbridge/scimbridge/bridge/cards"
)

// exitInterrupted is the exit status of an import stopped by a signal, as
// shells report a process killed by SIGINT.
const exitInterrupted = 130

// exitRejected is the exit status of an import that rejected rows.
const exitRejected = 2

func newCardsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cards",
		Short: "Import badge cards for provisioned users",
	}
	var (
		path, tenant, key, delim, report, progress string
		o                                          cards.Options
	)
	imp := &cobra.Command{
		Use:   "import FILE",
		Short: "Add badge cards from a CSV file to existing users (never creates users)",
		Long: `Read a CSV file with a header row (UTF-8 with or without BOM, separated by , or ;)
and add each row's card to the user its user column names. Users are matched by
--key and never created; rejected rows are listed with their line number and
reason (and written to --report). Cards are added to what users hold unless
--replace. Re-running a file changes nothing. Ctrl-C keeps every finished batch
and prints the --resume-at line. FILE "-" reads standard input.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := cards.ParseKey(key)
			if err != nil {
				return err
			}
			o.Key = k
			switch delim {
			case "", "auto":
			case ",", ";":
				o.Delimiter = rune(delim[0])
			default:
				return fmt.Errorf("--delimiter %q is not auto, , or ;", delim)
			}
			return cardsImport(cmd, path, tenant, args[0], report, progress, o)
		},
	}
	configFlag(imp, &path)
	f := imp.Flags()
	f.StringVar(&tenant, "tenant", "", "tenant name (required)")
	f.StringVar(&key, "key", string(cards.KeyUserName), "what the user column holds: userName, externalId, email (the work email) or employeeNumber")
	f.StringVar(&o.UserColumn, "user-column", "", "header of the user column (default: the --key name)")
	f.StringVar(&o.CardColumn, "card-column", "card", "header of the card number column")
	f.StringVar(&delim, "delimiter", "auto", "field separator: auto (from the header), , or ;")
	f.BoolVar(&o.Replace, "replace", false, "make each user in the file hold exactly the file's cards (removes their others)")
	f.BoolVar(&o.DryRun, "dry-run", false, "decide every row and print what would change; write nothing")
	f.IntVar(&o.ResumeAt, "resume-at", 0, "skip the rows before this line (what an interrupted import printed)")
	f.IntVar(&o.BatchSize, "batch", cards.DefaultBatchSize, "rows per transaction")
	f.StringVar(&report, "report", "", "write every rejected row to this CSV file")
	f.StringVar(&progress, "progress", "auto", "auto (a bar on a terminal, lines otherwise), bar, lines or none")
	_ = imp.MarkFlagRequired("tenant")
	cmd.AddCommand(imp)
	return cmd
}

// cardsImport wires the command to cards.Import: the tenant's backend, the
// file, the report and the progress display.
func cardsImport(cmd *cobra.Command, cfgPath, tenant, file, reportPath, progress string, o cards.Options) (err error) {
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return err
	}
	t, ok := cfg.Tenant(tenant)
	if !ok {
		return fmt.Errorf("no tenant %q in %s", tenant, cfgPath)
	}
	target := cards.Target{Tenant: t.Name, Mapping: t.Mapping}
	if err := target.Check(o.Key); err != nil {
		return err
	}
	in, size, err := openInput(cmd, file)
	if err != nil {
		return err
	}
	defer in.Close()
	if reportPath != "" {
		rep, rerr := cards.CreateReport(reportPath)
		if rerr != nil {
			return rerr
		}
		defer func() {
			// The report is part of the answer: a failed write fails the command.
			if cerr := rep.Close(); cerr != nil && err == nil {
				err = cerr
			}
		}()
		o.OnReject = rep.Add
	}
	out := cmd.OutOrStdout()
	if o.OnReject == nil {
		o.OnReject = func(r cards.Rejection) { fmt.Fprintf(out, "line %d: rejected (%s): %s\n", r.Line, r.Reason, r.Detail) }
	}
	errOut := cmd.ErrOrStderr()
	var bar *cards.Printer
	switch tty := isTerminal(errOut); {
	case progress == "none":
	case progress == "bar" || progress == "auto" && tty:
		bar = cards.NewPrinter(errOut, true, size)
	case progress == "lines" || progress == "auto":
		bar = cards.NewPrinter(errOut, false, size)
	default:
		return fmt.Errorf("--progress %q is not auto, bar, lines or none", progress)
	}
	if bar != nil {
		o.OnProgress = bar.Update
		if onReject := o.OnReject; reportPath == "" {
			// A rejection printed mid-bar starts a line of its own.
			o.OnReject = func(r cards.Rejection) { bar.Done(); onReject(r) }
		}
	}

	var logOut io.Writer = errOut
	if bar != nil {
		logOut = bar.Writer()
	}
	log := newLoggerTo(cfg.Log, logOut)
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	be, err := registry()[t.Backend.Type].Open(ctx, t.Backend.Config, t.Mapping.Schema(), log.Named(t.Backend.Type).With("tenant", t.Name))
	if err != nil {
		return fmt.Errorf("tenant %s: open %s backend: %w", t.Name, t.Backend.Type, err)
	}
	defer be.Close()
	audit, err := newAuditLog(cfg.Log, log)
	if err != nil {
		return err
	}
	defer audit.Close()
	target.Backend, target.Audit = be, audit.With("tenant", t.Name)

	res, err := cards.Import(ctx, target, in, o)
	if bar != nil {
		bar.Done()
	}
	if res.Rows > 0 || res.Skipped > 0 || err == nil {
		fmt.Fprint(out, res.Summary())
	}
	if reportPath != "" && res.RejectedRows() > 0 {
		fmt.Fprintf(out, "Rejected rows: %s\n", reportPath)
	}
	if err != nil && ctx.Err() != nil && res.Stopped {
		stop()
		return exitError{code: exitInterrupted, err: fmt.Errorf("interrupted; resume with --resume-at %d", res.ResumeAt)}
	}
	if err == nil && res.RejectedRows() > 0 {
		// Scripts see that rows need fixing; the summary says which.
		return exitError{code: exitRejected, err: fmt.Errorf("%d of %d rows rejected", res.RejectedRows(), res.Rows)}
	}
	return err
}

// openInput opens FILE, or standard input for "-", and says its size when
// known (for the progress bar's ETA).
func openInput(cmd *cobra.Command, file string) (io.ReadCloser, int64, error) {
	if file == "-" {
		return io.NopCloser(cmd.InOrStdin()), 0, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return f, 0, nil
	}
	return f, st.Size(), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// exitError carries the process's exit status to main.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

// exitCode is the process's exit status for err.
func exitCode(err error) int {
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}
