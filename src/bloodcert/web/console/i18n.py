"""The console's words in Simplified Chinese and English; anything not here falls back to the pages' words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bloodcert.web.pages.i18n import DEFAULT_LANG, LANGS, MESSAGES, Words

# key: (Simplified Chinese, English)
CONSOLE_MESSAGES: dict[str, tuple[str, str]] = {
    # frame
    "console_name": ("管理控制台", "Console"),
    "console_nav": ("控制台导航", "Console"),
    "nav_home": ("首页", "Home"),
    "nav_stations": ("血站", "Stations"),
    "nav_audit": ("审计日志", "Audit log"),
    "nav_status": ("系统状态", "System status"),
    "signed_in_as": ("当前用户：{user}（{role}）", "Signed in as {user} ({role})"),
    "console_footer": (
        "控制台的每一次登录和操作都记入审计日志。",
        "Every console login and action is recorded in the audit log.",
    ),
    "role_national_admin": ("国家级管理员", "National administrator"),
    "role_provincial_admin": ("省级管理员", "Provincial administrator"),
    "role_station_operator": ("血站操作员", "Station operator"),
    "nav_corrections": ("纠错与补录", "Corrections"),
    "nav_conflicts": ("身份冲突", "Identity conflicts"),
    "home_corrections_text": (
        "献血者提出的纠错与补录申请：答复、追问，以及逾期督办。",
        "Donors' correction and back-fill requests: answer, ask, and follow up overdue ones.",
    ),
    "home_conflicts_text": (
        "同一证件号码下姓名或血型不同的记录：核实后合并或分开。",
        "One ID number under another name or ABO type: merge them or keep them apart.",
    ),
    "corrections_title": ("纠错与补录申请", "Correction and back-fill requests"),
    "correction_answered": ("已答复，献血者可在其页面看到。", "Answered; the donor sees it on their page."),
    "correction_filter": ("按状态筛选", "Filter by status"),
    "correction_all": ("全部", "All"),
    "correction_status_open": ("待处理", "Open"),
    "correction_status_need_info": ("待献血者补充", "Waiting for the donor"),
    "correction_status_escalated": ("已逾期督办", "Escalated"),
    "correction_status_resolved": ("已解决", "Resolved"),
    "correction_status_rejected": ("已驳回", "Rejected"),
    "correction_kind_wrong_record": ("记录有误", "Wrong record"),
    "correction_kind_missing_donation": ("补录", "Missing donation"),
    "correction_overdue": ("已逾期", "Overdue"),
    "correction_due": ("答复期限", "Due"),
    "correction_donor": ("献血者", "Donor"),
    "correction_proposed": ("应为", "should be"),
    "correction_donated_on": ("献血日期", "Donated on"),
    "correction_resolved_with": ("对应记录", "Resolved with"),
    "correction_author_donor": ("献血者", "Donor"),
    "correction_author_station": ("血站", "Station"),
    "correction_author_staff": ("管理员", "Administrator"),
    "correction_author_system": ("系统", "System"),
    "correction_action_filed": ("提出申请", "filed"),
    "correction_action_reply": ("补充说明", "replied"),
    "correction_action_resolved": ("已解决", "resolved"),
    "correction_action_rejected": ("已驳回", "rejected"),
    "correction_action_need_info": ("请补充信息", "asked"),
    "correction_action_escalated": ("逾期督办", "escalated"),
    "correction_answer": ("答复", "Answer"),
    "correction_resolving_donation": (
        "已报送或更正的献血编号（解决时必填）",
        "Donation number reported or corrected (to resolve)",
    ),
    "correction_send": ("发送答复", "Send answer"),
    "correction_photo": ("纸质献血证照片", "Photo of the paper certificate"),
    "no_corrections": ("没有符合条件的申请。", "No request matches."),
    "conflicts_title": ("身份冲突", "Identity conflicts"),
    "conflicts_lead": (
        "同一证件号码下出现了不同姓名或血型。请核实证据后决定：是同一人（如改名）则合并，是不同的人则分开。每个决定都可撤销，并记入审计日志。",
        "One ID number appears with another name or ABO type. Check the evidence, then decide: the same "
        "person (e.g. a changed name) is merged, different people are kept apart. Every decision can be "
        "undone and is in the audit log.",
    ),
    "conflict": ("冲突", "Conflict"),
    "conflict_person": ("编号", "Person"),
    "conflict_name": ("姓名", "Name"),
    "conflict_sex": ("性别", "Sex"),
    "conflict_donations": ("献血次数", "Donations"),
    "conflict_span": ("首次 – 最近", "First – last"),
    "conflict_decision": ("决定", "Decision"),
    "conflict_merge": ("同一人：合并", "Same person: merge"),
    "conflict_separate": ("不同的人：分开", "Different people: keep apart"),
    "conflict_keep": ("合并时保留的一方（姓名与血型以此为准）", "When merging, keep (its name and ABO type)"),
    "conflict_evidence": ("依据", "Evidence"),
    "conflict_submit": ("提交决定", "Decide"),
    "conflict_decisions": ("最近的决定", "Latest decisions"),
    "conflict_decided_at": ("时间", "When"),
    "conflict_persons": ("保留 ← 另一方", "Kept ← other"),
    "conflict_undo": ("撤销", "Undo"),
    "conflict_undone": ("已于 {when} 撤销", "Undone {when}"),
    "conflict_done_merge": (
        "已合并；总计与献血证已重新计算。",
        "Merged; totals and certificates recomputed.",
    ),
    "conflict_done_separate": ("已确认为不同的人，标记已清除。", "Kept apart; the flag is cleared."),
    "conflict_done_undone": ("决定已撤销。", "The decision is undone."),
    "no_conflicts": ("没有待处理的身份冲突。", "No open identity conflict."),
    "no_decisions": ("还没有决定。", "No decision yet."),
    "nav_statistics": ("全国统计", "Statistics"),
    "statistics_title": ("献血统计", "Donation statistics"),
    "stat_from": ("起始月份", "From"),
    "stat_to": ("截止月份", "To"),
    "stat_national": ("全国", "National"),
    "stat_csv": ("导出 CSV", "Export CSV"),
    "stat_note": (
        "按献血日期统计有效献血。献血人数为去重人数；首次献血者指该人首次献血发生在所选期间内。",
        "Valid donations by the day they took place. Donors are distinct persons; a first-time donor's "
        "first donation ever falls in the span.",
    ),
    "stat_donations": ("献血次数", "Donations"),
    "stat_donors": ("献血人数", "Donors"),
    "stat_first_time": ("首次献血者", "First-time donors"),
    "stat_repeat": ("再次献血者", "Repeat donors"),
    "stat_by_province": ("按省份", "By province"),
    "stat_by_month": ("按月份", "By month"),
    "stat_by_kind": ("按献血类型", "By kind"),
    "stat_by_abo": ("按 ABO 血型", "By ABO type"),
    "stat_kind": ("献血类型", "Kind"),
    "home_province_stations": ("本省血站（{province}）", "Stations of province {province}"),
    "role_auditor": ("审计员", "Auditor"),
    # login
    "console_login_title": ("登录管理控制台", "Log in to the console"),
    "console_login_lead": (
        "仅限授权工作人员。需要密码和身份验证器应用中的 6 位动态码。",
        "For authorised staff only. You need your password and the 6-digit code from your authenticator app.",
    ),
    "username": ("用户名", "Username"),
    "password": ("密码", "Password"),
    "totp_code": ("动态验证码", "Authenticator code"),
    "totp_hint": ("身份验证器应用中显示的 6 位数字", "The 6 digits your authenticator app shows"),
    "console_login_submit": ("登录", "Log in"),
    "console_login_failed": (
        "登录失败：用户名、密码或动态验证码不正确，或账户已被暂时锁定。",
        "Login failed: the username, password or code is wrong, or the account is locked for a while.",
    ),
    "console_login_missing": ("请填写用户名、密码和动态验证码。", "Please fill in all three fields."),
    "console_blocked": (
        "此网络的失败登录次数过多，请 15 分钟后再试。",
        "Too many failed logins from this network. Please try again in 15 minutes.",
    ),
    # home
    "console_home_title": ("管理控制台", "Console"),
    "home_stations": ("血站与签名公钥", "Stations and their keys"),
    "home_stations_text": (
        "查看血站、登记公钥、吊销公钥，以及各血站的数据质量。",
        "See stations, register and revoke their keys, and each station's data quality.",
    ),
    "home_own_station": ("我的血站", "My station"),
    "home_audit_text": (
        "查看谁在何时从何处读取或更改了什么。",
        "See who read or changed what, when and from where.",
    ),
    "home_status_text": (
        "数据库、证书签名密钥和状态列表。",
        "The database, the certificate signing keys and the status lists.",
    ),
    # stations
    "stations_title": ("血站", "Stations"),
    "search": ("搜索", "Search"),
    "search_label": ("按代码或名称搜索", "Search by code or name"),
    "station_code": ("血站代码", "Code"),
    "station_name": ("名称", "Name"),
    "region": ("所在地区", "Region"),
    "region_code": ("地区代码（GB/T 2260）", "Region code (GB/T 2260)"),
    "tier": ("类型", "Type"),
    "tier_blood_centre": ("血液中心", "Blood centre"),
    "tier_central_station": ("中心血站", "Central station"),
    "tier_central_bank": ("中心血库", "Central blood bank"),
    "active_keys": ("有效公钥", "Active keys"),
    "open_issues": ("未处理问题", "Open issues"),
    "no_stations": ("没有符合条件的血站。", "No station matches."),
    "stations_count": ("共 {count} 个血站", "{count} stations"),
    "pages": ("分页", "Pages"),
    "previous": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "page_of": ("第 {page} 页", "Page {page}"),
    "add_station": ("登记新血站", "Register a station"),
    "add_station_submit": ("登记", "Register"),
    "station_added": ("血站已登记。请为其登记签名公钥。", "The station is registered. Add its signing key."),
    "keys_title": ("签名公钥", "Signing keys"),
    "key_id": ("公钥标识", "Key id"),
    "alg": ("算法", "Algorithm"),
    "created_at": ("登记时间", "Added"),
    "key_status": ("状态", "Status"),
    "key_active": ("有效", "Active"),
    "key_revoked": ("已吊销（{when}）", "Revoked ({when})"),
    "revoke": ("吊销", "Revoke"),
    "revoke_label": ("吊销公钥 {kid}", "Revoke key {kid}"),
    "no_keys": ("此血站还没有登记公钥。", "This station has no key yet."),
    "add_key": ("登记公钥", "Add a public key"),
    "public_key_pem": ("公钥（PEM 格式）", "Public key (PEM)"),
    "public_key_hint": (
        "以 -----BEGIN PUBLIC KEY----- 开头；私钥请勿上传。",
        "Starts with -----BEGIN PUBLIC KEY-----; never upload the private key.",
    ),
    "add_key_submit": ("登记公钥", "Add key"),
    "key_added": ("公钥已登记：{kid}", "Key added: {kid}"),
    "key_revoked_done": (
        "公钥已吊销：{kid}。使用它签名的请求将立即被拒绝。",
        "Key revoked: {kid}. Requests signed with it are refused from now on.",
    ),
    "view_quality": ("查看数据质量", "Data quality"),
    "back_stations": ("返回血站列表", "Back to stations"),
    "back_station": ("返回血站", "Back to the station"),
    "action_failed": ("操作未完成：", "Not done:"),
    # quality
    "quality_title": ("数据质量", "Data quality"),
    "rejection_chart": ("每月拒收率", "Rejection rate per month"),
    "rejection_chart_label": ("每月拒收率：{items}", "Rejection rate per month: {items}"),
    "delay_chart": ("每月上报延迟中位数（天）", "Median reporting delay per month (days)"),
    "delay_chart_label": ("每月上报延迟中位数：{items}", "Median reporting delay per month: {items}"),
    "delay_note": (
        "上报延迟 = 平台收到记录的时间 − 献血时间；按收到记录的月份（北京时间）统计。"
        "补录的历史记录延迟较长。",
        "Reporting delay = when the platform received a record − when the donation took place, by the month "
        "it was received (China time). Back-filled history shows long delays.",
    ),
    "months_title": ("逐月统计", "Month by month"),
    "month": ("月份", "Month"),
    "accepted": ("接收", "Accepted"),
    "rejected": ("拒收", "Rejected"),
    "rejection_rate": ("拒收率", "Rejection rate"),
    "median_delay": ("延迟中位数", "Median delay"),
    "p90_delay": ("延迟 90 分位", "90th percentile delay"),
    "days": ("{n} 天", "{n} d"),
    "no_data": ("无数据", "no data"),
    "issues_by_code": ("未处理问题（按类型）", "Open issues by type"),
    "issue_code": ("问题类型", "Type"),
    "issue_count": ("数量", "Count"),
    "recent_issues": ("最近的未处理问题", "Latest open issues"),
    "recent_issues_note": ("显示最近 {n} 条。", "The latest {n} are shown."),
    "donation_no": ("献血编号", "Donation number"),
    "severity": ("级别", "Severity"),
    "severity_error": ("错误（已拒收）", "Error (rejected)"),
    "severity_warning": ("警告（已接收）", "Warning (accepted)"),
    "field": ("字段", "Field"),
    "message": ("说明", "Message"),
    "received": ("时间", "When"),
    "no_issues": ("没有未处理的问题。", "No open issues."),
    "issue_what_to_do": ("处理方法：", "What to do:"),
    "issue_close_as": ("处理结果", "Close as"),
    "issue_fixed": ("已更正", "Fixed"),
    "issue_accepted": ("已接受（记录无误）", "Accepted (the record is right)"),
    "issue_fixed_donation": ("更正后的献血编号", "Corrected donation number"),
    "issue_note": ("说明", "Note"),
    "issue_close": ("关闭问题", "Close issue"),
    "issue_closed": ("问题已关闭，已移入历史记录。", "The issue is closed and moved to the history."),
    "closed_issues": ("已关闭的问题", "Closed issues"),
    "no_closed_issues": ("还没有已关闭的问题。", "No issue has been closed yet."),
    "issue_closed_at": ("关闭时间", "Closed"),
    "issue_closed_as": ("结果", "Outcome"),
    "issue_closed_by": ("处理人", "By"),
    # audit
    "audit_title": ("审计日志", "Audit log"),
    "audit_lead": (
        "日志以带密钥的哈希链保存，任何修改、删除或重排都能被 bloodcert audit verify 发现。",
        "Entries form a keyed hash chain: bloodcert audit verify finds any edit, deletion or reordering.",
    ),
    "at": ("时间（UTC）", "When (UTC)"),
    "actor": ("操作者", "Actor"),
    "action": ("操作", "Action"),
    "object": ("对象", "Object"),
    "client": ("来源", "From"),
    "outcome": ("结果", "Outcome"),
    "no_entries": ("没有日志条目。", "No entries."),
    "newer": ("较新", "Newer"),
    "older": ("较早", "Older"),
    # status
    "status_title": ("系统状态", "System status"),
    "status_ok": ("一切正常", "All good"),
    "status_problem": ("需要处理", "Needs attention"),
    "database": ("数据库", "Database"),
    "database_ok": ("可连接（{dialect}）", "Answers ({dialect})"),
    "database_down": ("无法连接", "Does not answer"),
    "schema": ("数据库结构", "Schema"),
    "schema_current": ("已是最新", "Up to date"),
    "schema_old": ("需要运行 bloodcert db upgrade", "Run bloodcert db upgrade"),
    "signing": ("证书签名", "Certificate signing"),
    "can_sign": ("可以签发", "Ready to sign"),
    "signing_keys": ("签名密钥", "Signing keys"),
    "kid": ("密钥标识", "Key id"),
    "key_role": ("用途", "Role"),
    "valid_from": ("生效", "Valid from"),
    "valid_until": ("失效", "Valid until"),
    "expiring": (
        "签名密钥将在 30 天内到期，请运行 bloodcert keys rotate。",
        "A signing key expires within 30 days: run bloodcert keys rotate.",
    ),
    "status_lists": ("状态列表", "Status lists"),
    "list_id": ("列表标识", "List"),
    "allocated": ("已分配", "Allocated"),
    "capacity": ("容量", "Capacity"),
    "revoked_count": ("已撤销", "Revoked"),
    "updated_at": ("更新时间（UTC）", "Updated (UTC)"),
    "no_lists": ("还没有状态列表（尚未签发证书）。", "No status list yet (no certificate issued)."),
    "counts": ("数量", "Counts"),
    "staff_accounts": ("工作人员账户", "Staff accounts"),
    # errors
    "console_401": ("请先登录管理控制台。", "Please log in to the console first."),
    "console_403": (
        "您的账户无权访问此页面或此血站。",
        "Your account may not open this page or this station.",
    ),
    "console_login_link": ("前往登录", "Log in"),
    "console_back": ("返回控制台首页", "Back to the console"),
}

# Hospitals and blood-fee waivers.
CONSOLE_MESSAGES.update(
    {
        "nav_hospitals": ("医院", "Hospitals"),
        "nav_waivers": ("血费减免", "Fee waivers"),
        "hospitals_title": ("医院与密钥", "Hospitals and their keys"),
        "hospital_added": ("医院已登记。", "The hospital is registered."),
        "no_hospitals": ("尚未登记医院。", "No hospital is registered yet."),
        "add_hospital": ("登记医院", "Register a hospital"),
        "hospital_code": ("医院代码", "Hospital code"),
        "hospital_name": ("医院名称", "Hospital"),
        "waivers_title": ("血费减免（医院直免）", "Blood-fee waivers at hospitals"),
        "waivers_count": ("减免笔数", "Waivers"),
        "waived_ml": ("减免血量（毫升）", "Waived (ml)"),
        "waived_yuan": ("减免金额（元）", "Waived (yuan)"),
        "waivers_by_hospital_month": ("按医院和月份", "By hospital and month"),
        "month": ("月份", "Month"),
        "paying_station": ("付费血站", "Paying station"),
        "export_csv": ("导出 CSV", "Export CSV"),
        "no_waivers": ("尚无减免记录。", "No waivers yet."),
        "view_waivers": ("查看血费减免", "View fee waivers"),
    }
)

# A station's donation sites, slots, bookings and health checks.
CONSOLE_MESSAGES.update(
    {
        "view_sites": ("献血点与预约", "Sites and bookings"),
        "sites_console_title": ("献血点", "Donation sites"),
        "sites_console_list": ("本站献血点", "This station's sites"),
        "sites_console_none": ("尚未登记献血点。", "No site is registered yet."),
        "site_add": ("新增献血点", "Add a site"),
        "site_edit": ("修改献血点与排班", "Edit the site and its schedule"),
        "site_code": ("献血点代码", "Site code"),
        "site_name_label": ("献血点名称", "Site name"),
        "site_type": ("类型", "Type"),
        "site_lat": ("纬度（WGS-84）", "Latitude (WGS-84)"),
        "site_lon": ("经度（WGS-84）", "Longitude (WGS-84)"),
        "site_address": ("地址", "Address"),
        "site_hours": ("每周开放时间", "Weekly hours"),
        "site_hours_hint": (
            "每行一段：星期（1 为周一，7 为周日）和时间，例如 1 08:30-17:00",
            "One period a line: weekday (1 Monday … 7 Sunday) and times, e.g. 1 08:30-17:00",
        ),
        "site_schedule": ("献血车排班", "Blood bus schedule"),
        "site_schedule_hint": (
            "仅献血车：每行一天，日期 时间 纬度,经度 地点，例如 2026-12-05 09:00-15:00 30.30,120.09 浙江大学",
            "Blood buses only: one day a line, date times lat,lon place, e.g. "
            "2026-12-05 09:00-15:00 30.30,120.09 Zhejiang University",
        ),
        "site_save": ("保存献血点", "Save the site"),
        "site_day": ("日期", "Day"),
        "site_show_day": ("查看", "Show"),
        "site_slots": ("{day} 的预约时段", "Slots on {day}"),
        "site_no_slots": ("这一天没有时段。", "No slots on this day."),
        "site_slots_edit": ("设置时段与容量", "Set the slots and their capacity"),
        "site_slots_hint": (
            "每行一个时段：开始时间和可预约人数，例如 09:00 6。未列出的时段将删除（已有预约的除外）。",
            "One slot a line: start and places, e.g. 09:00 6. A slot left out is removed (unless booked).",
        ),
        "site_slots_save": ("保存时段", "Save the slots"),
        "slot_starts": ("时段", "Slot"),
        "slot_capacity": ("容量", "Capacity"),
        "slot_booked": ("已预约", "Booked"),
        "site_bookings": ("{day} 的预约与到场", "Bookings and attendance on {day}"),
        "site_no_bookings": ("这一天没有预约。", "No bookings on this day."),
        "booking_status": ("状态", "Status"),
        "attendance": ("到场登记", "Attendance"),
        "mark_attended": ("已到场", "Came"),
        "mark_no_show": ("未到", "Did not come"),
        "checks_station_only": (
            "健康征询的回答只对本站操作员可见。",
            "Health-check answers are shown only to the station's own operators.",
        ),
        "checks_none": ("这一天还没有健康征询。", "No health checks on this day."),
        "outcome_pass": ("通过", "Passed"),
        "outcome_deferred": ("暂缓献血", "Deferred"),
        "outcome_permanent": ("不宜献血", "Not advised"),
        "done_site_saved": ("献血点已保存。", "The site is saved."),
        "done_slots_saved": ("时段已保存。", "The slots are saved."),
        "done_attendance_saved": ("到场情况已登记。", "Attendance is recorded."),
    }
)

# The commendation review (奉献奖候选人审核).
CONSOLE_MESSAGES.update(
    {
        "nav_honours": ("表彰审核", "Honours review"),
        "honours_review_title": ("无偿献血奉献奖审核", "Dedication Award review"),
        "honours_index_lead": (
            "选择表彰周期和省份，查看候选人名单；各血站的名单在血站页面。",
            "Choose a cycle and a province to see its candidates; each station's list is on its page.",
        ),
        "honours_review_lead": (
            "名单由全国献血记录按 2022 年表彰办法生成，列出每位候选人计入的献血及采血机构，"
            "无需献血者另行举证。驳回须说明理由；同一候选人再次审核以最后一次为准。",
            "The list comes from the national donation records by the 2022 rules, with each "
            "candidate's counted donations and where they were made, so the donor need not prove "
            "them. A rejection needs a reason; a later decision on a candidate replaces the earlier one.",
        ),
        "honours_by_province": ("按省份", "By province"),
        "honours_cycle": ("表彰周期", "Cycle"),
        "honours_show": ("查看", "Show"),
        "honours_total": ("候选人", "Candidates"),
        "honour_status_candidate": ("待审核", "To review"),
        "honour_status_confirmed": ("已确认", "Confirmed"),
        "honour_status_rejected": ("已驳回", "Rejected"),
        "honours_counted": ("计入献血 {n} 次", "{n} counted donations"),
        "honours_golds": ("已获金奖 {n} 次", "{n} gold awards"),
        "honours_person_ref": ("编号", "Ref."),
        "honours_donations_of": ("{name} 计入的献血", "Donations counted for {name}"),
        "honours_where": ("采血机构", "Where"),
        "honours_reason": ("驳回理由", "Reason for a rejection"),
        "honours_reason_hint": ("确认时可不填；驳回时必填。", "Leave empty to confirm; required to reject."),
        "honours_confirm": ("确认授予", "Confirm"),
        "honours_reject": ("驳回", "Reject"),
        "honour_confirmed": ("已确认该候选人的表彰。", "The award is confirmed."),
        "honour_rejected": ("已驳回该候选人的表彰。", "The award is rejected."),
        "honours_no_candidates": ("本周期没有候选人。", "No candidates in this cycle."),
        "view_honours": ("表彰审核", "Honours review"),
        "home_honours_text": (
            "按血站或省份审核无偿献血奉献奖候选人。",
            "Review the Dedication Award candidates by station or province.",
        ),
    }
)

# Online claims and registered relatives: the review queues, decisions and volumes.
CONSOLE_MESSAGES.update(
    {
        "nav_claims": ("线上申请", "Claims"),
        "claims_queue_title": ("线上申请审核", "Claims to review"),
        "relatives_queue_title": ("亲属登记审核", "Relatives to review"),
        "claim_volumes_title": ("申请量与办理时长", "Claim volumes and time to decision"),
        "claim": ("申请", "Claim"),
        "share_status": ("状态", "Status"),
        "all": ("全部", "All"),
        "only_overdue": ("只看逾期", "Overdue only"),
        "filter": ("筛选", "Filter"),
        "planned_yuan": ("应付（元）", "Due to pay (yuan)"),
        "approved_yuan": ("已批准（元）", "Approved (yuan)"),
        "billed_yuan": ("费用（元）", "Billed (yuan)"),
        "due_at": ("办结期限（UTC）", "Due (UTC)"),
        "overdue_badge": ("逾期", "Overdue"),
        "escalated": ("已提请督办", "Escalated"),
        "no_claims": ("没有符合条件的申请。", "No claim matches."),
        "no_relatives": ("没有待审核的登记。", "No registration here."),
        "shares": ("分摊", "Shares"),
        "decide": ("审核决定", "Decision"),
        "decision": ("决定", "Decision"),
        "decision_approve": ("批准", "Approve"),
        "decision_reject": ("不予批准", "Reject"),
        "decision_need_info": ("要求补充材料", "Ask for more"),
        "decision_message": (
            "理由或说明（不予批准和要求补充时必填）",
            "Reason (required to reject or ask for more)",
        ),
        "payout_reference": ("付款流水号（批准时）", "Payout reference (bank transfer id)"),
        "decision_recorded": ("决定已记录。", "The decision is recorded."),
        "median_decision": ("办理时长中位数", "Median time to decision"),
        "national_total": ("全国", "National"),
        "province_code": ("付费省份代码（2 位）", "Paying province (2 digits)"),
    }
)

ALL_MESSAGES = {**MESSAGES, **CONSOLE_MESSAGES}


@dataclass(frozen=True, slots=True)
class ConsoleWords(Words):
    """The pages' Words, with the console's own messages and formats."""

    def __call__(self, key: str, **values: object) -> str:
        """The message `key`, with `{name}` fields filled in."""
        pair = ALL_MESSAGES[key]
        text = pair[1] if self.lang == "en" else pair[0]
        return text.format(**values) if values else text

    def role(self, role: str) -> str:
        """The name of a console role."""
        return self(f"role_{role}") if f"role_{role}" in CONSOLE_MESSAGES else role

    def tier(self, tier: str) -> str:
        """The name of a station tier."""
        return self(f"tier_{tier}") if f"tier_{tier}" in CONSOLE_MESSAGES else tier

    def stamp(self, when: datetime | None) -> str:
        """A UTC time to the minute, `2026-11-27 08:30`."""
        return when.strftime("%Y-%m-%d %H:%M") if when else "—"

    def percent(self, share: float | None) -> str:
        """`12.5%`, or the no-data words."""
        return f"{share * 100:.1f}%" if share is not None else self("no_data")

    def delay(self, days: float | None) -> str:
        """`1.5 天` / `1.5 d`, or the no-data words."""
        return self("days", n=f"{days:.1f}") if days is not None else self("no_data")


def console_words(lang: str) -> ConsoleWords:
    """The console's words in a language, falling back to Chinese."""
    return ConsoleWords(lang if lang in LANGS else DEFAULT_LANG)
