"""Real-name login through the platforms donors already use: Alipay, WeChat, Baidu (and a demo provider)."""
