package cards

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Printer shows an import's progress: on a terminal a bar redrawn in place
// (rows, rows/s and, when the file's size is known, the share done and an
// ETA); elsewhere (a log file, a pipe, CI) a plain line every few seconds.
type Printer struct {
	mu    sync.Mutex // the bar and log lines (Writer) share the terminal
	w     io.Writer
	tty   bool
	total int64 // the file's size in bytes; 0 when unknown (stdin)
	every time.Duration
	last  time.Time
	drawn bool
	now   func() time.Time
}

// NewPrinter writes progress to w; tty selects the bar.
func NewPrinter(w io.Writer, tty bool, totalBytes int64) *Printer {
	every := 5 * time.Second
	if tty {
		every = 100 * time.Millisecond
	}
	return &Printer{w: w, tty: tty, total: totalBytes, every: every, now: time.Now}
}

// Update is an Options.OnProgress.
func (p *Printer) Update(pr Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if now.Sub(p.last) < p.every {
		return
	}
	p.last = now
	p.print(pr)
}

// Done ends the bar's line, so that what follows starts on a line of its
// own.
func (p *Printer) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

func (p *Printer) print(pr Progress) {
	rate := 0.0
	if s := pr.Elapsed.Seconds(); s > 0 {
		rate = float64(pr.Rows) / s
	}
	counts := fmt.Sprintf("%d rows, %.0f rows/s, %d added, %d unchanged, %d rejected", pr.Rows, rate, pr.Added, pr.Unchanged, pr.Rejected)
	if !p.tty {
		fmt.Fprintf(p.w, "cards import: line %d: %s\n", pr.Line, counts)
		return
	}
	line := counts
	if p.total > 0 && pr.Bytes > 0 {
		frac := min(float64(pr.Bytes)/float64(p.total), 1)
		const width = 30
		done := int(frac * width)
		eta := "--:--"
		if frac > 0 {
			left := time.Duration(float64(pr.Elapsed) * (1 - frac) / frac)
			eta = clock(left)
		}
		line = fmt.Sprintf("[%s%s] %3.0f%% %s, ETA %s", strings.Repeat("#", done), strings.Repeat(".", width-done), frac*100, counts, eta)
	}
	// \r returns to the line's start, \033[K clears what a longer line
	// left behind.
	fmt.Fprintf(p.w, "\r%s\033[K", line)
	p.drawn = true
}

func clock(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// Writer returns a writer for log lines (the audit records) on the same
// terminal: it clears the bar before each write, and the next Update draws
// it again below them.
func (p *Printer) Writer() io.Writer { return barClearer{p} }

type barClearer struct{ p *Printer }

func (c barClearer) Write(b []byte) (int, error) {
	p := c.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
		p.last = time.Time{} // redraw at the next update
	}
	return p.w.Write(b)
}
