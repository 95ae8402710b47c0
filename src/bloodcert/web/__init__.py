"""The ASGI app: HTTP in, one service call, HTTP out."""
