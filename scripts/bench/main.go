package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

const usage = `Usage: go run ./scripts/bench [flags]     (make bench [BENCH_FLAGS="..."])

Measures the bridge (scimbridge serve, a process of its own, started with the
shipped configs/openldap-redis.yaml or configs/openldap.yaml) against raw
go-ldap operations on the same slapd, in the same run, and prints the ratios
and the targets of issue 5 (PASS/MISS). On a shared machine absolute numbers
are noise: read the ratios.

Scenarios (-scenarios), for each state store (-stores), in this order:
  cycle       Entra's initial cycle for -users users on -workers workers: per
              user GET filter externalId eq, GET filter userName eq, POST; then
              one group per -group-size users (GET filter displayName eq,
              POST) and the memberships as member PATCHes of up to
              -members-per-patch; requests/s, p50/p99 per request type, the
              bridge's peak RSS (VmHWM) and goroutines, RSS at 25/50/75/100 %
  serial      -serial POST /Users one at a time, alternating with a raw Add of
              an entry of the same shape (read back from the bridge's first)
  throughput  closed loops of -clients clients for -duration each, bridge and
              raw alternating in slices of about a second: creates vs raw
              Adds, GET filter userName eq vs the backend's raw search, PATCH
              (replace displayName, title) vs raw Modify (displayName, title,
              cn)
  group       a group of -members members filled by member PATCHes of
              -members-per-patch vs a raw group filled by one Modify per member
  mix         open loop at each of -rates requests/s for -mix-duration: GET 50 %,
              POST 15 %, PATCH 30 %, DELETE 5 %; p99, max, 5xx
Throughout, Entra's Test Connection probe (GET filter userName eq a random
GUID) runs every -probe; its p99 is reported per phase.

Servers: slapd and redis-server from the environment (SCIMBRIDGE_LDAP_URL,
_BIND_DN, _PASSWORD, _BASE_DN; SCIMBRIDGE_REDIS_URL), as scripts/bench.sh
and scripts/test.sh export them; without them the bench starts its own
through scripts/slapd-start.sh and scripts/redis-start.sh and stops them at
exit. Each state store gets a fresh subtree ou=bench-<store>-<random> of the
directory and, with Redis, a key prefix of its own.

Profiling: -profile DIR starts the bridge with --pprof on a loopback port and
saves the bridge's CPU, allocation, block and mutex profiles (delta
profiles: only what happened in the window, at most 30 s) of the serial
creates, of each throughput step (op and client count, bridge and raw
slices together: the bridge is idle in the raw ones) and of each mix rate as
DIR/<store>-<step>.{cpu,allocs,block,mutex}.pprof. Block and mutex
profiling are on in the bridge only with -profile. Read them with:
  go tool pprof -http=: DIR/redis-throughput-create-c8.cpu.pprof
  go tool pprof -sample_index=alloc_space -top DIR/redis-serial-create.allocs.pprof

Output: a table on stdout, progress on stderr, and every number with the
flags, Go version, CPU count, git revision and date in -out (JSON);
-report FILE prints the table of such a file again.

Flags:
`

// Options are the bench's flags.
type Options struct {
	Stores          []string `json:"stores"`
	Scenarios       []string `json:"scenarios"`
	Users           int      `json:"users"`
	GroupSize       int      `json:"group_size"`
	Workers         int      `json:"workers"`
	Members         int      `json:"members"`
	MembersPerPatch int      `json:"members_per_patch"`
	Serial          int      `json:"serial"`
	Clients         []int    `json:"clients"`
	Duration        Dur      `json:"duration"`
	Rates           []int    `json:"rates"`
	MixDuration     Dur      `json:"mix_duration"`
	ProbeInterval   Dur      `json:"probe_interval"`
	ProfileDir      string   `json:"profile_dir,omitempty"`
	Out             string   `json:"out"`
	Cleanup         bool     `json:"cleanup"`
	Keep            bool     `json:"keep"`

	// Log takes the progress lines (stderr by default).
	Log io.Writer `json:"-"`
}

// Dur is a duration written as text in the JSON.
type Dur time.Duration

func (d Dur) D() time.Duration             { return time.Duration(d) }
func (d Dur) Seconds() float64             { return time.Duration(d).Seconds() }
func (d Dur) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }
func (d *Dur) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Dur(v)
	return err
}

var allStores = []string{"redis", "sqlite"}
var allScenarios = []string{"cycle", "serial", "throughput", "group", "mix"}

