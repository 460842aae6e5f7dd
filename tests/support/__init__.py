"""Helpers shared by the test suite: external-service rules and throwaway servers."""
