// Package forge is latch's side of pull-request hosts: one small interface
// (API) of latch's own with adapters for Gitea, GitHub (and Enterprise) and
// GitLab (and self-hosted) over their maintained native clients, plus Client,
// which adds what every adapter needs the same way: retries with backoff on
// rate limits and 5xx (counted, never dropping the request silently), "409 or
// 422 on create means find it and update it", token redaction in every
// error, and a count of HTTP calls for the benchmark. It decides nothing
// about review; internal/review does.
package forge
