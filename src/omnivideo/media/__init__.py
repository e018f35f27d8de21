"""Inputs and outputs on disk: fetch, probe, and encode MP4 files."""
