"""The pure core: text and values in, values out.

Nothing here performs I/O or imports an adapter; `tests/unit/core/test_import_boundary.py`
enforces that. The only project module the core may import besides itself is `bot.errors`.
"""
