"""The command functions behind ``scf-local``: each takes the parsed arguments, writes to
``out``/``err`` and returns the exit code (:mod:`gateway.cli` parses argv and dispatches)."""
