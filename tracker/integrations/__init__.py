"""School integrations as plugins: exchanging rosters and registers with the systems schools already keep."""
