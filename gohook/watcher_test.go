package gohook

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// runWatcher starts w.Run in a goroutine and returns a stop func that
// cancels it, waits for Run to return and checks that nothing of the
// watcher is left running.
func runWatcher(t *testing.T, w *Watcher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return after cancel")
			}
			noGoroutinesIn(t, "gohook.(*Watcher)")
		})
	}
	t.Cleanup(stop)
	return stop
}

// snapshots collects OnSnapshot calls.
type snapshots struct {
	mu   sync.Mutex
	got  []Snapshot
	next chan Snapshot
}

func newSnapshots() *snapshots { return &snapshots{next: make(chan Snapshot, 100)} }

func (s *snapshots) add(sn Snapshot) {
	s.mu.Lock()
	s.got = append(s.got, sn)
	s.mu.Unlock()
	s.next <- sn
}

func (s *snapshots) list() []Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Snapshot(nil), s.got...)
}

func (s *snapshots) wait(t *testing.T, limit time.Duration) Snapshot {
	t.Helper()
	select {
	case sn := <-s.next:
		return sn
	case <-time.After(limit):
		t.Fatal("no snapshot written")
		return Snapshot{}
	}
}

var snapshotName = regexp.MustCompile(`^goroutines-\d{8}T\d{6}\.\d{6}Z-n(\d+)-(threshold|growth|manual)(-\d+)?\.txt$`)

