"""The words of the inbox, message preferences, supply levels, surveys and health education pages."""

from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    "nav_inbox": ("消息", "Messages"),
    "inbox_title": ("我的消息", "My messages"),
    "inbox_none": ("还没有消息。", "No messages yet."),
    "inbox_unread": ("未读 {count} 条", "{count} unread"),
    "inbox_mark_all": ("全部标为已读", "Mark all read"),
    "inbox_open": ("查看", "Open"),
    "inbox_new": ("新", "New"),
    "inbox_prefs": ("通知设置", "Message settings"),
    "delivery_queued": ("等待发送", "waiting"),
    "delivery_sending": ("发送中", "sending"),
    "delivery_sent": ("已发送", "sent"),
    "delivery_failed": ("发送失败", "failed"),
    "delivery_dropped": ("未发送", "not sent"),
    "prefs_title": ("通知设置", "Message settings"),
    "prefs_lead": (
        "所有通知都由您决定：选择想收到哪些消息、通过哪些渠道。"
        "晚上 {start}–{end} 不发送（账户安全提醒除外），每天最多 {cap} 条。",
        "You decide what you are told and how. Nothing is sent between {start} and {end} (except account "
        "security alerts), and at most {cap} messages a day.",
    ),
    "prefs_saved": ("已保存。", "Saved."),
    "prefs_topic": ("消息", "Message"),
    "prefs_phone": ("接收短信的手机号码", "Mobile number for SMS"),
    "prefs_phone_hint": (
        "11 位中国大陆手机号；留空则不发短信。",
        "11-digit mainland number; leave empty for no SMS.",
    ),
    "prefs_phone_bad": ("请输入 11 位手机号码。", "Please enter an 11-digit mobile number."),
    "prefs_home": ("居住地（用于紧缺血型召集）", "Where you live (for shortage call-ups)"),
    "prefs_home_none": ("不设置", "Not set"),
    "prefs_no_account": ("尚未关联", "not linked"),
    "prefs_account_hint": (
        "微信和支付宝消息需要先用该平台登录一次，并在小程序中允许订阅消息。",
        "WeChat and Alipay messages need one login through that platform and your permission in its "
        "mini-program.",
    ),
    "prefs_save": ("保存", "Save"),
    "prefs_security_note": (
        "账户安全提醒总会出现在消息里。",
        "Account security alerts always reach your messages.",
    ),
    "topic_record": ("新的献血记录和电子证", "A new record and certificate"),
    "topic_eligible": ("可以再次献血", "Eligible to donate again"),
    "topic_booking": ("预约确认、提醒和变更", "Bookings: confirmed, reminded, changed"),
    "topic_answer": ("申请和纠错的答复", "Answers to my requests and claims"),
    "topic_callup": ("我的血型紧缺时召集献血", "Call-ups when my blood type is short"),
    "topic_survey": ("献血后的满意度调查", "A survey after each donation"),
    "topic_security": ("账户安全", "Account security"),
    "channel_inbox": ("站内消息", "Messages here"),
    "channel_sms": ("短信", "SMS"),
    "channel_wechat": ("微信", "WeChat"),
    "channel_alipay": ("支付宝", "Alipay"),
    "report_record": ("不是我的献血？立即报告", "Not my donation? Report it"),
}
