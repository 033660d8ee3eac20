"""Shared pytest set-up. Server fixtures live in tests/servers/ and are loaded as plugins; tests/blockkit_guard.py
fails any test that made a Block Kit payload Slack would refuse or cut; tests/secrets_guard.py
fails any test whose fake secrets reached a log, a Slack message, a commit or the CLI's output (it imports the
others, so it comes last: a plugin imported before it is registered cannot have its asserts rewritten)."""

pytest_plugins = ["tests.servers.registry", "tests.servers.git_daemon", "tests.fakes.fixtures", "tests.blockkit_guard",
                  "tests.secrets_guard"]
