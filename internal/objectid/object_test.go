package objectid

import "testing"

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Ref
		wantErr bool
	}{
		{in: "apps/v1/Deployment/shop/web", want: Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}},
		{in: "v1/ConfigMap/shop/settings", want: Ref{Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "settings"}},
		{in: "v1/Namespace//shop", want: Ref{Version: "v1", Kind: "Namespace", Name: "shop"}},
		{in: "argoproj.io/v1alpha1/Rollout/shop/web", want: Ref{Group: "argoproj.io", Version: "v1alpha1", Kind: "Rollout", Namespace: "shop", Name: "web"}},
		{in: "Deployment/web", wantErr: true},
		{in: "/v1/Deployment/shop/web", wantErr: true},
		{in: "apps/v1/Deployment/shop/", wantErr: true},
		{in: "apps/v1//shop/web", wantErr: true},
		{in: "apps/v1/Deployment/shop/web/x", wantErr: true},
	}
	for _, tc := range tests {
		got, err := Parse(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("Parse(%q) err = %v, wantErr %v", tc.in, err, tc.wantErr)
			continue
		}
		if err == nil && (got != tc.want || got.String() != tc.in) {
			t.Errorf("Parse(%q) = %+v (String %q)", tc.in, got, got.String())
		}
	}
}
