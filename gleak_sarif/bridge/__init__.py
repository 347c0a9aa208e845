"""The golangci-lint bridge: the engine server (`gleak-sarif serve --stdio`) that goshim/ talks to."""
