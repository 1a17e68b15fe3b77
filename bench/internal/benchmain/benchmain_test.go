package benchmain

import (
	"reflect"
	"strconv"
	"testing"
)

func TestList(t *testing.T) {
	positive := func(s string) (int, bool) {
		n, err := strconv.Atoi(s)
		return n, err == nil && n > 0
	}
	for _, tc := range []struct {
		value string
		want  []int
	}{
		{"1000,10000", []int{1000, 10000}},
		{" 5 , 7,9 ", []int{5, 7, 9}},
		{"3", []int{3}},
	} {
		if got := List("test", "sizes", tc.value, "a positive count", positive); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("List(%q) = %v, want %v", tc.value, got, tc.want)
		}
	}
}
