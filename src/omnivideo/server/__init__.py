"""The HTTP server: an app factory, auth, one router per face, file serving."""