func TestWatcherThresholdSnapshotAndRateLimit(t *testing.T) {
	base := runtime.NumGoroutine()
	dir := t.TempDir()
	snaps := newSnapshots()
	var errs []error
	var errMu sync.Mutex
	w, err := NewWatcher(WatcherOptions{
		Dir:        dir,
		Interval:   5 * time.Millisecond,
		Threshold:  1 << 30,   // set below, once the watcher runs
		MinGap:     time.Hour, // only the first crossing may write
		OnSnapshot: snaps.add,
		OnError:    func(e error) { errMu.Lock(); errs = append(errs, e); errMu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := runWatcher(t, w)
	// The threshold is 40 above the count with the watcher running and the
	// GC's background workers started, so crossing it takes >= 40 of ours.
	runtime.GC()
	w.mu.Lock()
	threshold := w.Count() + 40
	w.opts.Threshold = threshold
	w.mu.Unlock()

	// Below the threshold: nothing for a while.
	time.Sleep(60 * time.Millisecond)
	if n := len(snaps.list()); n != 0 {
		t.Fatalf("%d snapshots before the threshold was crossed", n)
	}

	release := blockers(t, 50)
	sn := snaps.wait(t, 5*time.Second)
	// Many more samples above the threshold: MinGap must hold back a second file.
	time.Sleep(150 * time.Millisecond)
	stop()
	release()

	if sn.Reason != ReasonThreshold || sn.Count < threshold {
		t.Errorf("snapshot = %+v, want reason threshold and count >= %d", sn, threshold)
	}
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || len(snaps.list()) != 1 {
		t.Fatalf("want exactly one snapshot (rate limit), have files %v and %d callbacks", files, len(snaps.list()))
	}
	name := files[0].Name()
	if m := snapshotName.FindStringSubmatch(name); m == nil {
		t.Errorf("snapshot name %q does not match %v", name, snapshotName)
	}
	if filepath.Join(dir, name) != sn.Path {
		t.Errorf("callback path %q, file %q", sn.Path, name)
	}
	if info, _ := files[0].Info(); info.Mode().Perm() != 0o600 {
		t.Errorf("snapshot mode %v, want 0600", info.Mode().Perm())
	}
	body, err := os.ReadFile(sn.Path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(body)
	// A debug=2 dump taken after the crossing: it shows the goroutines that
	// caused it (some may not have reached parkHere yet on a busy machine).
	if !strings.HasPrefix(text, "goroutine ") || !strings.Contains(text, "\ncreated by ") {
		t.Errorf("snapshot is not a debug=2 dump:\n%.300s", text)
	}
	if n := strings.Count(text, "\ncreated by github.com/gleak-sarif/gleak-sarif/gohook.blockers in goroutine "); n < 40 || n > 50 {
		t.Errorf("snapshot shows %d of the 50 blocking goroutines, want 40..50", n)
	}
	errMu.Lock()
	defer errMu.Unlock()
	if len(errs) > 0 {
		t.Errorf("errors: %v", errs)
	}
	settles(t, base)
}

func TestWatcherGrowth(t *testing.T) {
	base := runtime.NumGoroutine()
	dir := t.TempDir()
	snaps := newSnapshots()
	w, err := NewWatcher(WatcherOptions{
		Dir:           dir,
		Interval:      10 * time.Millisecond,
		GrowthSamples: 3,
		GrowthMin:     5,
		MinGap:        time.Hour,
		OnSnapshot:    snaps.add,
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := runWatcher(t, w)
	time.Sleep(80 * time.Millisecond) // a flat baseline must not trigger
	if n := len(snaps.list()); n != 0 {
		t.Fatalf("%d snapshots with a flat goroutine count", n)
	}

	// Leak steadily: 2 goroutines every 4ms until the watcher notices.
	var releases []func()
	var sn Snapshot
	deadline := time.Now().Add(5 * time.Second)
grow:
	for {
		releases = append(releases, blockers(t, 2))
		select {
		case sn = <-snaps.next:
			break grow
		case <-time.After(4 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no growth snapshot")
		}
	}
	stop()
	for _, r := range releases {
		r()
	}
	if sn.Reason != ReasonGrowth {
		t.Errorf("reason = %q, want growth", sn.Reason)
	}
	if !strings.Contains(filepath.Base(sn.Path), "-growth") {
		t.Errorf("file name %q lacks the reason", sn.Path)
	}
	settles(t, base)
}

func TestWatcherMaxSnapshotsAndNoTempFiles(t *testing.T) {
	dir := t.TempDir()
	// A foreign file in the directory is never pruned.
	foreign := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(foreign, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	snaps := newSnapshots()
	w, err := NewWatcher(WatcherOptions{
		Dir:          dir,
		Interval:     time.Millisecond,
		Threshold:    1, // always above
		MinGap:       -1,
		MaxSnapshots: 3,
		OnSnapshot:   snaps.add,
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := runWatcher(t, w)
	for i := 0; i < 7; i++ {
		snaps.wait(t, 5*time.Second)
	}
	stop()

	all := snaps.list()
	files, err := SnapshotFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("kept %d snapshots, want 3: %v", len(files), files)
	}
	for i, f := range files { // the newest three survive
		if want := all[len(all)-3+i].Path; f != want {
			t.Errorf("kept %q, want %q", f, want)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Errorf("foreign file pruned: %v", err)
	}
}

func TestWatcherErrorsGoToCallback(t *testing.T) {
	// Dir below a regular file cannot be created.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 100)
	w, err := NewWatcher(WatcherOptions{
		Dir:       filepath.Join(file, "snaps"),
		Interval:  time.Millisecond,
		Threshold: 1,
		MinGap:    -1,
		OnError:   func(e error) { errs <- e },
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := runWatcher(t, w)
	select {
	case e := <-errs:
		if !strings.Contains(e.Error(), "snapshot dir") {
			t.Errorf("unexpected error %v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no error reported")
	}
	stop()
	if _, err := w.Snapshot(); err == nil {
		t.Error("manual Snapshot into an impossible dir succeeded")
	}
}

func TestWatcherRunTwiceAndStopBeforeStart(t *testing.T) {
	w, err := NewWatcher(WatcherOptions{Dir: t.TempDir(), Threshold: 1 << 30, Interval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stop := runWatcher(t, w)
	time.Sleep(10 * time.Millisecond)
	if err := w.Run(context.Background()); err == nil {
		t.Error("second concurrent Run did not fail")
	}
	stop()

	// A cancelled context returns at once and writes nothing.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Run(ctx); err != nil {
		t.Errorf("Run(cancelled) = %v", err)
	}
}

func TestNewWatcherValidationAndDefaults(t *testing.T) {
	bad := []WatcherOptions{
		{Threshold: 1},
		{Dir: "d"},
		{Dir: "d", Threshold: -1},
		{Dir: "d", GrowthSamples: -2},
		{Dir: "d", Threshold: 1, Interval: -time.Second},
	}
	for _, o := range bad {
		if _, err := NewWatcher(o); err == nil {
			t.Errorf("NewWatcher(%+v) accepted bad options", o)
		}
	}
	w, err := NewWatcher(WatcherOptions{Dir: "d", GrowthSamples: 4})
	if err != nil {
		t.Fatal(err)
	}
	if w.opts.Interval != DefaultInterval || w.opts.MinGap != DefaultMinGap ||
		w.opts.MaxSnapshots != DefaultMaxSnapshots || w.opts.GrowthMin != 1 {
		t.Errorf("defaults not applied: %+v", w.opts)
	}
}

func TestCountMetricAndFallback(t *testing.T) {
	if pickMetric(GoroutinesMetric) == "" {
		t.Fatalf("%s missing from runtime/metrics", GoroutinesMetric)
	}
	if pickMetric("/no/such:metric") != "" {
		t.Error("pickMetric accepted an unknown metric")
	}
	release := blockers(t, 20)
	defer release()
	viaMetric := (&Watcher{metricName: GoroutinesMetric}).Count()
	fallback := (&Watcher{metricName: ""}).Count()
	// The metric also counts the runtime's system goroutines.
	if fallback < 21 || viaMetric < fallback {
		t.Errorf("metric count %d, NumGoroutine fallback %d", viaMetric, fallback)
	}
}

func TestManualSnapshot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "dir") // created on demand
	w, err := NewWatcher(WatcherOptions{Dir: dir, Threshold: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	a, err := w.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := w.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if a.Path == b.Path || a.Reason != ReasonManual {
		t.Errorf("snapshots %+v %+v", a, b)
	}
	for _, p := range []string{a.Path, b.Path} {
		if !snapshotName.MatchString(filepath.Base(p)) {
			t.Errorf("bad name %q", p)
		}
		body, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(body), "gohook.TestManualSnapshot") {
			t.Errorf("snapshot %s does not show the calling test (err %v)", p, err)
		}
	}
}
