package fakerpc

import (
	"net/http"
	"strconv"
)

// Status answers with an HTTP status and a short body, as a proxy or rate limiter would.
// A non-zero retryAfter sets the Retry-After header in seconds.
func Status(code, retryAfter int) Fault {
	return func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		if retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		}
		http.Error(w, http.StatusText(code), code)
	}
}

// Truncate sends the first half of the normal answer with a 200 status.
func Truncate() Fault {
	return func(w http.ResponseWriter, _ *http.Request, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body[:len(body)/2])
	}
}

// Replace sends body in place of the normal answer with a 200 status.
func Replace(body string) Fault {
	return func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}
}

// Hang holds the request until the client gives up on it, as an overloaded node does.
func Hang() Fault {
	return func(_ http.ResponseWriter, r *http.Request, _ []byte) {
		<-r.Context().Done()
	}
}
