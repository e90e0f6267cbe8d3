"""cryopick tests: engine unit tests (no Scipion) and Scipion integration tests."""
