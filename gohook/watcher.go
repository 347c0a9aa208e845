package gohook

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"time"
)

// GoroutinesMetric is the runtime/metrics name the Watcher samples. It counts
// all live goroutines, including the runtime's own few system goroutines, so
// it reads a little higher than runtime.NumGoroutine.
const GoroutinesMetric = "/sched/goroutines:goroutines"

// Snapshot file names are "goroutines-<UTC time>-n<count>-<reason>.txt"; the
// fixed-width time makes lexical order equal time order, which pruning uses.
const (
	snapshotPrefix = "goroutines-"
	snapshotSuffix = ".txt"
	snapshotTime   = "20060102T150405.000000Z"
)

// Reasons recorded in Snapshot.Reason and in the file name.
const (
	ReasonThreshold = "threshold"
	ReasonGrowth    = "growth"
	ReasonManual    = "manual"
)

// Defaults applied by NewWatcher to zero-valued options.
const (
	DefaultInterval     = 10 * time.Second
	DefaultMinGap       = time.Minute
	DefaultMaxSnapshots = 20
)

// WatcherOptions configures a Watcher. Dir and at least one trigger
// (Threshold or GrowthSamples) are required.
type WatcherOptions struct {
	// Dir receives the snapshots; it is created (0o755) if missing.
	Dir string

	// Interval between two samples of the goroutine count (DefaultInterval if 0).
	Interval time.Duration

	// Threshold > 0 takes a snapshot whenever a sample is >= Threshold
	// (level-triggered: while the count stays high, one snapshot per MinGap,
	// which gives `gleak-sarif runtime diff` a before/after pair).
	Threshold int

	// GrowthSamples > 0 takes a snapshot when the count has not dropped over
	// the last GrowthSamples intervals (GrowthSamples+1 samples, i.e. a window
	// of GrowthSamples*Interval) and rose by at least GrowthMin in total.
	GrowthSamples int
	// GrowthMin is the total rise the growth trigger needs (1 if 0).
	GrowthMin int

	// MinGap is the least time between two automatic snapshots (DefaultMinGap
	// if 0; negative means no limit). Manual Snapshot calls ignore it.
	MinGap time.Duration

	// MaxSnapshots bounds the snapshot files kept in Dir; the oldest are
	// removed after each write (DefaultMaxSnapshots if 0; negative keeps all).
	// Only files named by this package are counted or removed.
	MaxSnapshots int

	// OnSnapshot, if set, is called after each snapshot is written.
	OnSnapshot func(Snapshot)
	// OnError, if set, receives sampling, writing and pruning errors. The
	// watcher keeps running after an error; without OnError errors are dropped.
	OnError func(error)
}

// Snapshot describes one written dump.
type Snapshot struct {
	Path   string    // file in WatcherOptions.Dir
	Time   time.Time // when the dump was taken (UTC)
	Count  int       // goroutine count that triggered it
	Reason string    // ReasonThreshold, ReasonGrowth or ReasonManual
}

// Watcher samples the goroutine count and writes debug=2 goroutine dumps
// (pprof.Lookup("goroutine").WriteTo(w, 2), the runtime.Stack(all) text)
// when it looks like a leak. Create it with NewWatcher and call Run.
type Watcher struct {
	opts       WatcherOptions
	metricName string // "" when the metric is missing: use runtime.NumGoroutine

	running sync.Mutex // held by Run, so two Runs cannot interleave

	mu       sync.Mutex // guards the fields below and serialises writes
	history  []int
	lastAuto time.Time
}

// NewWatcher checks opts, fills in defaults and returns a Watcher.
func NewWatcher(opts WatcherOptions) (*Watcher, error) {
	if opts.Dir == "" {
		return nil, errors.New("gohook: WatcherOptions.Dir is required")
	}
	if opts.Threshold < 0 || opts.GrowthSamples < 0 || opts.GrowthMin < 0 {
		return nil, errors.New("gohook: Threshold, GrowthSamples and GrowthMin must not be negative")
	}
	if opts.Threshold == 0 && opts.GrowthSamples == 0 {
		return nil, errors.New("gohook: set Threshold or GrowthSamples, or the watcher never triggers")
	}
	if opts.Interval < 0 {
		return nil, errors.New("gohook: Interval must not be negative")
	}
	if opts.Interval == 0 {
		opts.Interval = DefaultInterval
	}
	if opts.GrowthMin == 0 {
		opts.GrowthMin = 1
	}
	if opts.MinGap == 0 {
		opts.MinGap = DefaultMinGap
	}
	if opts.MaxSnapshots == 0 {
		opts.MaxSnapshots = DefaultMaxSnapshots
	}
	return &Watcher{opts: opts, metricName: pickMetric(GoroutinesMetric)}, nil
}

// pickMetric returns name if this runtime offers it as a uint64 metric, else "".
func pickMetric(name string) string {
	for _, d := range metrics.All() {
		if d.Name == name && d.Kind == metrics.KindUint64 {
			return name
		}
	}
	return ""
}

// Count returns the current goroutine count: the runtime/metrics value, or
// runtime.NumGoroutine where the metric does not exist.
func (w *Watcher) Count() int {
	if w.metricName != "" {
		s := []metrics.Sample{{Name: w.metricName}}
		metrics.Read(s)
		if s[0].Value.Kind() == metrics.KindUint64 {
			return int(s[0].Value.Uint64())
		}
	}
	return runtime.NumGoroutine()
}

