"""The pipeline's exception hierarchy: every error a user can meet has a class and a one-line message.

    PipelineError
    ├── UsageError            bad arguments or configuration (CLI exit 2)
    │   └── UnknownEndpointError (in endpoints.py)
    └── StorageError          the DuckDB file cannot be used as asked
        ├── DatabaseLockedError   another process holds the file
        └── DatabaseFileError     path missing/unwritable, or not a DuckDB file
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base class: the message is meant to be shown to a user as is."""


class UsageError(PipelineError):
    """Arguments or configuration that cannot work; fixing them is the user's move."""


class StorageError(PipelineError):
    """The database cannot be opened or written as needed."""


class DatabaseLockedError(StorageError):
    """Another process holds the DuckDB file (DuckDB allows one writer process or many readers)."""


class DatabaseFileError(StorageError):
    """The database path is unusable: missing directory, no permission, or not a DuckDB file."""