// DefaultOptions are issue 5's figures.
func DefaultOptions() Options {
	return Options{
		Stores: allStores, Scenarios: allScenarios,
		Users: 10000, GroupSize: 50, Workers: 8,
		Members: 20000, MembersPerPatch: 100,
		Serial:  500,
		Clients: []int{1, 8, 32}, Duration: Dur(5 * time.Second),
		Rates: []int{25, 250}, MixDuration: Dur(20 * time.Second),
		ProbeInterval: Dur(100 * time.Millisecond),
		Out:           "bench-results.json", Cleanup: true,
	}
}

func (o *Options) has(scenario string) bool { return slices.Contains(o.Scenarios, scenario) }

func (o *Options) validate() error {
	var errs []error
	for _, s := range o.Stores {
		if !slices.Contains(allStores, s) {
			errs = append(errs, fmt.Errorf("-stores: unknown state store %q (redis, sqlite)", s))
		}
	}
	for _, s := range o.Scenarios {
		if !slices.Contains(allScenarios, s) {
			errs = append(errs, fmt.Errorf("-scenarios: unknown scenario %q (%s)", s, strings.Join(allScenarios, ", ")))
		}
	}
	if len(o.Stores) == 0 || len(o.Scenarios) == 0 {
		errs = append(errs, errors.New("-stores and -scenarios need at least one each"))
	}
	for name, v := range map[string]int{"-users": o.Users, "-group-size": o.GroupSize, "-workers": o.Workers,
		"-members": o.Members, "-members-per-patch": o.MembersPerPatch, "-serial": o.Serial} {
		if v < 1 {
			errs = append(errs, fmt.Errorf("%s must be at least 1", name))
		}
	}
	for _, c := range o.Clients {
		if c < 1 {
			errs = append(errs, errors.New("-clients must be positive"))
		}
	}
	for _, r := range o.Rates {
		if r < 1 {
			errs = append(errs, errors.New("-rates must be positive"))
		}
	}
	if len(o.Clients) == 0 || o.Duration <= 0 || o.MixDuration <= 0 || o.ProbeInterval <= 0 || len(o.Rates) == 0 {
		errs = append(errs, errors.New("-clients, -rates, -duration, -mix-duration and -probe must be set"))
	}
	return errors.Join(errs...)
}

