package report

import (
	"math"
	"strconv"
	"strings"
)

// formatNumber formats v with dec decimals and a comma between groups of
// three digits of its integer part: 1234567.891, 2 → "1,234,567.89".
func formatNumber(v float64, dec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	s := strconv.FormatFloat(v, 'f', dec, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(s, ".")
	if neg && strings.Trim(intPart+frac, "0") == "" {
		neg = false
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if hasFrac {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// plain formats a goal with thousands separators and as few decimals as
// it needs: 2 → "2", 0.5 → "0.5".
func plain(v float64) string {
	_, frac, _ := strings.Cut(strconv.FormatFloat(v, 'f', -1, 64), ".")
	return formatNumber(v, len(frac))
}

// formatInt formats n with thousands separators.
func formatInt(n int64) string {
	return formatNumber(float64(n), 0)
}

// formatMs formats a latency in milliseconds with a precision that suits
// its magnitude.
func formatMs(v float64) string {
	a := math.Abs(v)
	switch {
	case a < 1:
		return formatNumber(v, 3)
	case a < 10:
		return formatNumber(v, 2)
	case a < 100:
		return formatNumber(v, 1)
	}
	return formatNumber(v, 0)
}

// shortDate returns the calendar day of an RFC 3339 date.
func shortDate(d string) string {
	if len(d) >= 10 {
		return d[:10]
	}
	return d
}

// cell makes s safe inside a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "\r\n", " ")
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// code wraps s in a Markdown code span, with a delimiter longer than any
// run of backticks inside it.
func code(s string) string {
	if s == "" {
		return ""
	}
	longest, cur := 0, 0
	for _, c := range s {
		if c == '`' {
			cur++
			longest = max(longest, cur)
		} else {
			cur = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// mark is ✓ when ok, ✗ otherwise.
func mark(ok bool) string {
	if ok {
		return "✓"
	}
	return "✗"
}
