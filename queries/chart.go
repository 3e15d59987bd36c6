package queries

import (
	"fmt"
	"math"
	"strconv"
)

// ChartKind says how a chart is drawn.
type ChartKind uint8

const (
	// Bars draws vertical bars, one group per category and one bar per
	// series in each group: counts or rates by age band and sex.
	Bars ChartKind = iota
	// Pyramid draws one centred horizontal bar per category, first at the
	// top: the tiers of a risk pyramid, narrowest (highest risk) first.
	Pyramid
	// HBars draws one left-aligned horizontal bar per category, first at
	// the top, with its value at the end: an attrition funnel, or a rate
	// for each of many practices. The chart grows with the categories.
	HBars
)

// Chart is a picture of part of a report. It is built from the report's
// own cells, so it can show nothing the table does not: a suppressed cell is
// drawn as a marked gap, never as a bar of any height, and a chart has no
// way to hold an exact count.
type Chart struct {
	Title string
	Kind  ChartKind
	// Unit names what the bars measure ("people", "per 1,000 registered").
	Unit string
	// Categories label the groups (Bars) or the tiers (Pyramid), in order.
	Categories []string
	// Series holds one value per category each. A Pyramid uses one series.
	Series []Series
}

// Series is one set of bars: a name for the legend and a cell per category.
type Series struct {
	Name   string
	Values []Cell
}

// value returns the number a cell shows and whether it shows one.
func (c Cell) value() (float64, bool) {
	if c.kind != kindNumber {
		return 0, false
	}
	v, err := strconv.ParseFloat(c.text, 64)
	return v, err == nil
}

// Geometry of the drawn charts, in SVG user units.
const (
	chartWidth   = 720.0
	chartHeight  = 320.0
	marginLeft   = 64.0
	marginRight  = 16.0
	marginTop    = 28.0
	marginBottom = 44.0
)

// svgChart is a chart laid out for the HTML template: every shape and label
// positioned, so the template only draws.
type svgChart struct {
	Title, Label  string // Label is the accessible description
	Width, Height float64
	Bars          []svgBar
	Texts         []svgText
	Lines         []svgLine
	Legend        []svgLegend
}

type svgBar struct {
	X, Y, W, H float64
	Class      string // series colour class
	Tip        string // shown on hover: category, series and the shown value
}

type svgText struct {
	X, Y   float64
	Anchor string // start, middle, end
	Class  string
	Text   string
}

type svgLine struct{ X1, Y1, X2, Y2 float64 }

type svgLegend struct {
	X, Y  float64
	Class string
	Name  string
}

// layout positions the chart's shapes.
func (c *Chart) layout() svgChart {
	out := svgChart{Title: c.Title, Width: chartWidth, Height: chartHeight,
		Label: fmt.Sprintf("%s (%s). Values marked * are suppressed small numbers.", c.Title, c.Unit)}
	switch c.Kind {
	case Pyramid:
		c.layoutPyramid(&out)
	case HBars:
		c.layoutHBars(&out)
	default:
		c.layoutBars(&out)
	}
	return out
}

// niceMax rounds v up to 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of
// ten, so that axis ticks (a fifth of it) fall on round numbers and the
// tallest bar fills most of the plot.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	e := math.Floor(math.Log10(v))
	scale := func(m float64) float64 {
		if e < 0 {
			return m / math.Pow(10, -e) // 3/10 is 0.3; 3*0.1 is not
		}
		return m * math.Pow(10, e)
	}
	for _, m := range []float64{1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if v <= scale(m) {
			return scale(m)
		}
	}
	return scale(10)
}

