"""Blob storage for inputs and outputs, and the signed URLs results are served at."""
