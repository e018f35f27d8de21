"""Use cases without HTTP: submit, get, list, run, callbacks, accounts, elements."""
