"""Sub-commands of the ``fastga`` command line, one module each."""
