package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
)

// GiteaServer is a real Gitea forge on loopback with an admin user, an API
// token and one repository.
type GiteaServer struct {
	// URL is the server's root, e.g. http://127.0.0.1:34567/.
	URL string
	// Username, Password and Token belong to the admin user; the token has
	// every scope.
	Username, Password, Token string
	// Owner and Repo name the repository created for the test; it has one
	// commit on Branch so pull requests have a base.
	Owner, Repo, Branch string
}

// CloneURL is the repository's HTTP clone URL without credentials.
func (g *GiteaServer) CloneURL() string {
	return strings.TrimSuffix(g.URL, "/") + "/" + g.Owner + "/" + g.Repo + ".git"
}

// AuthCloneURL embeds the admin credentials, for git CLI use in tests.
func (g *GiteaServer) AuthCloneURL() string {
	u, _ := url.Parse(g.CloneURL())
	u.User = url.UserPassword(g.Username, g.Password)
	return u.String()
}

// Gitea starts Gitea (sqlite in a temp dir) on a free loopback port, creates
// an admin user with a token and an initialised repository, and stops it
// when the test ends.
func Gitea(t T) *GiteaServer {
	t.Helper()
	dir := requireBinaries(t, "gitea")
	bin := filepath.Join(dir, "gitea")
	static, err := os.ReadFile(filepath.Join(dir, "gitea.root"))
	if err != nil {
		msg := "gitea.root missing beside the gitea binary in " + dir + "; re-run hack/testbin.sh"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPING REAL TEST: " + msg)
	}
	me, err := user.Current()
	if err != nil {
		t.Fatalf("current user: %v", err)
	}
	// Gitea refuses to run as root unless app.ini says this; CI runs as root.
	asRoot := me.Uid == "0"

	g := &GiteaServer{Username: "latch-admin", Password: "latch-admin-" + randomHex(t, 6), Owner: "latch-admin", Repo: "infra", Branch: "main"}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		work := t.TempDir()
		port := freePort(t)
		g.URL = fmt.Sprintf("http://%s/", hostPort(port))
		config := filepath.Join(work, "app.ini")
		if err := os.WriteFile(config, []byte(giteaConfig(work, port, strings.TrimSpace(string(static)), me.Username, randomHex(t, 32), asRoot)), 0o600); err != nil {
			t.Fatalf("writing gitea config: %v", err)
		}
		// gitea runs one CLI command and returns its stdout alone: as root
		// Gitea logs a warning to stderr, and read together the two
		// streams interleave as the machine's load has them (the warning
		// came after the token on a busy machine, and was taken for it).
		gitea := func(args ...string) (string, error) {
			cmd := exec.Command(bin, append([]string{"--config", config, "--work-path", work}, args...)...)
			cmd.Env = append(os.Environ(), "GITEA_WORK_DIR="+work, "HOME="+work)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				return "", fmt.Errorf("gitea %s: %v: %s%s", args[0], err, stdout.Bytes(), stderr.Bytes())
			}
			return strings.TrimSpace(stdout.String()), nil
		}
		if _, err := gitea("migrate"); err != nil {
			t.Fatal(err)
		}
		if _, err := gitea("admin", "user", "create", "--admin", "--username", g.Username, "--password", g.Password,
			"--email", "admin@latch.test", "--must-change-password=false"); err != nil {
			t.Fatal(err)
		}
		token, err := gitea("admin", "user", "generate-access-token", "--username", g.Username, "--token-name", "latch-test", "--scopes", "all", "--raw")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(token, "\n")
		g.Token = strings.TrimSpace(lines[len(lines)-1])
		if _, err := hex.DecodeString(g.Token); err != nil || g.Token == "" {
			t.Fatalf("gitea admin user generate-access-token printed %q, want a hex token on its last line", token)
		}

		web := startProcess(t, "gitea", bin, []string{"--config", config, "--work-path", work, "web"},
			[]string{"GITEA_WORK_DIR=" + work, "HOME=" + work})
		lastErr = waitFor(Context(t), "gitea API", web, func(ctx context.Context) error {
			_, err := g.API(ctx, http.MethodGet, "/api/v1/version", nil, nil)
			return err
		})
		if lastErr == nil {
			break
		}
		// Most likely another process took the port; try a fresh one.
		web.stop()
	}
	if lastErr != nil {
		t.Fatal(lastErr)
	}

	ctx := context.Background()
	if _, err := g.API(ctx, http.MethodPost, "/api/v1/user/repos", map[string]any{
		"name": g.Repo, "auto_init": true, "default_branch": g.Branch, "private": false,
	}, nil); err != nil {
		t.Fatalf("creating repository %s/%s: %v", g.Owner, g.Repo, err)
	}
	return g
}

// API calls Gitea's REST API with the admin token; body (if any) is sent as
// JSON and the response decoded into out (if non-nil). Non-2xx → error.
func (g *GiteaServer) API(ctx context.Context, method, path string, body, out any) (int, error) {
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(g.URL, "/")+path, reader)
	if err != nil {
		return 0, err
	}
	if g.Token != "" {
		req.Header.Set("Authorization", "token "+g.Token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decoding response: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// Merge merges pull request number as a person would from the web page.
// Gitea checks a PR's mergeability in the background after every push to
// it, and until that check ends it answers a merge with 405 "Please try
// again later"; a person would click again, so Merge retries that answer
// (and only that one) until Deadline(t).
func (g *GiteaServer) Merge(t T, ctx context.Context, number int) {
	t.Helper()
	path := fmt.Sprintf("/api/v1/repos/%s/%s/pulls/%d/merge", g.Owner, g.Repo, number)
	WaitUntil(t, fmt.Sprintf("Gitea to merge PR #%d (it kept answering 405 Please try again later)", number), func() bool {
		code, err := g.API(ctx, "POST", path, map[string]any{"Do": "merge"}, nil)
		if err == nil {
			return true
		}
		if code != http.StatusMethodNotAllowed || !strings.Contains(err.Error(), "try again later") {
			t.Fatalf("merging PR #%d: %v", number, err)
		}
		return false
	})
}

func giteaConfig(work string, port int, static, runUser, secret string, asRoot bool) string {
	return fmt.Sprintf(`APP_NAME = latch test forge
I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = %[6]t
RUN_USER = %[4]s
RUN_MODE = prod
WORK_PATH = %[1]s

[server]
PROTOCOL = http
HTTP_ADDR = 127.0.0.1
HTTP_PORT = %[2]d
ROOT_URL = http://127.0.0.1:%[2]d/
DISABLE_SSH = true
START_SSH_SERVER = false
OFFLINE_MODE = true
LFS_START_SERVER = false
STATIC_ROOT_PATH = %[3]s
APP_DATA_PATH = %[1]s/data

[database]
DB_TYPE = sqlite3
PATH = %[1]s/data/gitea.db

[repository]
ROOT = %[1]s/repos
DEFAULT_BRANCH = main

[security]
INSTALL_LOCK = true
SECRET_KEY = %[5]s
INTERNAL_TOKEN = %[5]s

[service]
DISABLE_REGISTRATION = true
REQUIRE_SIGNIN_VIEW = false

[mailer]
ENABLED = false

[session]
PROVIDER = memory

[cache]
ADAPTER = memory

[queue]
TYPE = channel

[indexer]
ISSUE_INDEXER_TYPE = db
REPO_INDEXER_ENABLED = false

[cron]
ENABLED = false

[log]
MODE = console
LEVEL = Warn
ROOT_PATH = %[1]s/log
`, work, port, static, runUser, secret, asRoot)
}

func randomHex(t T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
