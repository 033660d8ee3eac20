"""The SQLite state store, one module per concern; `bot.adapters.state_store.StateStore` composes them."""
