package testtool

import (
	"os"
	"testing"
)

// RequireEnv names the environment variable that turns a missing program into a failure.
const RequireEnv = "FLOWWATCH_REQUIRE_TOOLS"

// Missing ends t for want of a program; msg names it and how to install it.
func Missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv(RequireEnv) != "" {
		t.Fatalf("%s (%s is set)", msg, RequireEnv)
	}
	t.Skip(msg)
}
