package post

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowwatch/flowwatch/alerting"
)

// maxBody bounds the answer's body read for an error message.
const maxBody = 512

// Do sends req with client. what names the request in errors ("post alert 0x..");
// secrets are kept out of them too.
func Do(ctx context.Context, client *http.Client, req *http.Request, what string,
	secrets ...string) (retry bool, err error) {
	hide := hidden(req, secrets)
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		return ctx.Err() == nil, fmt.Errorf("%s: %s", what, redact(err.Error(), hide))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	c := resp.StatusCode
	if c >= 200 && c < 300 {
		return false, nil
	}
	msg := strings.Join(strings.Fields(string(body)), " ")
	if msg != "" {
		msg = ": " + redact(msg, hide)
	}
	if c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500 {
		err := fmt.Errorf("%s: %s%s", what, resp.Status, msg)
		if wait, ok := RetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return true, &alerting.RetryAfter{Wait: wait, Err: err}
		}
		return true, err
	}
	return false, fmt.Errorf("%s: refused: %s%s", what, resp.Status, msg)
}

// RetryAfter reads a Retry-After header: seconds, or an HTTP date (from now). The wait is
// never negative: seconds past what a Duration holds (about 292 years) are its longest,
// which the caller bounds, where their product would wrap round to a negative wait, an
// immediate retry.
func RetryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(h, 10, 64); (err == nil || errors.Is(err, strconv.ErrRange)) &&
		s >= 0 {
		if s > int64(math.MaxInt64/time.Second) {
			return math.MaxInt64, true
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}

// hidden are what errors must not show of req: its URL, its query values and long path
// segments (tokens), and secrets; longest first, so that a part is not left of a whole.
func hidden(req *http.Request, secrets []string) []string {
	out := []string{req.URL.String(), req.URL.RawQuery}
	for _, vs := range req.URL.Query() {
		out = append(out, vs...)
	}
	for _, seg := range strings.Split(req.URL.Path, "/") {
		if len(seg) >= 8 {
			out = append(out, seg)
		}
	}
	out = append(out, secrets...)
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// redact replaces every hidden string in s.
func redact(s string, hide []string) string {
	for _, h := range hide {
		if len(h) >= 4 {
			s = strings.ReplaceAll(s, h, "<redacted>")
		}
	}
	return s
}

// JSON posts v as JSON to url with client: Do of that request. header may add headers.
func JSON(ctx context.Context, client *http.Client, url string, v any, header http.Header,
	what string, secrets ...string) (bool, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return false, fmt.Errorf("%s: encode: %w", what, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("%s: bad request", what) // callers check their URL first
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	return Do(ctx, client, req, what, secrets...)
}

// CheckURL says what is wrong with a sink's endpoint URL, never showing it (it may hold a
// token): key is its YAML key.
func CheckURL(key, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%s: want an http(s)://host/... URL", key)
	}
	return nil
}
