package web

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// requireBrowserEnv, when set to 1 (CI sets it), turns a missing Chromium
// into a failure instead of a skip.
const requireBrowserEnv = "POPHEALTH_REQUIRE_BROWSER"

// screenshotsEnv names a directory to keep the screenshots in (make
// screenshots uses docs/screenshots); by default they go to a temporary
// directory and are checked, then discarded.
const screenshotsEnv = "POPHEALTH_SCREENSHOTS"

func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv(requireBrowserEnv) == "1" {
		t.Fatalf("no Chromium on PATH and %s=1 (apt-get install chromium)", requireBrowserEnv)
	}
	t.Skip("no Chromium on PATH (apt-get install chromium); set " + requireBrowserEnv + "=1 to require it")
	return ""
}

// TestBrowser drives the three kinds of user through their pages in a real
// headless Chromium: sign in with the form, read what the role allows, be
// refused what it does not, sign out. It keeps a screenshot of each page.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	chromium := findChromium(t)
	site := newTestSite(t, Config{Auth: AuthLocal}, testUsers(t))
	shots := os.Getenv(screenshotsEnv)
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox cannot start
		chromedp.DisableGPU,
		chromedp.WindowSize(1200, 900),
		chromedp.Flag("user-data-dir", t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	base := site.srv.URL
	shot := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			var png []byte
			if err := chromedp.FullScreenshot(&png, 100).Do(ctx); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name), png, 0o644)
		})
	}
	signIn := func(name string) chromedp.Tasks {
		return chromedp.Tasks{
			chromedp.Navigate(base + "/login"),
			chromedp.WaitVisible(`#name`, chromedp.ByID),
			chromedp.SendKeys(`#name`, name, chromedp.ByID),
			chromedp.SendKeys(`#password`, testPassword, chromedp.ByID),
			chromedp.Submit(`#password`, chromedp.ByID),
			chromedp.WaitVisible(`header.site .who`, chromedp.ByQuery),
		}
	}
	signOut := chromedp.Tasks{
		chromedp.Click(`header.site button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#name`, chromedp.ByID),
	}
	text := func(sel string, out *string) chromedp.Action { return chromedp.Text(sel, out, chromedp.ByQuery) }

	var reports, report, refused, purposes, auditPage, jobs, svgCount string
	err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(`#name`, chromedp.ByID),
		shot("login.png"),

		// A commissioner: their purpose's report, not the IG pages.
		signIn("alice"),
		shot("commissioner-home.png"),
		chromedp.Click(`a[href="/reports"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`table.list`, chromedp.ByQuery),
		text(`main`, &reports),
		shot("commissioner-reports.png"),
		chromedp.Click(`a[href="/reports/t2dm"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`svg`, chromedp.ByQuery),
		text(`main`, &report),
		chromedp.Evaluate(`String(document.querySelectorAll("svg rect").length)`, &svgCount),
		shot("commissioner-report.png"),
		chromedp.Navigate(base+"/ig/audit"),
		chromedp.WaitVisible(`p.error`, chromedp.ByQuery),
		text(`main`, &refused),
		signOut,

		// An IG lead: purposes and the verified audit trail.
		signIn("ian"),
		chromedp.Navigate(base+"/ig/purposes"),
		chromedp.WaitVisible(`table.list`, chromedp.ByQuery),
		text(`main`, &purposes),
		shot("ig-purposes.png"),
		chromedp.Navigate(base+"/ig/audit"),
		chromedp.WaitVisible(`table.list`, chromedp.ByQuery),
		text(`main`, &auditPage),
		shot("ig-audit.png"),
		signOut,

		// An operator: the jobs.
		signIn("olive"),
		chromedp.Navigate(base+"/ops/jobs"),
		chromedp.WaitVisible(`table.list`, chromedp.ByQuery),
		text(`main`, &jobs),
		shot("operator-jobs.png"),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	checks := []struct{ page, got, want string }{
		{"reports", reports, "Diabetes and multimorbidity"},
		{"report", report, "Small numbers"},
		{"refused", refused, "needs the ig_lead role"},
		{"purposes", purposes, "approved"},
		{"audit", auditPage, "Hash chain verified"},
		{"jobs", jobs, "nightly-ingest"},
	}
	for _, c := range checks {
		if !strings.Contains(c.got, c.want) {
			t.Errorf("%s page: want %q in\n%s", c.page, c.want, c.got)
		}
	}
	if strings.Contains(reports, "Mental health caseload") {
		t.Error("commissioner sees another purpose's report")
	}
	if svgCount == "0" || svgCount == "" {
		t.Error("report chart drew no bars in the browser")
	}
	for _, name := range []string{"login.png", "commissioner-home.png", "commissioner-reports.png", "commissioner-report.png", "ig-purposes.png", "ig-audit.png", "operator-jobs.png"} {
		if info, err := os.Stat(filepath.Join(shots, name)); err != nil || info.Size() < 1000 {
			t.Errorf("screenshot %s: %v", name, err)
		}
	}
	t.Logf("screenshots in %s", shots)
}
