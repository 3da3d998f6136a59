package main

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"
)

// prober sends Entra's Test Connection request (docs/entra.md §2.1:
// GET /Users?filter=userName eq "<random GUID>", answered 200 with no
// resources) every interval, in the background of every phase, and keeps
// its latencies per phase.
type prober struct {
	c *scimClient

	mu       sync.Mutex
	phase    string
	order    []string
	byPhase  map[string]*recorder
	failures map[string]int

	cancel context.CancelFunc
	done   chan struct{}
}

// ProbeResult is the probe's latency during one phase.
type ProbeResult struct {
	Phase    string `json:"phase"`
	Failures int    `json:"failures"`
	Latency
}

func startProber(ctx context.Context, c *scimClient, every time.Duration) *prober {
	ctx, cancel := context.WithCancel(ctx)
	p := &prober{c: c, phase: "start", byPhase: map[string]*recorder{}, failures: map[string]int{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			status, answer, d, err := c.timed(ctx, "GET", usersByUserName(uuid.NewString()), nil)
			if ctx.Err() != nil {
				return
			}
			ok := c.expect("probe", status, answer, err, 200)
			p.mu.Lock()
			r := p.recorderLocked(p.phase)
			if !ok {
				p.failures[p.phase]++
			}
			p.mu.Unlock()
			r.add(d)
		}
	}()
	return p
}

func (p *prober) recorderLocked(phase string) *recorder {
	r, ok := p.byPhase[phase]
	if !ok {
		r = &recorder{}
		p.byPhase[phase] = r
		p.order = append(p.order, phase)
	}
	return r
}

// setPhase attributes the following probes to phase.
func (p *prober) setPhase(phase string) {
	p.mu.Lock()
	p.phase = phase
	p.mu.Unlock()
}

// stop ends the probe and returns its results per phase, in order.
func (p *prober) stop() []ProbeResult {
	p.cancel()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []ProbeResult
	for _, ph := range p.order {
		out = append(out, ProbeResult{Phase: ph, Failures: p.failures[ph], Latency: p.byPhase[ph].summary()})
	}
	return out
}
