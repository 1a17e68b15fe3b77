#!/usr/bin/env bash
# testbin.sh builds the real binaries latch's tests run against — etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler, kwok, Gitea and
# Prometheus (with promtool) — from the Go module proxy into one version-keyed
# cache folder outside the repo.
#
# No Docker, kind or setup-envtest downloads are available on these machines,
# so everything is compiled from source. A cold build takes 30-45 minutes on
# 2 cores; afterwards each binary is found, its version checked, and the script
# finishes in a few seconds.
#
#   LATCH_TESTBIN   cache folder (default ${XDG_CACHE_HOME:-$HOME/.cache}/latch/testbin/v1.37.2)
#   TESTBIN_ONLY    space-separated subset to build, e.g. "etcd kube-apiserver"
#                   (make demo builds only the control plane it runs)
#
# Usage: hack/testbin.sh [--print-dir]
set -euo pipefail

KUBE_VERSION=v1.37.2
KUBE_STAGING_VERSION=v0.37.2
ETCD_VERSION=v3.6.8
KWOK_VERSION=v0.8.0
GITEA_VERSION=v1.26.0
PROMETHEUS_VERSION=v0.316.0

dir=${LATCH_TESTBIN:-${XDG_CACHE_HOME:-$HOME/.cache}/latch/testbin/$KUBE_VERSION}
if [[ "${1:-}" == "--print-dir" ]]; then
	echo "$dir"
	exit 0
fi

all="etcd kube-apiserver kube-controller-manager kube-scheduler kwok gitea prometheus promtool"
only=${TESTBIN_ONLY:-$all}
mkdir -p "$dir" "$dir/src"
export GOFLAGS=-mod=mod
export CGO_ENABLED=${CGO_ENABLED:-1}

log() { printf 'testbin: %s\n' "$*" >&2; }
die() {
	log "ERROR: $*"
	log "the cache is $dir; delete a broken binary there and re-run hack/testbin.sh, or set LATCH_TESTBIN to another folder"
	exit 1
}
want() { [[ " $only " == *" $1 "* ]]; }

# version_ok NAME: runs the binary and checks it reports the version we pinned.
# The whole output is captured and matched in the shell: piping it into
# `head` under pipefail failed whenever the binary died of SIGPIPE first
# (etcd did about one run in three), which rebuilt a good binary.
version_ok() {
	local name=$1 bin="$dir/$1" out
	[[ -x "$bin" ]] || return 1
	out=$("$bin" --version 2>&1) || return 1
	case $name in
	etcd) [[ "$out" == *"etcd Version: ${ETCD_VERSION#v}"* ]] ;;
	kube-apiserver | kube-controller-manager | kube-scheduler) [[ "$out" == "Kubernetes $KUBE_VERSION" ]] ;;
	kwok) [[ "$out" == *"${KWOK_VERSION#v}"* ]] ;;
	gitea) [[ "$out" == *"${GITEA_VERSION#v}"* ]] ;;
	prometheus | promtool) [[ "$out" == *"version ${PROMETHEUS_VERSION#v} "* ]] ;;
	*) return 1 ;;
	esac
}

# timed NAME CMD...: runs the build and reports how long it took.
timed() {
	local name=$1 start end
	shift
	log "building $name (this can take many minutes on a cold cache)"
	start=$(date +%s)
	"$@" || die "building $name failed; see the go output above"
	end=$(date +%s)
	log "built $name in $((end - start))s"
}

build_etcd() {
	local src="$dir/src/etcd"
	mkdir -p "$src"
	cat >"$src/go.mod" <<MOD
module latch.local/testbin/etcd

go 1.26

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
MOD
	cat >"$src/tools.go" <<'GO'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
GO
	(cd "$src" && go mod tidy && go build -trimpath -ldflags '-s -w' -o "$dir/etcd.tmp" go.etcd.io/etcd/server/v3) &&
		mv "$dir/etcd.tmp" "$dir/etcd"
}

