// Package config loads flowwatch's YAML configuration: strict decoding (an unknown key is
// an error naming it and its line), ${ENV} expansion for secrets, defaults applied before
// validation, and cross-references (a rule's sinks exist, a list's chains are configured)
// checked in Load.
package config