func formatTick(v float64) string {
	if v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func (c *Chart) maxValue() float64 {
	var top float64
	for _, s := range c.Series {
		for _, v := range s.Values {
			if x, ok := v.value(); ok {
				top = max(top, x)
			}
		}
	}
	return top
}

func (c *Chart) layoutBars(out *svgChart) {
	plotW := chartWidth - marginLeft - marginRight
	plotH := chartHeight - marginTop - marginBottom
	base := marginTop + plotH
	top := niceMax(c.maxValue())
	const ticks = 5
	for i := 0; i <= ticks; i++ {
		v := top * float64(i) / ticks
		y := base - plotH*float64(i)/ticks
		out.Lines = append(out.Lines, svgLine{marginLeft, y, marginLeft + plotW, y})
		out.Texts = append(out.Texts, svgText{X: marginLeft - 6, Y: y + 4, Anchor: "end", Class: "tick", Text: formatTick(v)})
	}
	out.Texts = append(out.Texts, svgText{X: marginLeft, Y: marginTop - 12, Anchor: "start", Class: "unit", Text: c.Unit})
	if len(c.Categories) == 0 || len(c.Series) == 0 {
		return
	}
	groupW := plotW / float64(len(c.Categories))
	barW := groupW * 0.8 / float64(len(c.Series))
	for i, cat := range c.Categories {
		gx := marginLeft + groupW*float64(i) + groupW*0.1
		out.Texts = append(out.Texts, svgText{X: gx + groupW*0.4, Y: base + 18, Anchor: "middle", Class: "category", Text: cat})
		for j, s := range c.Series {
			if i >= len(s.Values) {
				continue
			}
			cell := s.Values[i]
			x := gx + barW*float64(j)
			tip := fmt.Sprintf("%s, %s: %s", cat, s.Name, cell.text)
			if v, ok := cell.value(); ok {
				h := plotH * v / top
				out.Bars = append(out.Bars, svgBar{X: x, Y: base - h, W: barW - 1, H: h, Class: seriesClass(j), Tip: tip})
			} else if cell.kind == kindSuppressed {
				out.Texts = append(out.Texts, svgText{X: x + barW/2, Y: base - 4, Anchor: "middle", Class: "suppressed", Text: "*"})
			}
		}
	}
	for j, s := range c.Series {
		out.Legend = append(out.Legend, svgLegend{X: chartWidth - marginRight - 120*float64(len(c.Series)-j), Y: 8, Class: seriesClass(j), Name: s.Name})
	}
}

func (c *Chart) layoutPyramid(out *svgChart) {
	if len(c.Categories) == 0 || len(c.Series) == 0 {
		return
	}
	s := c.Series[0]
	plotW := chartWidth - marginLeft - marginRight
	plotH := chartHeight - marginTop - 8
	rowH := plotH / float64(len(c.Categories))
	top := c.maxValue()
	mid := marginLeft + plotW/2
	for i, cat := range c.Categories {
		y := marginTop + rowH*float64(i)
		text := "-"
		var cell Cell
		if i < len(s.Values) {
			cell = s.Values[i]
			text = cell.text
		}
		if v, ok := cell.value(); ok && top > 0 {
			w := max(plotW*0.75*v/top, 2) // a tier of any size stays visible
			out.Bars = append(out.Bars, svgBar{X: mid - w/2, Y: y + 4, W: w, H: rowH - 8, Class: seriesClass(i), Tip: fmt.Sprintf("%s: %s %s", cat, text, c.Unit)})
		}
		class := "category"
		if cell.kind == kindSuppressed {
			class = "suppressed"
		}
		out.Texts = append(out.Texts,
			svgText{X: marginLeft - 56, Y: y + rowH/2 + 4, Anchor: "start", Class: "category", Text: cat},
			svgText{X: chartWidth - marginRight, Y: y + rowH/2 + 4, Anchor: "end", Class: class, Text: text})
	}
}

// layoutHBars draws the first series as horizontal bars. Short labels
// (practice codes) sit in a column left of the bars; long ones (attrition
// steps) sit above their bar.
func (c *Chart) layoutHBars(out *svgChart) {
	if len(c.Categories) == 0 || len(c.Series) == 0 {
		return
	}
	s := c.Series[0]
	longest := 0
	for _, cat := range c.Categories {
		longest = max(longest, len([]rune(cat)))
	}
	const valueRoom, left = 72.0, 8.0
	inline := longest <= 16
	rowH, barH, barX := 40.0, 16.0, left
	if inline {
		rowH, barH = 22, 14
		barX = left + 7*float64(longest) + 8
	}
	plotW := chartWidth - barX - valueRoom
	top := niceMax(c.maxValue())
	out.Height = marginTop + rowH*float64(len(c.Categories)) + 8
	out.Texts = append(out.Texts, svgText{X: left, Y: marginTop - 12, Anchor: "start", Class: "unit", Text: c.Unit})
	for i, cat := range c.Categories {
		y := marginTop + rowH*float64(i)
		barY := y + rowH - barH - 4
		if inline {
			out.Texts = append(out.Texts, svgText{X: barX - 8, Y: barY + barH - 3, Anchor: "end", Class: "category", Text: cat})
		} else {
			out.Texts = append(out.Texts, svgText{X: left, Y: barY - 5, Anchor: "start", Class: "category", Text: cat})
		}
		cell := Cell{kind: kindEmpty, text: "-"}
		if i < len(s.Values) {
			cell = s.Values[i]
		}
		w := 0.0
		if v, ok := cell.value(); ok {
			w = plotW * v / top
			if v > 0 {
				w = max(w, 2)
			}
			out.Bars = append(out.Bars, svgBar{X: barX, Y: barY, W: w, H: barH, Class: seriesClass(0),
				Tip: fmt.Sprintf("%s: %s %s", cat, cell.text, c.Unit)})
		}
		class := "value"
		if cell.kind == kindSuppressed {
			class = "suppressed"
		}
		out.Texts = append(out.Texts, svgText{X: barX + w + 6, Y: barY + barH - 3, Anchor: "start", Class: class, Text: cell.text})
	}
}

// seriesClass names the CSS colour class of series i (the template's
// stylesheet defines s0 to s3 and cycles).
func seriesClass(i int) string { return "s" + strconv.Itoa(i%4) }

// addPoint sets the value of series name at category cat, adding either if
// new, in order of first appearance.
func (c *Chart) addPoint(cat, name string, v Cell) {
	ci := -1
	for i, x := range c.Categories {
		if x == cat {
			ci = i
		}
	}
	if ci < 0 {
		ci = len(c.Categories)
		c.Categories = append(c.Categories, cat)
	}
	si := -1
	for i, s := range c.Series {
		if s.Name == name {
			si = i
		}
	}
	if si < 0 {
		si = len(c.Series)
		c.Series = append(c.Series, Series{Name: name})
	}
	s := &c.Series[si]
	for len(s.Values) <= ci {
		s.Values = append(s.Values, Cell{kind: kindEmpty, text: "-"})
	}
	s.Values[ci] = v
}

// keepSeries drops the series keep rejects (for example a sex with nobody
// in the population, which would only draw empty slots).
func (c *Chart) keepSeries(keep func(name string) bool) {
	kept := c.Series[:0]
	for _, s := range c.Series {
		if keep(s.Name) {
			kept = append(kept, s)
		}
	}
	c.Series = kept
}
