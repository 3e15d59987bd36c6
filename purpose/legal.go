package purpose

import (
	"fmt"
	"slices"
	"strings"
)

// article6 lists the lawful bases of UK GDPR Article 6(1), keyed by the
// form configs use.
var article6 = []basis{
	{"6(1)(a)", "consent"},
	{"6(1)(b)", "contract"},
	{"6(1)(c)", "legal obligation"},
	{"6(1)(d)", "vital interests"},
	{"6(1)(e)", "public task"},
	{"6(1)(f)", "legitimate interests"},
}

// article9 lists the conditions of UK GDPR Article 9(2) for processing
// special category data (health data is special category data, so every
// purpose needs one).
var article9 = []basis{
	{"9(2)(a)", "explicit consent"},
	{"9(2)(b)", "employment, social security and social protection law"},
	{"9(2)(c)", "vital interests of someone unable to consent"},
	{"9(2)(d)", "not-for-profit body's members"},
	{"9(2)(e)", "made manifestly public by the data subject"},
	{"9(2)(f)", "legal claims or judicial acts"},
	{"9(2)(g)", "substantial public interest"},
	{"9(2)(h)", "health or social care"},
	{"9(2)(i)", "public health"},
	{"9(2)(j)", "archiving, scientific or historical research, or statistics"},
}

type basis struct{ code, name string }

// lookupBasis normalises s ("6(1)(e)", "Art. 6(1)(E)", "article 6(1)(e)")
// and finds it in list.
func lookupBasis(list []basis, s string) (basis, bool) {
	n := strings.ToLower(strings.Join(strings.Fields(s), ""))
	for _, p := range []string{"article", "art."} {
		n = strings.TrimPrefix(n, p)
	}
	i := slices.IndexFunc(list, func(b basis) bool { return b.code == n })
	if i < 0 {
		return basis{}, false
	}
	return list[i], true
}

func describeBases(list []basis) string {
	parts := make([]string, len(list))
	for i, b := range list {
		parts[i] = fmt.Sprintf("%s (%s)", b.code, b.name)
	}
	return strings.Join(parts, ", ")
}

// BasisName returns the name of an Article 6 or 9 code ("public task" for
// "6(1)(e)"), or "" for an unknown code.
func BasisName(code string) string {
	if b, ok := lookupBasis(article6, code); ok {
		return b.name
	}
	if b, ok := lookupBasis(article9, code); ok {
		return b.name
	}
	return ""
}
