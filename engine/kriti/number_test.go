package kriti

import (
	"encoding/json"
	"testing"
)

func TestAesonNumber(t *testing.T) {
	for in, want := range map[string]string{
		"0": "0", "-0": "0", "100": "100", "1e2": "100", "1.5e3": "1500", "1E+2": "100",
		"1.0": "1.0", "1.50": "1.5", "10.0": "10.0", "0.0": "0.0", "-0.5": "-0.5",
		"0.1": "0.1", "0.01": "1.0e-2", "0.0625": "6.25e-2", "1e-7": "1.0e-7",
		"1234567.8": "1234567.8", "12345678.9": "1.23456789e7", "123456780.0": "1.2345678e8",
		"1e1024": "1" + zeros(1024), "1e1025": "1.0e1025",
		"007": "7", "-12.340e1": "-123.4",
	} {
		if got := aesonNumber(json.Number(in)); got != want {
			t.Errorf("aesonNumber(%s) = %s, want %s", in, got, want)
		}
	}
}

func zeros(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '0'
	}
	return string(b)
}

func TestShowNumber(t *testing.T) {
	for in, want := range map[string]string{
		"1": "1.0", "100": "100.0", "-2.5": "-2.5", "0": "0.0", "1e8": "1.0e8", "0.05": "5.0e-2",
	} {
		if got := ShowNumber(json.Number(in)); got != want {
			t.Errorf("ShowNumber(%s) = %s, want %s", in, got, want)
		}
	}
	if ShowNumber("1") != "" {
		t.Error("a string is not a number")
	}
}

func TestCompareNumbers(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1", "1.0", 0}, {"1e2", "100", 0}, {"-0", "0.0", 0}, {"0.1", "0.09", 1},
		{"-1", "1", -1}, {"-2", "-10", 1}, {"99", "100", -1}, {"1.5", "1.50001", -1},
		{"1e-400", "0", 1}, {"123456789012345678901234567890", "123456789012345678901234567891", -1},
	} {
		a, _ := parseDecimal(tc.a)
		b, _ := parseDecimal(tc.b)
		if got := cmpDecimal(a, b); got != tc.want {
			t.Errorf("cmp(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestInt64(t *testing.T) {
	for in, want := range map[string]bool{"3": true, "3.0": true, "30e-1": true, "3.5": false, "9223372036854775807": true, "9223372036854775808": false, "-9223372036854775808": true, "1e19": false} {
		d, _ := parseDecimal(in)
		if _, ok := d.int64(); ok != want {
			t.Errorf("int64(%s) ok = %t", in, ok)
		}
	}
	for _, bad := range []string{"", "-", "1.", ".5", "1e", "1x", "--1"} {
		if _, ok := parseDecimal(bad); ok {
			t.Errorf("parseDecimal(%q) accepted", bad)
		}
	}
}
