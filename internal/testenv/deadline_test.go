package testenv

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeT is a T with a chosen deadline, to see what Deadline derives.
type fakeT struct {
	*testing.T
	end time.Time
	ok  bool
}

func (f fakeT) Deadline() (time.Time, bool) { return f.end, f.ok }

func TestDeadlineFollowsTheTestBinary(t *testing.T) {
	now := time.Now()
	cases := []struct {
		name     string
		t        T
		min, max time.Time
	}{
		{name: "far deadline: the reserve is kept back", t: fakeT{t, now.Add(time.Hour), true},
			min: now.Add(time.Hour - cleanupReserve - time.Second), max: now.Add(time.Hour - cleanupReserve)},
		{name: "near deadline: half of what is left", t: fakeT{t, now.Add(20 * time.Second), true},
			min: now.Add(9 * time.Second), max: now.Add(11 * time.Second)},
		{name: "go test -timeout 0: no bound", t: fakeT{t, time.Time{}, false},
			min: now.Add(50 * 365 * 24 * time.Hour), max: now.Add(200 * 365 * 24 * time.Hour)},
		{name: "no Deadline method (make demo, testing.B)", t: &Session{},
			min: now.Add(noDeadlineBound - time.Second), max: now.Add(noDeadlineBound + time.Minute)},
	}
	for _, tc := range cases {
		got := Deadline(tc.t)
		if got.Before(tc.min) || got.After(tc.max) {
			t.Errorf("%s: Deadline = now%+v, want in [now%+v, now%+v]", tc.name, got.Sub(now), tc.min.Sub(now), tc.max.Sub(now))
		}
	}
	// The real one: go test passes a deadline unless -timeout 0.
	if end, ok := t.Deadline(); ok {
		if got := Deadline(t); !got.Before(end) || got.Before(end.Add(-cleanupReserve-time.Second)) {
			t.Errorf("Deadline(t) = %v, want within %s before t.Deadline() %v", got, cleanupReserve, end)
		}
	}
}

func TestContextEndsAtTheDeadline(t *testing.T) {
	ctx := Context(fakeT{t, time.Now().Add(2 * time.Second), true})
	got, ok := ctx.Deadline()
	if !ok || time.Until(got) > time.Second+100*time.Millisecond {
		t.Errorf("Context deadline in %v (ok %v), want about 1 s from now", time.Until(got), ok)
	}
}

// TestNoFixedBudgetsInTests reads every test file of the module (and the
// fixtures here): a context.WithTimeout, time.After or time.Now().Add whose
// duration is written in seconds or minutes is a wall-clock budget that a
// loaded machine overruns (issue 9: a 2-minute context failed round 39 of
// 100 under -race). Waits derive from Deadline instead. A duration that is
// not a budget (a pause, an observation window, a kill escalation) says so
// in a comment containing "not a budget" on the line above.
func TestNoFixedBudgetsInTests(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not at %s: %v", root, err)
	}
	var found []string
	files := 0
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == ".git" || name == "testdata" || name == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		inFixtures := filepath.Dir(path) == filepath.Join(root, "internal", "testenv")
		if !strings.HasSuffix(path, ".go") || (!strings.HasSuffix(path, "_test.go") && !inFixtures) {
			return nil
		}
		if inFixtures && filepath.Base(path) == "deadline_test.go" {
			return nil // this file names the patterns it looks for
		}
		files++
		found = append(found, budgets(t, root, path)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 20 {
		t.Fatalf("read only %d test files under %s; the walk is broken", files, root)
	}
	for _, f := range found {
		t.Errorf("fixed wall-clock budget: %s (derive it from testenv.Deadline, or say why it is not a budget)", f)
	}
}

// budgets lists the budget-looking calls in one file, as "file:line: code".
func budgets(t *testing.T, root, path string) []string {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, src, parser.ParseComments)
	if err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
	lines := strings.Split(string(src), "\n")
	var out []string
	ast.Inspect(file, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		var arg ast.Expr
		switch callName(call.Fun) {
		case "context.WithTimeout":
			arg = call.Args[len(call.Args)-1]
		case "time.After", "time.NewTimer":
			arg = call.Args[0]
		case "Add":
			// time.Now().Add(d)
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
				if inner, ok := sel.X.(*ast.CallExpr); ok && callName(inner.Fun) == "time.Now" {
					arg = call.Args[0]
				}
			}
		}
		if arg == nil {
			return true
		}
		text := string(src[fset.Position(arg.Pos()).Offset:fset.Position(arg.End()).Offset])
		if !strings.Contains(text, "time.Second") && !strings.Contains(text, "time.Minute") {
			return true
		}
		line := fset.Position(call.Pos()).Line
		if line >= 2 && strings.Contains(lines[line-2], "not a budget") {
			return true
		}
		rel, _ := filepath.Rel(root, path)
		out = append(out, rel+":"+strconv.Itoa(line)+": "+strings.TrimSpace(lines[line-1]))
		return true
	})
	return out
}

// callName is "pkg.Func" for a qualified call, the method name otherwise.
func callName(fun ast.Expr) string {
	sel, ok := fun.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	if id, ok := sel.X.(*ast.Ident); ok {
		return id.Name + "." + sel.Sel.Name
	}
	return sel.Sel.Name
}