func main() {
	o := DefaultOptions()
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	stores, scenarios := strings.Join(o.Stores, ","), strings.Join(o.Scenarios, ",")
	clients, rates := joinInts(o.Clients), joinInts(o.Rates)
	fs.StringVar(&stores, "stores", stores, "state stores to run with, comma-separated: redis, sqlite")
	fs.StringVar(&scenarios, "scenarios", scenarios, "scenarios to run, comma-separated: "+strings.Join(allScenarios, ", "))
	fs.IntVar(&o.Users, "users", o.Users, "users of the initial cycle (issue 5 also asks for 100000)")
	fs.IntVar(&o.GroupSize, "group-size", o.GroupSize, "users per group in the initial cycle (users/group-size groups)")
	fs.IntVar(&o.Workers, "workers", o.Workers, "concurrent requests of the initial cycle (Entra parallelises)")
	fs.IntVar(&o.Members, "members", o.Members, "members of the large group")
	fs.IntVar(&o.MembersPerPatch, "members-per-patch", o.MembersPerPatch, "members per Entra member PATCH (large group and cycle)")
	fs.IntVar(&o.Serial, "serial", o.Serial, "serial creates (each alternated with a raw Add)")
	fs.StringVar(&clients, "clients", clients, "client counts of the throughput scenario, comma-separated")
	fs.Func("duration", "length of each throughput step (default "+o.Duration.D().String()+")", durFlag(&o.Duration))
	fs.StringVar(&rates, "rates", rates, "request rates (requests/s) of the steady mix, comma-separated")
	fs.Func("mix-duration", "length of each steady-mix rate (default "+o.MixDuration.D().String()+")", durFlag(&o.MixDuration))
	fs.Func("probe", "interval of the Test Connection probe (default "+o.ProbeInterval.D().String()+")", durFlag(&o.ProbeInterval))
	fs.StringVar(&o.ProfileDir, "profile", "", "save the bridge's CPU, allocs, block and mutex profiles of the serial, throughput and mix steps into this directory")
	fs.StringVar(&o.Out, "out", o.Out, "JSON results file")
	fs.BoolVar(&o.Cleanup, "cleanup", o.Cleanup, "remove the run's LDAP subtrees and Redis keys afterwards from servers the environment named (servers the bench started are thrown away whole)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the temporary directory (bridge binary, configs, bridge logs)")
	report := fs.String("report", "", "print the table of an earlier run's JSON results file (targets evaluated again) and exit")
	_ = fs.Parse(os.Args[1:])
	if *report != "" {
		if err := reprint(*report); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "bench: unexpected arguments %q\n", fs.Args())
		os.Exit(2)
	}
	var err error
	o.Stores, o.Scenarios = splitList(stores), splitList(scenarios)
	if o.Clients, err = parseInts(clients); err == nil {
		o.Rates, err = parseInts(rates)
	}
	if err == nil {
		err = o.validate()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	o.Log = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	res, err := Run(ctx, o)
	if res != nil {
		printReport(os.Stdout, res)
		if werr := writeJSON(o.Out, res); werr != nil {
			fmt.Fprintln(os.Stderr, "bench:", werr)
			err = errors.Join(err, werr)
		} else {
			fmt.Fprintf(os.Stderr, "bench: results in %s\n", o.Out)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// reprint prints the table of a results file.
func reprint(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var res Results
	if err := json.Unmarshal(b, &res); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	res.Targets = evaluate(&res)
	printReport(os.Stdout, &res)
	return nil
}

func durFlag(d *Dur) func(string) error {
	return func(s string) error {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Dur(v)
		return nil
	}
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		v, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", f)
		}
		out = append(out, v)
	}
	return out, nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// Results is everything one run measured; -out holds it as JSON.
type Results struct {
	Date      string         `json:"date"`
	GoVersion string         `json:"go_version"`
	GOOS      string         `json:"goos"`
	GOARCH    string         `json:"goarch"`
	CPUs      int            `json:"cpus"`
	Revision  string         `json:"revision"`
	Options   Options        `json:"options"`
	LDAPURL   string         `json:"ldap_url"`
	RedisURL  string         `json:"redis_url,omitempty"`
	Stores    []*StoreResult `json:"stores"`
	Targets   []Target       `json:"targets"`
	Seconds   float64        `json:"seconds"`
}

// StoreResult is the run with one state store.
type StoreResult struct {
	Store    string `json:"store"`
	Config   string `json:"config"`
	LDAPBase string `json:"ldap_base"`
	// RawAddShape lists the attributes of the bridge's user entry that
	// every raw Add copies.
	RawAddShape []string           `json:"raw_add_shape"`
	Cycle       *CycleResult       `json:"cycle,omitempty"`
	Serial      *SerialResult      `json:"serial,omitempty"`
	Throughput  []ThroughputResult `json:"throughput,omitempty"`
	Group       *GroupResult       `json:"group,omitempty"`
	Mix         []MixResult        `json:"mix,omitempty"`
	Probe       []ProbeResult      `json:"probe"`
	Resources   []PhaseResources   `json:"resources"`
	// Every bridge request of the run: 5xx answers, answers a scenario
	// did not expect (5xx included), requests without an answer.
	N5xx            int64   `json:"n_5xx"`
	Unexpected      int64   `json:"unexpected"`
	TransportErrors int64   `json:"transport_errors"`
	Seconds         float64 `json:"seconds"`
}

// Run runs every selected scenario with every selected state store.
func Run(ctx context.Context, o Options) (*Results, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	started := time.Now()
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	res := &Results{Date: started.UTC().Format(time.RFC3339), GoVersion: runtime.Version(), GOOS: runtime.GOOS,
		GOARCH: runtime.GOARCH, CPUs: runtime.NumCPU(), Revision: gitRevision(root), Options: o}
	if o.ProfileDir != "" {
		if err := os.MkdirAll(o.ProfileDir, 0o755); err != nil {
			return nil, err
		}
	}
	tmp, err := os.MkdirTemp("", "scimbridge-bench-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if o.Keep || err != nil {
			fmt.Fprintf(o.Log, "bench: bridge binary, configs and logs kept in %s\n", tmp)
			return
		}
		_ = os.RemoveAll(tmp)
	}()

	srv, err := startServers(ctx, root, slices.Contains(o.Stores, "redis"), o.Log)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	res.LDAPURL, res.RedisURL = srv.ldapURL, srv.redisURL
	fmt.Fprintf(o.Log, "bench: building the bridge\n")
	bin, err := buildBridge(ctx, root, tmp, o.Log)
	if err != nil {
		return nil, err
	}
	body, err := loadBodies(root)
	if err != nil {
		return nil, err
	}
	for _, store := range o.Stores {
		var sr *StoreResult
		sr, err = runStore(ctx, &o, root, srv, bin, filepath.Join(tmp, store), store, body)
		if sr != nil {
			res.Stores = append(res.Stores, sr)
		}
		if err != nil {
			err = fmt.Errorf("%s: %w", store, err)
			break
		}
	}
	res.Targets = evaluate(res)
	res.Seconds = round1(time.Since(started).Seconds())
	return res, err
}

func runStore(ctx context.Context, o *Options, root string, srv *servers, bin, dir, store string, body *bodies) (sr *StoreResult, err error) {
	started := time.Now()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	d, err := newDirectory(srv, store)
	if err != nil {
		return nil, err
	}
	defer d.close(o.Cleanup && !srv.startedLDAP, o.Log)
	var r [4]byte
	_, _ = rand.Read(r[:])
	prefix := "scimbridge-bench-" + hex.EncodeToString(r[:]) + ":"
	cfg, err := writeConfig(root, dir, store, prefix)
	if err != nil {
		return nil, err
	}
	env := map[string]string{
		"SCIMBRIDGE_LDAP_URL": srv.ldapURL, "SCIMBRIDGE_LDAP_BIND_DN": srv.bindDN,
		"SCIMBRIDGE_LDAP_PASSWORD": srv.password, "SCIMBRIDGE_LDAP_BASE_DN": d.base,
	}
	if store == "redis" {
		env["SCIMBRIDGE_REDIS_URL"] = srv.redisURL
		if o.Cleanup && !srv.startedRedis {
			defer deleteRedisKeys(srv.redisURL, prefix, o.Log)
		}
	}
	sr = &StoreResult{Store: store, Config: shippedConfig[store], LDAPBase: d.base}
	fmt.Fprintf(o.Log, "bench: [%s] starting the bridge (%s) on %s\n", store, shippedConfig[store], d.base)
	br, err := startBridge(ctx, bin, cfg, dir, env, o.ProfileDir != "")
	if err != nil {
		return sr, err
	}
	defer br.stop()
	c := newSCIMClient(br.tenantURL, br.token, o.Log)
	defer c.close()
	run := &storeRun{ctx: ctx, o: o, store: store, dir: d, br: br, c: c, body: body, res: sr, log: o.Log}
	for range max(4, slices.Max(o.Clients)) {
		conn, err := d.dial()
		if err != nil {
			return sr, err
		}
		defer conn.Close()
		run.rawConns = append(run.rawConns, conn)
	}
	run.probe = startProber(ctx, c, o.ProbeInterval.D())
	defer func() {
		sr.Probe = run.probe.stop()
		sr.N5xx, sr.Unexpected, sr.TransportErrors = c.n5xx.Load(), c.unexpected.Load(), c.transport.Load()
		sr.Seconds = round1(time.Since(started).Seconds())
	}()

	// The cycle first, on a bridge fresh from its start, as Entra's
	// initial cycle meets it: its peak RSS is then the cycle's own.
	if o.has("cycle") {
		if err := run.phase("cycle", run.cycle); err != nil {
			return sr, err
		}
		if sr.Cycle != nil {
			p := sr.Resources[len(sr.Resources)-1]
			sr.Cycle.PeakRSSMB, sr.Cycle.PeakGoroutines = p.PeakRSSMB, p.PeakGoroutines
		}
	}
	if o.has("serial") {
		if err := run.phase("serial-create", run.serial); err != nil {
			return sr, err
		}
	}
	if o.has("throughput") {
		if err := run.phase("throughput", run.throughput); err != nil {
			return sr, err
		}
	}
	if o.has("group") {
		var ids, dns []string
		if err := run.phase("group-setup", func() (err error) {
			ids, dns, err = run.groupSetup()
			return err
		}); err != nil {
			return sr, err
		}
		if err := run.phase("group", func() error { return run.group(ids, dns) }); err != nil {
			return sr, err
		}
	}
	if o.has("mix") {
		for _, rate := range o.Rates {
			if err := run.phase(fmt.Sprintf("mix-%d", rate), func() error { return run.mix(rate) }); err != nil {
				return sr, err
			}
		}
	}
	return sr, nil
}

// deleteRedisKeys removes the run's keys from a Redis it shares.
func deleteRedisKeys(url, prefix string, log io.Writer) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return
	}
	c := redis.NewClient(opt)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for it.Next(ctx) {
		keys = append(keys, it.Val())
	}
	for len(keys) > 0 {
		n := min(500, len(keys))
		if err := c.Del(ctx, keys[:n]...).Err(); err != nil {
			fmt.Fprintf(log, "bench: removing Redis keys %s*: %v\n", prefix, err)
			return
		}
		keys = keys[n:]
	}
}

// gitRevision is HEAD, with -dirty when tracked files differ from it.
func gitRevision(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	rev := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		rev += "-dirty"
	}
	return rev
}

func writeJSON(path string, res *Results) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
