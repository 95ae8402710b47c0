"""Channels that carry notifications to donors: SMS, WeChat and Alipay subscription messages."""
