"""gleak-sarif: goroutine-leak linter for Go with SARIF output."""

__version__ = "0.1.0"