// Run samples every Interval (and once at start) until ctx is done, then
// returns nil. It starts no goroutines of its own, so nothing of the watcher
// is left running after it returns. It returns an error without running if
// another Run of the same Watcher is active.
func (w *Watcher) Run(ctx context.Context) error {
	if !w.running.TryLock() {
		return errors.New("gohook: Watcher.Run is already running")
	}
	defer w.running.Unlock()

	t := time.NewTicker(w.opts.Interval)
	defer t.Stop()
	for {
		if ctx.Err() != nil {
			return nil
		}
		w.sample(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// sample records one count and takes a snapshot if a trigger fires and the
// rate limit allows it.
func (w *Watcher) sample(ctx context.Context) {
	n := w.Count()
	w.mu.Lock()
	defer w.mu.Unlock()

	if w.opts.GrowthSamples > 0 {
		w.history = append(w.history, n)
		if extra := len(w.history) - (w.opts.GrowthSamples + 1); extra > 0 {
			w.history = append(w.history[:0], w.history[extra:]...)
		}
	}
	reason := ""
	switch {
	case w.opts.Threshold > 0 && n >= w.opts.Threshold:
		reason = ReasonThreshold
	case w.growing():
		reason = ReasonGrowth
	}
	if reason == "" {
		return
	}
	now := time.Now()
	if w.opts.MinGap > 0 && !w.lastAuto.IsZero() && now.Sub(w.lastAuto) < w.opts.MinGap {
		return
	}
	if ctx.Err() != nil {
		return // stopping: do not start a write that nobody waits for
	}
	w.lastAuto = now
	w.writeLocked(now, n, reason)
}

// growing reports whether the history is a full window that never dropped and
// rose by at least GrowthMin.
func (w *Watcher) growing() bool {
	h := w.history
	if w.opts.GrowthSamples == 0 || len(h) < w.opts.GrowthSamples+1 {
		return false
	}
	for i := 1; i < len(h); i++ {
		if h[i] < h[i-1] {
			return false
		}
	}
	return h[len(h)-1]-h[0] >= w.opts.GrowthMin
}

// Snapshot writes a dump now, ignoring triggers and MinGap (but still pruning
// to MaxSnapshots). Errors are returned and also passed to OnError.
func (w *Watcher) Snapshot() (Snapshot, error) {
	n := w.Count()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writeLocked(time.Now(), n, ReasonManual)
}

func (w *Watcher) writeLocked(now time.Time, n int, reason string) (Snapshot, error) {
	snap, err := writeDump(w.opts.Dir, now.UTC(), n, reason)
	if err != nil {
		w.report(err)
		return Snapshot{}, err
	}
	if w.opts.MaxSnapshots > 0 {
		if perr := prune(w.opts.Dir, w.opts.MaxSnapshots); perr != nil {
			w.report(perr)
		}
	}
	if w.opts.OnSnapshot != nil {
		w.opts.OnSnapshot(snap)
	}
	return snap, nil
}

func (w *Watcher) report(err error) {
	if w.opts.OnError != nil {
		w.opts.OnError(err)
	}
}

// writeDump writes the debug=2 goroutine dump to a temporary file in dir and
// renames it into place, so readers never see a half-written snapshot.
func writeDump(dir string, now time.Time, n int, reason string) (snap Snapshot, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Snapshot{}, fmt.Errorf("gohook: snapshot dir: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+snapshotPrefix+"*.tmp")
	if err != nil {
		return Snapshot{}, fmt.Errorf("gohook: snapshot temp file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = pprof.Lookup("goroutine").WriteTo(tmp, 2); err != nil {
		return Snapshot{}, fmt.Errorf("gohook: write goroutine dump: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return Snapshot{}, fmt.Errorf("gohook: sync snapshot: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return Snapshot{}, fmt.Errorf("gohook: close snapshot: %w", err)
	}
	base := fmt.Sprintf("%s%s-n%d-%s", snapshotPrefix, now.Format(snapshotTime), n, reason)
	path := filepath.Join(dir, base+snapshotSuffix)
	// Two snapshots in the same microsecond (MinGap < 0, manual calls) must
	// not overwrite each other.
	for i := 2; fileExists(path); i++ {
		path = filepath.Join(dir, fmt.Sprintf("%s-%d%s", base, i, snapshotSuffix))
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return Snapshot{}, fmt.Errorf("gohook: rename snapshot: %w", err)
	}
	return Snapshot{Path: path, Time: now, Count: n, Reason: reason}, nil
}

func fileExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// prune removes the oldest snapshot files beyond keep.
func prune(dir string, keep int) error {
	names, err := SnapshotFiles(dir)
	if err != nil {
		return err
	}
	var errs []error
	for len(names) > keep {
		if err := os.Remove(names[0]); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("gohook: prune: %w", err))
		}
		names = names[1:]
	}
	return errors.Join(errs...)
}

// SnapshotFiles lists the snapshot files in dir, oldest first.
func SnapshotFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("gohook: list snapshots: %w", err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(n, snapshotPrefix) && strings.HasSuffix(n, snapshotSuffix) {
			names = append(names, filepath.Join(dir, n))
		}
	}
	sort.Strings(names)
	return names, nil
}
