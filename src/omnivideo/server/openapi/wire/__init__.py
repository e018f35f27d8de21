"""Bodies as the OpenAPI document shows them, one module per face.

Answers are rendered as plain dicts by :mod:`omnivideo.dialects`; these TypedDicts describe
them for the document and for generated clients. Request bodies that a dialect parses field by
field (OpenAI, useapi, elements) are described here too; the others are the contract's own
pydantic models.
"""
