"""User plugins: modules registered into FineCLIP's registries.

Nothing here is imported by the ``fineclip`` package; a config loads a
plugin through ``custom_imports`` (see ``plugins/README.md``).
"""
