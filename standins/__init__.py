"""Local stand-ins of the payment providers' HTTP APIs, for the tests and the demo; never used in production."""
