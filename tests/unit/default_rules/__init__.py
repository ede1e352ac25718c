"""Tests of the default rules (rules/sentry_rules.yaml) over synthetic syscall stories."""
