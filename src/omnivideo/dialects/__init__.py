"""One module per wire format: pure functions between wire dicts and the contract."""
