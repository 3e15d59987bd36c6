// Package browsertest drives a real headless Chromium from Go tests (with
// chromedp), for the web front's tests and for end-to-end tests of
// "pophealth serve": it finds the browser, starts it, signs people in and
// out through the sign-in form and keeps screenshots.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// RequireEnv, when set to 1 (CI sets it), turns a missing Chromium into a
// failure instead of a skip.
const RequireEnv = "POPHEALTH_REQUIRE_BROWSER"

// ScreenshotsEnv names a directory to keep the screenshots in; by default
// they go to a temporary directory and are checked, then discarded.
const ScreenshotsEnv = "POPHEALTH_SCREENSHOTS"

// findChromium returns the browser's path, or skips (or fails) t.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("no Chromium on PATH and %s=1 (apt-get install chromium)", RequireEnv)
	}
	t.Skip("no Chromium on PATH (apt-get install chromium); set " + RequireEnv + "=1 to require it")
	return ""
}

// Start starts headless Chromium for the rest of t and returns the
// context to run chromedp actions in (with a time limit of timeout). It
// skips t when there is no Chromium, unless RequireEnv is 1.
func Start(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	chromium := findChromium(t)
	// The profile is not a t.TempDir: Chromium's helper processes may
	// still write to it for a moment after the browser exits, which would
	// fail the test in TempDir's cleanup.
	profile, err := os.MkdirTemp("", "pophealth-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox cannot start
		chromedp.DisableGPU,
		chromedp.WindowSize(1200, 900),
		chromedp.Flag("user-data-dir", profile),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(browser, timeout)
	t.Cleanup(func() {
		cancelTimeout()
		cancelBrowser()
		cancelAlloc() // waits for the browser process to exit
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("could not remove Chromium profile %s", profile)
	})
	return ctx
}

// ShotsDir returns the directory screenshots go to: ScreenshotsEnv's, or
// a temporary one.
func ShotsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(ScreenshotsEnv)
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Shot saves a full-page screenshot of the current page as dir/name.
func Shot(dir, name string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var png []byte
		if err := chromedp.FullScreenshot(&png, 100).Do(ctx); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name), png, 0o644)
	})
}

// CheckShots fails t for each named screenshot missing from dir or too
// small to show a page.
func CheckShots(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, name := range names {
		if info, err := os.Stat(filepath.Join(dir, name)); err != nil || info.Size() < 1000 {
			t.Errorf("screenshot %s: %v", name, err)
		}
	}
}

// SignIn signs name in through the web front's sign-in form at base.
func SignIn(base, name, password string) chromedp.Tasks {
	return chromedp.Tasks{
		chromedp.Navigate(base + "/login"),
		chromedp.WaitVisible(`#name`, chromedp.ByID),
		chromedp.SendKeys(`#name`, name, chromedp.ByID),
		chromedp.SendKeys(`#password`, password, chromedp.ByID),
		chromedp.Submit(`#password`, chromedp.ByID),
		chromedp.WaitVisible(`header.site .who`, chromedp.ByQuery),
	}
}

// SignOut signs the current user out with the header's button.
func SignOut() chromedp.Tasks {
	return chromedp.Tasks{
		chromedp.Click(`header.site button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#name`, chromedp.ByID),
	}
}

// Text reads the text of the first element matching the CSS selector sel.
func Text(sel string, out *string) chromedp.Action { return chromedp.Text(sel, out, chromedp.ByQuery) }
