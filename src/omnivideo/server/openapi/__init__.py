"""The OpenAPI document (`/openapi.json`): every face's request bodies, answers and errors.

Routes read their bodies themselves, so that each face renders its own errors; FastAPI alone
would therefore document no request body and a 422 the server never answers. Each route states
what it takes and answers with :func:`.operation.describe`, and :mod:`.document` completes
FastAPI's document from those statements, the route's face and its dependencies.
"""
