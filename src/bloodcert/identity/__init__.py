"""Identity adapters: the real-name login platforms (Alipay, WeChat, Baidu, demo) and captcha drawing.

The login use cases that drive them live in services/ (donor_login, provider_login, sessions).
"""
