package testenv

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
)

// PrometheusServer is a real Prometheus on loopback serving backfilled data.
type PrometheusServer struct {
	// URL is the server's root, e.g. http://127.0.0.1:34567.
	URL string
}

// prometheusRetention keeps backfilled blocks: Prometheus deletes blocks
// older than its retention at start-up, and tests backfill fixed dates.
const prometheusRetention = "50y"

// Prometheus backfills openMetrics (OpenMetrics text: "# TYPE name gauge",
// samples "name{labels} value unix-seconds", then "# EOF") into a temporary
// storage folder with `promtool tsdb create-blocks-from openmetrics`, starts
// prometheus over it on a free loopback port with nothing to scrape, waits
// for /-/ready and stops it when the test ends.
func Prometheus(t T, openMetrics []byte) *PrometheusServer {
	t.Helper()
	dir := requireBinaries(t, "prometheus", "promtool")
	work := t.TempDir()
	input := filepath.Join(work, "backfill.om")
	if err := os.WriteFile(input, openMetrics, 0o600); err != nil {
		t.Fatalf("writing the backfill input: %v", err)
	}
	data := filepath.Join(work, "data")
	cmd := exec.CommandContext(Context(t), filepath.Join(dir, "promtool"), "tsdb", "create-blocks-from", "openmetrics", input, data)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
	}
	config := filepath.Join(work, "prometheus.yml")
	if err := os.WriteFile(config, []byte("global:\n  scrape_interval: 15s\n"), 0o600); err != nil {
		t.Fatalf("writing the prometheus config: %v", err)
	}

	p := &PrometheusServer{}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		addr := hostPort(freePort(t))
		p.URL = "http://" + addr
		proc := startProcess(t, "prometheus", filepath.Join(dir, "prometheus"), []string{
			"--config.file=" + config,
			"--storage.tsdb.path=" + data,
			"--storage.tsdb.retention.time=" + prometheusRetention,
			"--web.listen-address=" + addr,
		}, nil)
		lastErr = waitFor(Context(t), "prometheus /-/ready", proc, func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/-/ready", nil)
			if err != nil {
				return err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("GET /-/ready: HTTP %d", resp.StatusCode)
			}
			return nil
		})
		if lastErr == nil {
			return p
		}
		// Most likely another process took the port; try a fresh one.
		proc.stop()
	}
	t.Fatal(lastErr)
	return nil
}
