"""Development and test tooling: the embedded servers of `make run` and the test session.

Nothing under `app/` imports this package; it needs the packages of `requirements-dev.txt`.
"""
