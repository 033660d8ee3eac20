"""Shared pytest set-up. Server fixtures live in tests/servers/ and are loaded as plugins."""

pytest_plugins = ["tests.servers.registry", "tests.servers.git_daemon", "tests.fakes.fixtures"]
