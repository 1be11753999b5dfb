package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"streamgate/dataplane/server"
)

// reloadDebounce is how long a manifest file must be quiet after a change
// before it is read: an editor or a copy writes it in several steps.
const reloadDebounce = 250 * time.Millisecond

// manifestReloader applies a data plane's -manifest file again, all or
// nothing as a publish through Redis is, on SIGHUP and whenever the file
// changes, until ctx ends. A data plane that follows Redis reads the file
// only at start, as its fallback: there SIGHUP is logged and ignored.
type manifestReloader struct {
	path string
	s    *server.Server
	log  *slog.Logger
	hup  chan os.Signal // from notifyHUP
}

// notifyHUP starts catching SIGHUP, whose default action ends the process;
// it is called before the data plane starts, so a SIGHUP that comes before
// the reloader runs waits for it.
func notifyHUP() chan os.Signal {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	return hup
}

// start reloads on SIGHUP and on changes to the file, until ctx ends; the
// channel it returns is closed once it has stopped listening. The file is
// watched before start returns, so a change made once the data plane has
// said it is running is never missed.
func (r *manifestReloader) start(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	var changed <-chan struct{} // nil: no file to follow
	if r.path != "" && !r.s.Following() {
		changed = r.watch(ctx)
	}
	go func() {
		defer close(done)
		r.run(ctx, changed)
	}()
	return done
}

// run serves SIGHUP, and changes to the file when it is watched (changed
// is not nil), until ctx ends.
func (r *manifestReloader) run(ctx context.Context, changed <-chan struct{}) {
	hup := r.hup
	defer signal.Stop(hup)
	if changed == nil {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if r.path == "" {
					r.log.Info("SIGHUP: no -manifest file to reload")
				} else {
					r.log.Info("SIGHUP: following redis, the -manifest file is read only at start; publish to change the configuration")
				}
			}
		}
	}
	var debounce <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			r.reload("SIGHUP")
		case <-changed:
			debounce = time.After(reloadDebounce)
		case <-debounce:
			debounce = nil
			r.reload("file changed")
		}
	}
}

// watch reports changes to the file: writes, and a new file renamed or
// created in its place. It watches the directory, so a file replaced by a
// rename, as deploy tools do, is still followed. Without a watcher (the
// error is logged), SIGHUP alone reloads.
func (r *manifestReloader) watch(ctx context.Context) <-chan struct{} {
	changed := make(chan struct{}, 1)
	w, err := fsnotify.NewWatcher()
	if err == nil {
		err = w.Add(filepath.Dir(r.path))
	}
	if err != nil {
		r.log.Warn("cannot watch the manifest file; SIGHUP reloads it", "file", r.path, "err", err)
		if w != nil {
			w.Close()
		}
		return changed
	}
	abs, _ := filepath.Abs(r.path)
	go func() {
		defer w.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				name, _ := filepath.Abs(ev.Name)
				if name == abs && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename) != 0 {
					select {
					case changed <- struct{}{}:
					default:
					}
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				r.log.Warn("watching the manifest file", "file", r.path, "err", err)
			}
		}
	}()
	return changed
}

// reload reads the file and applies it; a file that cannot be read, or
// does not validate, is rejected and counted
// (streamgate_config_reload_errors_total), and the running configuration
// is kept.
func (r *manifestReloader) reload(why string) {
	data, err := os.ReadFile(r.path)
	if err != nil {
		r.s.RejectUnreadable(err)
		return
	}
	if err := r.s.ApplyJSON(data); err != nil {
		return // rejected and logged by the server
	}
	r.log.Info("manifest reloaded", "file", r.path, "version", r.s.Applied().Version, "why", why)
}
