"""Personal API tokens and the partner API (/api/v1): aggregates and report files for scripts."""
