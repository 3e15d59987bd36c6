package web

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pophealth/pophealth/internal/browsertest"
)

// TestBrowser drives the three kinds of user through their pages in a real
// headless Chromium: sign in with the form, read what the role allows, be
// refused what it does not, sign out. It keeps a screenshot of each page.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	ctx := browsertest.Start(t, 90*time.Second)
	site := newTestSite(t, Config{Auth: AuthLocal}, testUsers(t))
	shots := browsertest.ShotsDir(t)

	base := site.srv.URL
	shot := func(name string) chromedp.Action { return browsertest.Shot(shots, name) }
	signIn := func(name string) chromedp.Tasks { return browsertest.SignIn(base, name, testPassword) }
	signOut := browsertest.SignOut()
	text := browsertest.Text

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
	browsertest.CheckShots(t, shots, "login.png", "commissioner-home.png", "commissioner-reports.png", "commissioner-report.png", "ig-purposes.png", "ig-audit.png", "operator-jobs.png")
	t.Logf("screenshots in %s", shots)
}
