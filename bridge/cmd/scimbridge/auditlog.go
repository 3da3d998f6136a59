package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/scimbridge/scimbridge/bridge/config"
)

// auditLog is where the audit records go (log.audit): the process's
// logger by default, else JSON lines on stdout, stderr or a file of their
// own, so that a SIEM can take them apart from the operational log.
type auditLog struct {
	hclog.Logger
	file *reopenFile // nil unless log.audit names a file
}

// newAuditLog opens the destination log.audit names; log is the process's
// logger, used when it names none.
func newAuditLog(c config.LogConfig, log hclog.Logger) (*auditLog, error) {
	var out io.Writer
	a := &auditLog{}
	switch c.Audit {
	case "":
		a.Logger = log.Named("audit")
		return a, nil
	case "stdout":
		out = os.Stdout
	case "stderr":
		out = os.Stderr
	default:
		f, err := openReopenFile(c.Audit)
		if err != nil {
			return nil, fmt.Errorf("log.audit: %w", err)
		}
		a.file, out = f, f
	}
	a.Logger = hclog.New(&hclog.LoggerOptions{
		Name: "scimbridge.audit", Level: hclog.Info, JSONFormat: true, Output: out,
	})
	return a, nil
}

// Reopen reopens the audit file (a reload hook): after logrotate has moved
// it, the records go to a new file at the configured path.
func (a *auditLog) Reopen(context.Context) error {
	if a.file == nil {
		return nil
	}
	return a.file.reopen()
}

// Close closes the audit file, if any.
func (a *auditLog) Close() error {
	if a.file == nil {
		return nil
	}
	return a.file.Close()
}

// reopenFile is an append-only file that can be reopened at its path while
// writers hold it; hclog serialises its own writes, the mutex the swap.
type reopenFile struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

func openReopenFile(path string) (*reopenFile, error) {
	r := &reopenFile{path: path}
	if err := r.reopen(); err != nil {
		return nil, err
	}
	return r, nil
}

// reopen opens the path again (creating it with mode 0600: what changed
// whom, and when, is for the operators) and closes the previous file.
func (r *reopenFile) reopen() error {
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	r.mu.Lock()
	old := r.f
	r.f = f
	r.mu.Unlock()
	if old != nil {
		return old.Close()
	}
	return nil
}

func (r *reopenFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.f.Write(p)
}

func (r *reopenFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.f.Close()
}