# proxy_gomod prints the path of the go.mod of module@version ($1) that the
# module proxy served (the go.mod of a module that replaces its own
# dependencies, which a wrapper module has to repeat).
proxy_gomod() {
	local gomod
	gomod=$(go mod download -json "$1" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
	[[ -f "$gomod" ]] || die "could not download $1 from the module proxy"
	printf '%s\n' "$gomod"
}

# write_wrapper SRC NAME MODULE VERSION REPLACES writes SRC/go.mod: the
# wrapper module latch.local/testbin/NAME requiring MODULE at VERSION, with
# the replace lines REPLACES.
write_wrapper() {
	{
		printf 'module latch.local/testbin/%s\n\ngo 1.26\n\nrequire %s %s\n\n' "$2" "$3" "$4"
		printf '%s\n' "$5"
	} >"$1/go.mod"
}

# build_kube builds the three control-plane binaries from one wrapper module.
# k8s.io/kubernetes replaces its staging modules with local folders, which the
# proxy cannot serve; the wrapper points each at its published v0.x version.
build_kube() {
	local src="$dir/src/kubernetes" gomod replaces name
	mkdir -p "$src"
	gomod=$(proxy_gomod "k8s.io/kubernetes@$KUBE_VERSION") || exit 1
	replaces=$(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/k8s.io/[a-z0-9-]*$#replace \1 => \1 '"$KUBE_STAGING_VERSION"'#p' "$gomod")
	[[ -n "$replaces" ]] || die "found no staging replace lines in $gomod"
	write_wrapper "$src" kubernetes k8s.io/kubernetes "$KUBE_VERSION" "$replaces"
	cat >"$src/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
GO
	(cd "$src" && go mod tidy) || die "go mod tidy failed for the kubernetes wrapper module in $src"
	# Without the stamp the servers report v0.0.0-master and clients refuse them.
	local ldflags="-s -w" major minor
	major=$(cut -d. -f1 <<<"${KUBE_VERSION#v}")
	minor=$(cut -d. -f2 <<<"$KUBE_VERSION")
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
	done
	for name in "$@"; do
		timed "$name" bash -c "cd '$src' && go build -trimpath -ldflags '$ldflags' -o '$dir/$name.tmp' k8s.io/kubernetes/cmd/$name && mv '$dir/$name.tmp' '$dir/$name'"
	done
}

build_kwok() {
	GOBIN="$dir/src/kwok-bin" go install -trimpath "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" &&
		mv "$dir/src/kwok-bin/kwok" "$dir/kwok"
}

# build_gitea builds Gitea through a wrapper module carrying Gitea's own replace lines.
build_gitea() {
	local src="$dir/src/gitea" gomod moddir replaces
	mkdir -p "$src"
	gomod=$(proxy_gomod "code.gitea.io/gitea@$GITEA_VERSION") || exit 1
	# Gitea's replace lines are either one-liners or inside a replace ( ... ) block.
	replaces=$(awk '
		/^replace \(/ {inblock=1; next}
		inblock && /^\)/ {inblock=0; next}
		inblock && NF {print "replace " $0; next}
		/^replace / {print}
	' "$gomod")
	write_wrapper "$src" gitea code.gitea.io/gitea "$GITEA_VERSION" "$replaces"
	cat >"$src/tools.go" <<'GO'
//go:build tools

package tools

import _ "code.gitea.io/gitea"
GO
	(cd "$src" && go mod tidy && go build -tags 'sqlite sqlite_unlock_notify' -trimpath \
		-ldflags "-s -w -X main.Version=${GITEA_VERSION#v}" -o "$dir/gitea.tmp" code.gitea.io/gitea) &&
		mv "$dir/gitea.tmp" "$dir/gitea"
	moddir=$(go mod download -json "code.gitea.io/gitea@$GITEA_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	# Gitea serves templates and options from its module folder (STATIC_ROOT_PATH).
	echo "$moddir" >"$dir/gitea.root"
}

# build_prometheus builds prometheus and promtool (its go.mod has no replace
# lines, so go install works directly). The UI assets are not built; the HTTP
# API, which latch simulate --prometheus reads, is whole. go install stamps no
# version, so the module version is stamped for version_ok to check.
build_prometheus() {
	GOBIN="$dir/src/prometheus-bin" go install -trimpath \
		-ldflags "-s -w -X github.com/prometheus/common/version.Version=${PROMETHEUS_VERSION#v}" \
		"github.com/prometheus/prometheus/cmd/prometheus@$PROMETHEUS_VERSION" \
		"github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION" &&
		mv "$dir/src/prometheus-bin/prometheus" "$dir/src/prometheus-bin/promtool" "$dir/"
}

command -v go >/dev/null || die "go is not on PATH; install Go 1.26 first"
start_all=$(date +%s)

want etcd && { version_ok etcd || timed etcd build_etcd; }
kube=()
for name in kube-apiserver kube-controller-manager kube-scheduler; do
	want "$name" && ! version_ok "$name" && kube+=("$name")
done
((${#kube[@]} == 0)) || build_kube "${kube[@]}"
want kwok && { version_ok kwok || timed kwok build_kwok; }
want gitea && { version_ok gitea && [[ -s "$dir/gitea.root" ]] || timed gitea build_gitea; }
if want prometheus || want promtool; then
	{ version_ok prometheus && version_ok promtool; } || timed prometheus build_prometheus
fi

# envtest expects kubectl beside etcd and kube-apiserver.
if [[ ! -e "$dir/kubectl" ]]; then
	kubectl=$(command -v kubectl || true)
	[[ -n "$kubectl" ]] || die "kubectl is not on PATH; install it (Debian: apt-get install kubectl) and re-run"
	ln -sf "$kubectl" "$dir/kubectl"
fi

for name in $only; do
	version_ok "$name" || die "$name in $dir does not report the pinned version after the build"
done
log "all test binaries ready in $dir ($(($(date +%s) - start_all))s)"
