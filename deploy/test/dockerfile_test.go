package deploytest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const repoRoot = "../.."

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int // 1-based line where it starts
	cmd  string
	args string
}

// parseDockerfile splits a Dockerfile into instructions: comments dropped,
// backslash continuations joined. Enough for the checks here; it is not a
// full parser (no heredocs, no escape directive).
func parseDockerfile(text string) []instruction {
	var out []instruction
	var cur strings.Builder
	start := 0
	for i, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		cont := strings.HasSuffix(trimmed, "\\")
		cur.WriteString(strings.TrimSuffix(trimmed, "\\"))
		cur.WriteString(" ")
		if cont {
			continue
		}
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		out = append(out, instruction{start, strings.ToUpper(cmd), strings.Join(strings.Fields(args), " ")})
		cur.Reset()
	}
	return out
}

// stage is one FROM and the instructions under it.
type stage struct {
	image string
	name  string
	from  instruction
	body  []instruction
}

func stagesOf(ins []instruction) []stage {
	var stages []stage
	for _, in := range ins {
		if in.cmd == "FROM" {
			var st stage
			st.from = in
			fields := strings.Fields(in.args)
			fields = slices.DeleteFunc(fields, func(f string) bool { return strings.HasPrefix(f, "--") })
			st.image = fields[0]
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				st.name = fields[2]
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) > 0 {
			stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
		}
	}
	return stages
}

// dockerfileProblems checks the image recipe against latch's rules: base
// images pinned (no latest, no untagged), the builder's Go major.minor equal
// to go.mod's go line, a static trimmed build stamping main.version and
// main.commit, a runtime with git, openssh-client, gnupg and CA certificates,
// a numeric non-root USER, and latch as the entrypoint.
func dockerfileProblems(text, goLine string) []string {
	var problems []string
	bad := func(in instruction, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("Dockerfile:%d: %s %s: %s", in.line, in.cmd, in.args, fmt.Sprintf(format, args...)))
	}
	stages := stagesOf(parseDockerfile(text))
	if len(stages) < 2 {
		return []string{fmt.Sprintf("Dockerfile: %d stages, want a builder and a runtime", len(stages))}
	}
	names := map[string]bool{}
	for _, st := range stages {
		if names[st.image] {
			continue // FROM an earlier stage
		}
		if st.name != "" {
			names[st.name] = true
		}
		ref := st.image[strings.LastIndex(st.image, "/")+1:]
		_, tag, hasTag := strings.Cut(ref, ":")
		switch {
		case strings.Contains(st.image, "@sha256:"):
		case !hasTag:
			bad(st.from, "image %s has no tag", st.image)
		case tag == "latest" || strings.HasSuffix(tag, "-latest"):
			bad(st.from, "image %s: latest is not a version", st.image)
		case strings.Contains(tag, "$"):
			bad(st.from, "image %s: tag from a build arg cannot be checked; pin it", st.image)
		}
	}

	builder := stages[0]
	goVersion := regexp.MustCompile(`^golang:(\d+\.\d+)(\.\d+)?(-[a-z0-9.]+)?$`).FindStringSubmatch(builder.image)
	wantGo := regexp.MustCompile(`^(\d+\.\d+)`).FindString(goLine)
	switch {
	case goVersion == nil:
		bad(builder.from, "builder is not a golang:X.Y image")
	case goVersion[1] != wantGo:
		bad(builder.from, "builder Go %s, go.mod says go %s", goVersion[1], goLine)
	}
	var build instruction
	var cgoOff bool
	for _, in := range builder.body {
		if (in.cmd == "ENV" || in.cmd == "RUN" || in.cmd == "ARG") && strings.Contains(in.args, "CGO_ENABLED=0") {
			cgoOff = true
		}
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			build = in
		}
	}
	if build.cmd == "" {
		problems = append(problems, "Dockerfile: the builder stage has no `go build`")
	} else {
		for _, want := range []string{"-trimpath", "-s -w", "-X main.version=", "-X main.commit=", "./cmd/latch"} {
			if !strings.Contains(build.args, want) {
				bad(build, "want %s", want)
			}
		}
	}
	if !cgoOff {
		problems = append(problems, "Dockerfile: the builder does not set CGO_ENABLED=0 (the runtime has no glibc)")
	}

	runtime := stages[len(stages)-1]
	if !strings.HasPrefix(runtime.image, "alpine:") {
		bad(runtime.from, "runtime is not alpine; latch needs git, ssh and gpg, so not distroless")
	}
	var apk instruction
	var user, entrypoint *instruction
	home := ""
	for i, in := range runtime.body {
		switch in.cmd {
		case "RUN":
			if strings.Contains(in.args, "apk add") {
				apk = in
			}
		case "USER":
			user = &runtime.body[i]
		case "ENTRYPOINT":
			entrypoint = &runtime.body[i]
		case "ENV":
			if m := regexp.MustCompile(`(?:^|\s)HOME=(\S+)`).FindStringSubmatch(in.args); m != nil {
				home = m[1]
			}
		}
	}
	if apk.cmd == "" {
		bad(runtime.from, "the runtime installs nothing; want git, openssh-client, gnupg, ca-certificates")
	} else {
		words := strings.Fields(apk.args)
		for _, pkg := range []string{"git", "openssh-client", "gnupg", "ca-certificates"} {
			if !slices.Contains(words, pkg) {
				bad(apk, "want %s installed", pkg)
			}
		}
		if !slices.Contains(words, "--no-cache") {
			bad(apk, "want --no-cache (no package index left in the image)")
		}
	}
	if user == nil {
		bad(runtime.from, "no USER: the image would run as root")
	} else {
		uid, gid, _ := strings.Cut(user.args, ":")
		uidNum, err := strconv.Atoi(uid)
		if err != nil || uidNum == 0 {
			bad(*user, "want a numeric non-zero uid, so runAsNonRoot can verify it")
		}
		if gid != "" {
			if gidNum, err := strconv.Atoi(gid); err != nil || gidNum == 0 {
				bad(*user, "want a numeric non-zero gid")
			}
		}
	}
	if home != "/tmp" {
		bad(runtime.from, "ENV HOME=%q, want /tmp (writable with a read-only root filesystem)", home)
	}
	if entrypoint == nil || !strings.Contains(entrypoint.args, `"/usr/local/bin/latch"`) {
		bad(runtime.from, "want an exec-form ENTRYPOINT running /usr/local/bin/latch")
	}
	return problems
}

