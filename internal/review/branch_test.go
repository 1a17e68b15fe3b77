package review

import (
	"os/exec"
	"testing"
)

func TestBranch(t *testing.T) {
	cases := []struct {
		cluster string
		o       Object
		want    string
	}{
		{"prod", Object{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}, "latch/prod/shop/deployment.apps/web"},
		{"prod", Object{Group: "argoproj.io", Kind: "Rollout", Namespace: "shop", Name: "web"}, "latch/prod/shop/rollout.argoproj.io/web"},
		{"", Object{Kind: "Pool", Name: "big"}, "latch/default/_cluster/pool/big"},
		{"my cluster:eu~1", Object{Kind: "Deployment", Namespace: "a", Name: "b"}, "latch/my-cluster-eu-1/a/deployment/b"},
		{"..x", Object{Kind: "Deployment", Namespace: "a", Name: "web.lock"}, "latch/_.x/a/deployment/web_lock"},
		{"-x.", Object{Kind: "Deployment", Namespace: "a", Name: "b"}, "latch/_-x/a/deployment/b"},
	}
	for _, tc := range cases {
		got := Branch(tc.cluster, tc.o)
		if got != tc.want {
			t.Errorf("Branch(%q, %+v) = %q, want %q", tc.cluster, tc.o, got, tc.want)
		}
		if !IsBranch(got) {
			t.Errorf("IsBranch(%q) = false", got)
		}
	}
	if IsBranch("main") || IsBranch("latch/") {
		t.Fatal("IsBranch accepts a non-latch branch")
	}
}

// git itself agrees every branch name is valid (skipped without git).
func FuzzBranchIsValidRef(f *testing.F) {
	git, err := exec.LookPath("git")
	for _, s := range []string{"prod", "", "..", "a/b", "x.lock", "@{", "a b", "ü"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, cluster, name string) {
		b := Branch(cluster, Object{Kind: "Deployment", Namespace: "ns", Name: name})
		if !IsBranch(b) {
			t.Fatalf("%q is not a latch branch", b)
		}
		if err != nil {
			return
		}
		if out, e := exec.Command(git, "check-ref-format", "refs/heads/"+b).CombinedOutput(); e != nil {
			t.Fatalf("git rejects %q: %v %s", b, e, out)
		}
	})
}
