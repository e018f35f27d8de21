"""One thin router per wire format; each parses with its dialect and calls the service."""
