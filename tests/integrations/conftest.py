"""Fixtures of the integration tests (helpers live in kit.py)."""

from tests.integrations.kit import pre_commit, pre_commit_env

__all__ = ["pre_commit", "pre_commit_env"]
