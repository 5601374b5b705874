"""Local stand-ins of the payment providers' HTTP APIs, for the tests and the development setup.

Each stand-in answers like the provider (signed answers, signed and encrypted notifications, the
provider's error codes) so the app's adapters run their real SDK code paths against it, on a machine
without internet and without real credentials. `keys.py` makes the keys both sides need.

Never used in production: nothing under app/ imports this package; the app reaches a stand-in only
because its settings (WECHATPAY_API_BASE, ...) point there.
"""
