// Package post sends a sink's HTTP request and says what its answer means for delivery:
// 2xx is success; 408, 429 and 5xx are worth retrying (with the Retry-After the server
// gave, as an alerting.RetryAfter); any other status is a refusal for good. Errors never
// show the request's URL or what in it may be a token (query values, long path segments),
// nor the secrets the caller names, even where the server echoes them.
package post