// TestDockerfile checks the repository's Dockerfile and that the -X targets
// it stamps exist in package main.
func TestDockerfile(t *testing.T) {
	goLine := goModGoLine(t)
	for _, p := range dockerfileProblems(readFile(t, filepath.Join(repoRoot, "Dockerfile")), goLine) {
		t.Error(p)
	}
	var mainSource strings.Builder
	files, err := filepath.Glob(filepath.Join(repoRoot, "cmd/latch/*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("cmd/latch sources: %v (%d files)", err, len(files))
	}
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.go") {
			mainSource.WriteString(readFile(t, f))
		}
	}
	for _, v := range []string{"version", "commit"} {
		if !regexp.MustCompile(`(?m)^\s*(var\s+)?` + v + `\s*(string\s*)?=\s*""`).MatchString(mainSource.String()) {
			t.Errorf("cmd/latch: no string variable main.%s for -ldflags -X to set", v)
		}
	}
}

func goModGoLine(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(readFile(t, filepath.Join(repoRoot, "go.mod")))
	if m == nil {
		t.Fatal("go.mod: no go line")
	}
	return m[1]
}

// TestDockerfileChecker feeds the checker broken Dockerfiles.
func TestDockerfileChecker(t *testing.T) {
	good := readFile(t, filepath.Join(repoRoot, "Dockerfile"))
	if problems := dockerfileProblems(good, "1.26.8"); len(problems) != 0 {
		t.Fatalf("the real Dockerfile: %q", problems)
	}
	tests := []struct {
		name   string
		old    string
		new    string
		goLine string
		wantIn string
	}{
		{"builder Go behind go.mod", "golang:1.26 ", "golang:1.25 ", "1.26.8", "builder Go 1.25, go.mod says go 1.26.8"},
		{"go.mod ahead", "", "", "1.27.0", "go.mod says go 1.27.0"},
		{"latest runtime", "alpine:3.22", "alpine:latest", "1.26.8", "latest is not a version"},
		{"untagged runtime", "alpine:3.22", "alpine", "1.26.8", "has no tag"},
		{"root user", "USER 65532:65532", "USER root", "1.26.8", "numeric non-zero uid"},
		{"uid 0", "USER 65532:65532", "USER 0:0", "1.26.8", "numeric non-zero uid"},
		{"no USER", "USER 65532:65532\n", "", "1.26.8", "no USER"},
		{"no git", "apk add --no-cache git ", "apk add --no-cache ", "1.26.8", "want git installed"},
		{"no gnupg", " gnupg ", " ", "1.26.8", "want gnupg installed"},
		{"cgo on", "CGO_ENABLED=0", "CGO_ENABLED=1", "1.26.8", "CGO_ENABLED=0"},
		{"no version stamp", "-X main.version=${VERSION} ", "", "1.26.8", "-X main.version="},
		{"HOME not writable", "ENV HOME=/tmp", "ENV HOME=/home/latch", "1.26.8", "ENV HOME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.old != "" && !strings.Contains(good, tt.old) {
				t.Fatalf("the Dockerfile no longer contains %q; update the case", tt.old)
			}
			broken := strings.Replace(good, tt.old, tt.new, 1)
			problems := dockerfileProblems(broken, tt.goLine)
			if !strings.Contains(strings.Join(problems, "\n"), tt.wantIn) {
				t.Errorf("problems %q, want one containing %q", problems, tt.wantIn)
			}
		})
	}
}

// TestDockerignore checks the build context keeps what `go build ./cmd/latch`
// needs: the allowlist re-includes go.mod, go.sum, cmd and internal.
func TestDockerignore(t *testing.T) {
	lines := strings.Split(readFile(t, filepath.Join(repoRoot, ".dockerignore")), "\n")
	var patterns []string
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, strings.TrimSuffix(l, "/"))
		}
	}
	if len(patterns) == 0 || patterns[0] != "*" {
		t.Fatalf(".dockerignore: want an allowlist starting with *, got %q", patterns)
	}
	for _, need := range []string{"!go.mod", "!go.sum", "!cmd", "!internal"} {
		if !slices.Contains(patterns, need) {
			t.Errorf(".dockerignore: %s missing; the build needs it", need)
		}
	}
	// Everything the Dockerfile COPYs from the context must be let in.
	for _, in := range parseDockerfile(readFile(t, filepath.Join(repoRoot, "Dockerfile"))) {
		if in.cmd != "COPY" || strings.Contains(in.args, "--from=") {
			continue
		}
		fields := strings.Fields(in.args)
		for _, src := range fields[:len(fields)-1] {
			if !slices.Contains(patterns, "!"+strings.TrimSuffix(src, "/")) {
				t.Errorf("Dockerfile:%d: COPY %s, which .dockerignore leaves out", in.line, src)
			}
		}
	}
}
