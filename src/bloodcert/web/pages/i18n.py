"""The pages' words in Simplified Chinese (the default) and English, and how dates and amounts read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bloodcert.domain.donation_rules import kind_label, measured_in_units
from bloodcert.web.pages.notify_words import WORDS as NOTIFY_WORDS

DEFAULT_LANG = "zh"
LANGS = ("zh", "en")
HTML_LANG = {"zh": "zh-CN", "en": "en"}

# key: (Simplified Chinese, English)
MESSAGES: dict[str, tuple[str, str]] = {
    # frame
    "site_name": ("全国电子无偿献血证", "National e-Certificate of Blood Donation"),
    "site_short": ("电子献血证", "e-Certificate"),
    "skip": ("跳到正文", "Skip to content"),
    "switch_lang": ("English", "中文"),
    "switch_lang_label": ("Switch to English", "切换到简体中文"),
    "nav": ("主导航", "Main"),
    "nav_me": ("我的献血", "My donations"),
    "nav_verify": ("验证证书", "Verify"),
    "logout": ("退出登录", "Log out"),
    "footer": (
        "无偿献血，传递爱心。本平台只显示经过脱敏的证件号码。",
        "Thank you for giving blood. ID numbers are only ever shown masked.",
    ),
    # login
    "login_title": ("查询献血记录", "Your donation record"),
    "login_lead": (
        "查询您的无偿献血记录和电子献血证。",
        "See every voluntary blood donation you have made anywhere in China, and its certificate.",
    ),
    "id_type": ("证件类型", "ID type"),
    "id_number": ("证件号码", "ID number"),
    "name": ("姓名", "Name"),
    "name_hint": ("与献血时登记的姓名一致", "As registered when you donated"),
    "donation_no": ("献血编号", "Donation number"),
    "donation_no_hint": (
        "任意一次献血的编号，见纸质献血证或献血后收到的短信",
        "From any one of your donations: on the paper certificate or in the text message you received",
    ),
    "captcha": ("验证码", "Captcha"),
    "captcha_hint": ("请输入图中的 4 个字符，不区分大小写", "Type the 4 characters in the picture, any case"),
    "captcha_alt": ("验证码图片", "Captcha picture"),
    "captcha_new": ("换一张", "New picture"),
    "login_submit": ("登录查询", "Log in"),
    "login_failed": (
        "信息不匹配。请核对证件类型、证件号码、姓名和献血编号后重试。",
        "The details do not match a donation record. Check the ID type, ID number, name and donation "
        "number, and try again.",
    ),
    "login_missing": ("请填写全部四项信息。", "Please fill in all four fields."),
    "login_required": ("请先登录，或登录已过期。", "Please log in first; your session may have ended."),
    "captcha_required": (
        "为保护您的信息，请先输入验证码。",
        "To protect your record, please type the captcha first.",
    ),
    "captcha_wrong": (
        "验证码不正确或已过期，请输入新的验证码。",
        "The captcha was wrong or expired. Please type the new one.",
    ),
    "providers_title": ("其他登录方式", "Other ways to log in"),
    "provider_login": ("使用{label}登录", "Log in with {label}"),
    "login_error_provider": (
        "第三方登录没有完成。请重试，或使用证件信息和献血编号登录。",
        "The login with the other platform did not finish. Try again, or log in with your ID and "
        "donation number.",
    ),
    "login_error_no_record": (
        "没有找到与该实名身份对应的献血记录。请使用证件信息和献血编号登录。",
        "No donation record matches that verified identity. Log in with your ID and donation number.",
    ),
    "hero_point_1": ("全国各地的献血记录，一处查询", "Donations from every station, in one place"),
    "hero_point_2": ("献血后即时签发电子证书", "A certificate the moment you donate"),
    "hero_point_3": ("任何人都能扫码验证真伪", "Anyone can check it with a scan"),
    "privacy_note": (
        "您的信息只用于核对身份。页面上的证件号码只显示前3位和后4位。",
        "Your details are used only to check who you are. ID numbers are shown with only the first "
        "3 and last 4 characters.",
    ),
    "verify_cta": ("需要核验他人的献血证？", "Need to check someone's certificate?"),
    "verify_cta_link": ("前往验证", "Verify a certificate"),
    # demo platform
    "demo_title": ("演示实名认证", "Demo identity check"),
    "demo_lead": (
        "这是演示环境中的实名认证页面。真实部署中，这一步由支付宝、微信或百度完成。",
        "This page stands in for a real-name platform in the demo. In a real deployment, Alipay, "
        "WeChat or Baidu does this step.",
    ),
    "demo_submit": ("同意并登录", "Agree and log in"),
    "demo_cancel": ("取消", "Cancel"),
    # history
    "me_title": ("我的献血", "My donations"),
    "hello": ("{name}，您好", "Hello, {name}"),
    "under_review": (
        "您的证件号码另有一份登记的姓名或血型与您不同。这些记录在核对前分开保存，因此这里可能没有显示您的全部记录，"
        "也不会显示他人的记录。如需合并或更正，请携带身份证件联系为您采血的血站，或所在省份的血液中心。",
        "Your ID number was also registered with another name or blood type. Such records are kept apart "
        "until they are checked, so this page may not show all of yours, and never shows anyone else's. To "
        "have them merged or corrected, bring your ID document to the blood station that took your donation, "
        "or to your province's blood centre.",
    ),
    "summary": ("献血概况", "Summary"),
    "card_count": ("献血次数", "Donations"),
    "card_blood_type": ("血型", "Blood type"),
    "card_none": ("暂无献血量记录", "No amounts recorded yet"),
    "times": ("次", ""),
    "next_title": ("下次可献血日期", "When you may donate next"),
    "next_now": ("现在即可", "Now"),
    "next_note": (
        "依据 GB 18467-2011 规定的献血间隔计算；献血前仍需健康征询和检查。",
        "From the intervals in GB 18467-2011; a health check before each donation still decides.",
    ),
    "filters": ("筛选记录", "Filter"),
    "filter_on": ("已筛选", "Filtered"),
    "from": ("开始日期", "From"),
    "to": ("结束日期", "To"),
    "province": ("省份", "Province"),
    "city": ("城市", "City"),
    "county": ("区县", "County"),
    "all_provinces": ("全部省份", "All provinces"),
    "all_cities": ("全部城市", "All cities"),
    "all_counties": ("全部区县", "All counties"),
    "region_hint": (
        "选择省份后点“筛选”即可选择城市和区县。",
        "Choose a province and press Filter to choose a city and county.",
    ),
    "apply": ("筛选", "Apply"),
    "clear": ("清除筛选", "Clear"),
    "view": ("查看方式", "View"),
    "view_list": ("明细", "List"),
    "view_year": ("按年份", "By year"),
    "view_province": ("按省份", "By province"),
    "result": (
        "共 {count} 次献血",
        "{count} donations",
    ),
    "result_one": ("共 1 次献血", "1 donation"),
    "filter_invalid": ("筛选条件有误，已显示全部记录：", "The filter was not valid, so all donations show:"),
    "chart_title": ("每年献血次数", "Donations per year"),
    "chart_label": ("每年献血次数：{items}", "Donations per year: {items}"),
    "year": ("年份", "Year"),
    "group_count": ("次数", "Donations"),
    "list_title": ("献血记录", "Donations"),
    "none": ("没有符合条件的献血记录。", "No donation matches."),
    "station": ("采血机构", "Collected by"),
    "site": ("献血地点", "Site"),
    "view_certificate": ("查看献血证", "Certificate"),
    "view_certificate_label": ("查看 {date} 的献血证", "Certificate of {date}"),
    "no_certificate": ("证书待发放", "Certificate pending"),
    "test_pending": ("检测中", "Tests pending"),
    "test_unqualified": ("检测未合格", "Did not pass tests"),
    # certificate
    "cert_title": ("电子无偿献血证", "Blood donation certificate"),
    "back": ("返回献血记录", "Back to my donations"),
    "show": ("出示给核验人员", "Show to a verifier"),
    "download_pdf": ("下载 PDF", "Download PDF"),
    "download_svg": ("下载 SVG", "Download SVG"),
    "cert_verify_note": (
        "任何人都可以扫描证书上的二维码，在本平台的“验证证书”页面核验真伪，无需登录。",
        "Anyone can scan the QR code on this certificate and check it on the Verify page, without "
        "logging in.",
    ),
    "status_revoked": (
        "此证书已作废，不能作为献血证明使用。",
        "This certificate has been revoked and is no longer valid.",
    ),
    "status_superseded": (
        "此证书已被更正后的新证书取代。",
        "This certificate was replaced by a corrected one.",
    ),
    "cert_not_found": ("找不到这张献血证。", "No such certificate."),
    # show to verifier
    "show_title": ("请核验人员扫描", "For the verifier to scan"),
    "show_hint": (
        "请将屏幕亮度调到最高，对准核验人员的扫码设备。",
        "Turn the screen brightness up and hold it to the verifier's scanner.",
    ),
    "show_qr_label": ("献血证二维码，证书编号 {no}", "Certificate QR code, number {no}"),
    "fullscreen": ("全屏", "Full screen"),
    "done": ("完成", "Done"),
    # verify
    "verify_title": ("验证献血证真伪", "Verify a blood donation certificate"),
    "verify_lead": (
        "扫描或粘贴电子无偿献血证上的二维码内容，立即核验是否由本平台签发且仍然有效。无需登录。",
        "Scan or paste the QR code of an electronic blood donation certificate to check that this "
        "platform issued it and that it is still valid. No login needed.",
    ),
    "scan": ("扫描二维码", "Scan QR code"),
    "scan_stop": ("停止扫描", "Stop scanning"),
    "upload": ("上传照片", "Upload a photo"),
    "scan_status_idle": ("", ""),
    "scan_looking": ("请将二维码置于取景框内……", "Point the camera at the QR code…"),
    "scan_no_camera": (
        "无法打开摄像头。请允许使用摄像头，或上传照片、粘贴内容。",
        "The camera could not start. Allow camera access, or upload a photo or paste the text.",
    ),
    "scan_no_code": (
        "照片中未找到二维码。请靠近拍摄、保持清晰后重试。",
        "No QR code was found in the photo. Try again closer and in focus.",
    ),
    "scan_found": ("已识别二维码，正在验证……", "QR code found, verifying…"),
    "qr_label": ("二维码内容", "QR code text"),
    "qr_hint": ("以 BC1: 开头的一串字符", "A text that starts with BC1:"),
    "verify_submit": ("验证", "Verify"),
    "verify_empty": ("请先扫描、上传或粘贴二维码内容。", "Scan, upload or paste a QR code first."),
    "result_title": ("核验结果", "Result"),
    "valid": ("有效", "Valid"),
    "valid_lead": (
        "这是一张由本平台签发、当前有效的电子无偿献血证。请核对持证人身份。",
        "This is a genuine, currently valid certificate issued by this platform. Check the holder's ID.",
    ),
    "invalid": ("无效", "Not valid"),
    "reason_malformed": (
        "无法识别：这不是完整的献血证二维码，内容可能被截断或改动。",
        "Not readable: this is not a complete certificate code; it may be cut short or altered.",
    ),
    "reason_unknown_key": (
        "无法确认签发者：签名密钥不在本平台的信任列表中。",
        "Unknown issuer: the signing key is not on this platform's trust list.",
    ),
    "reason_bad_signature": (
        "签名不符：证书内容已被改动，或并非由本平台签发。",
        "Bad signature: the content was altered, or this platform did not issue it.",
    ),
    "reason_revoked": (
        "已作废：采血机构已撤销或更正了这张证书。",
        "Revoked: the blood station withdrew or corrected this certificate.",
    ),
    "reason_key_expired": (
        "签名密钥已过期：请持证人重新获取证书。",
        "The signing key has expired: ask the holder for a current certificate.",
    ),
    "reason_unknown": ("无法验证这张证书。", "This certificate could not be verified."),
    "verify_again": ("验证另一张", "Verify another"),
    "holder": ("持证人", "Holder"),
    "masked_id": ("证件号码", "ID number"),
    "cert_no": ("证书编号", "Certificate No."),
    "donated_on": ("献血日期", "Date of donation"),
    "kind": ("献血种类", "Type"),
    "amount": ("献血量", "Amount"),
    # errors
    "error_title": ("出错了", "Something went wrong"),
    "error_csrf": (
        "页面已过期，请返回后刷新页面再试。",
        "This page has expired. Go back, reload the page and try again.",
    ),
    "error_not_found": ("找不到您要的页面。", "The page was not found."),
    "error_generic": ("请求未能完成，请稍后再试。", "The request could not be completed. Please try again."),
    "pending_title": ("证书签发中", "Certificate being issued"),
    "error_certificate_pending": (
        "这次献血已经登记，证书编号也已分配，证书正在签发。签发完成后即可在这里查看和出示，请稍后再来。",
        "This donation is recorded and its certificate number assigned; the certificate is being issued. "
        "Once it is signed you can view and show it here. Please come back later.",
    ),
    "back_to_history": ("返回献血记录", "Back to my donations"),
    "home": ("返回首页", "Home"),
    # honours
    "honours_title": ("荣誉与公益时", "Honours and volunteer hours"),
    "honours_next": ("再献 {n} 次可获{award}", "{n} more donations for the {award}"),
    "honours_hours": ("志愿服务时长 {hours} 小时", "{hours} volunteer hours"),
    "honours_more": ("荣誉卡、公益时与优待", "Honour card, volunteer hours and perks"),
    "honours_none": ("暂无表彰", "No award yet"),
    "honours_note": (
        "依据全国无偿献血表彰奖励办法（2022）计算；血站审核后授予。",
        "Computed by the 2022 national commendation rules; a station reviews each award before it is given.",
    ),
    "award_bronze": ("奉献奖铜奖", "Dedication Award, bronze"),
    "award_silver": ("奉献奖银奖", "Dedication Award, silver"),
    "award_gold": ("奉献奖金奖", "Dedication Award, gold"),
    "award_lifetime": ("终身荣誉奖", "Lifetime Honour"),
    "award_candidate": ("待审核", "pending review"),
    "award_confirmed": ("已授予", "awarded"),
    "perks_title": ("各地优待", "Local perks"),
    "perk_reached": ("已达到", "Reached"),
    "perk_not_reached": ("未达到", "Not yet"),
    "card_title": ("献血荣誉卡", "Honour card"),
    "card_lead": (
        "在景区、公交或医院出示此二维码；有效期短，过期后在此重新生成。",
        "Show this code at a scenic spot, on a bus or at a hospital; it is valid briefly, so open this "
        "page again for a fresh one.",
    ),
    "card_valid_until": ("有效期至 {when}", "Valid until {when}"),
    "card_show": ("全屏出示", "Show full screen"),
    "hours_statement": ("公益时证明（PDF）", "Volunteer hours statement (PDF)"),
    "hours_csv": ("导出志愿服务记录（CSV）", "Export for the volunteer registry (CSV)"),
    "reason_expired": (
        "已过有效期，请持有人重新出具。",
        "It has expired: ask its holder for a fresh one.",
    ),
    "statement_title": ("无偿献血志愿服务时长证明", "Statement of volunteer service hours"),
    "statement_hours": ("志愿服务时长", "Volunteer hours"),
    "statement_donations": ("计入献血次数", "Donations counted"),
    "statement_period": ("献血期间", "Period"),
    "statement_by_table": ("按折算标准", "By conversion table"),
    "statement_issued": ("出具时间", "Issued"),
    "statement_valid_until": ("有效期至", "Valid until"),
    "card_highest": ("最高表彰", "Highest award"),
    "card_perks": ("可享优待", "Perks"),
    "card_hours": ("志愿服务时长", "Volunteer hours"),
    "honour_none": ("无", "None"),
    # sites and booking
    "nav_sites": ("献血点", "Donation sites"),
    "nav_scorecards": ("血站信息公开", "Stations in public"),
    "nav_corrections": ("纠错与补录", "Corrections"),
    "corrections_link": (
        "记录有误或缺少献血记录？纠错与补录",
        "A record wrong or missing? Corrections and back-fills",
    ),
    "corrections_title": ("纠错与补录", "Corrections and missing donations"),
    "corrections_lead": (
        "记录有误，或有献血未被记录？在这里告诉献血的血站。血站须在 15 天内答复，逾期由省级管理员督办。",
        "A record is wrong, or a donation is missing? Tell the station here. It must answer within 15 days; "
        "past that, the province's administrators follow it up.",
    ),
    "corrections_mine": ("我的申请", "My requests"),
    "corrections_none": ("还没有申请。", "No request yet."),
    "correction_filed": (
        "申请已提交，血站会在期限内答复。",
        "Your request is filed; the station will answer in time.",
    ),
    "correction_replied": (
        "已补充说明，申请重新进入处理。",
        "Your answer is sent; the request is open again.",
    ),
    "correction_incomplete": ("申请未能提交：", "The request could not be filed:"),
    "correction_kind_wrong_record": ("记录有误", "A record is wrong"),
    "correction_kind_missing_donation": ("补录：有献血未被记录", "A donation is missing"),
    "correction_status_open": ("处理中", "Open"),
    "correction_status_need_info": ("需要您补充信息", "The station asks you something"),
    "correction_status_resolved": ("已解决", "Resolved"),
    "correction_status_rejected": ("未予处理", "Rejected"),
    "correction_status_escalated": ("已逾期，省级督办中", "Overdue, followed up by the province"),
    "correction_due": ("答复期限：{day}", "Due: {day}"),
    "correction_resolved_with": ("对应献血记录：{no}", "The record: {no}"),
    "correction_author_donor": ("我", "Me"),
    "correction_author_station": ("血站", "Station"),
    "correction_author_staff": ("管理员", "Administrator"),
    "correction_author_system": ("系统", "System"),
    "correction_reply": ("回复血站的问题", "Answer the station"),
    "correction_send_reply": ("发送", "Send"),
    "correction_which_donation": ("哪一次献血", "Which donation"),
    "correction_which_field": ("哪一项有误", "What is wrong"),
    "correction_proposed": ("应为", "What it should be"),
    "correction_message": ("说明", "Tell us more"),
    "correction_submit": ("提交申请", "File the request"),
    "correction_missing_hint": (
        "如实填写献血日期和地点；有纸质献血证的，请在说明中写明证号。不清楚是哪个血站的，选择省份即可，由该省血液中心处理。",
        "Give the day and the place; if you have the paper certificate, write its number in the message. If "
        "you do not know the station, choose the province: its blood centre will take it.",
    ),
    "correction_donated_on": ("献血日期", "Day of the donation"),
    "correction_station": ("血站", "Station"),
    "correction_station_unknown": ("不清楚（按省份）", "Not sure (by province)"),
    "correction_province": ("省份", "Province"),
    "correction_site": ("献血地点", "Where"),
    "correction_volume": ("献血量（毫升）", "Volume (ml)"),
    "correction_field_kind": ("申请类型", "Kind"),
    "correction_field_message": ("说明", "Message"),
    "correction_field_donation_no": ("献血编号", "Donation number"),
    "correction_field_field": ("有误的项", "Field"),
    "correction_field_proposed": ("应为", "Should be"),
    "correction_field_station_code": ("血站", "Station"),
    "correction_field_region": ("省份", "Province"),
    "correction_field_donated_on": ("献血日期", "Day"),
    "correction_field_site": ("献血地点", "Where"),
    "correction_field_volume_ml": ("献血量", "Volume"),
    "correction_field_donated_at": ("献血时间", "Time of donation"),
    "correction_field_units": ("治疗量", "Units"),
    "correction_field_test_result": ("检测结果", "Test result"),
    "correction_field_donor.name": ("姓名", "Name"),
    "correction_field_donor.sex": ("性别", "Sex"),
    "correction_field_donor.birth_date": ("出生日期", "Birth date"),
    "correction_field_donor.abo": ("ABO 血型", "ABO type"),
    "correction_field_donor.rhd": ("RhD 血型", "RhD type"),
    "correction_field_other": ("其他", "Other"),
    "correction_field_photo": ("照片", "Photo"),
    "correction_photo": ("纸质献血证照片（可选）", "Photo of the paper certificate (optional)"),
    "correction_photo_hint": ("JPEG 或 PNG，不超过 1 MB。", "A JPEG or PNG of at most 1 MB."),
    "correction_photo_attached": ("已附纸质献血证照片", "Photo of the paper certificate attached"),
    "report_wrong_record": ("记录有误", "Something wrong?"),
    "scorecards_title": ("血站信息公开", "Blood stations in public"),
    "scorecards_lead": (
        "各血站近 12 个月的报送质量：献血量、报送延迟、退回率，以及献血者纠错与补录申请的处理情况。",
        "How each station kept its records over the last 12 months: donations, reporting delay, "
        "rejections, and how it answered donors' correction and back-fill requests.",
    ),
    "scorecards_note": (
        "数据由平台根据报送记录自动计算，每 5 分钟更新，不含任何个人信息。延迟以天计。",
        "Computed by the platform from the records reported, updated every 5 minutes, with no personal "
        "data. Delays are in days.",
    ),
    "scorecards_none": ("没有符合条件的血站。", "No station matches."),
    "scorecard_station": ("血站", "Station"),
    "scorecard_region": ("地区", "Region"),
    "scorecard_donations": ("近 12 个月献血次数", "Donations, 12 months"),
    "scorecard_median_delay": ("报送延迟中位数（天）", "Median reporting delay (days)"),
    "scorecard_p90_delay": ("报送延迟 90 分位（天）", "90th percentile delay (days)"),
    "scorecard_rejection_rate": ("退回率", "Rejection rate"),
    "scorecard_open_requests": ("未结申请", "Open requests"),
    "scorecard_overdue_requests": ("逾期申请", "Overdue requests"),
    "scorecard_resolve_days": ("申请办结中位天数", "Median days to close a request"),
    "scorecard_satisfaction": ("献血者满意度", "Donor satisfaction"),
    "scorecard_satisfaction_none": ("评价不足 5 份，暂不公布", "Fewer than 5 answers: not published yet"),
    "scorecard_months": ("每月献血次数", "Donations per month"),
    "scorecard_month": ("月份", "Month"),
    "scorecard_donations_month": ("献血次数", "Donations"),
    "scorecard_sites": ("献血点", "Donation sites"),
    "scorecard_no_sites": ("尚未登记献血点。", "No donation site registered yet."),
    "sites_title": ("查找献血点", "Find a donation site"),
    "sites_lead": (
        "按地区或距离查找献血屋、献血车和团体献血点。",
        "Find donation centres, blood buses and group drives by region or distance.",
    ),
    "sites_region": ("省份", "Province"),
    "sites_any_region": ("全国", "All of China"),
    "sites_open_on": ("开放日期", "Open on"),
    "sites_near": ("我的位置（纬度,经度）", "My position (lat,lon)"),
    "sites_near_hint": (
        "允许定位后自动填写；也可留空。",
        "Filled in when you allow location; may stay empty.",
    ),
    "sites_search": ("查找", "Search"),
    "compass_N": ("北", "north"),
    "compass_NE": ("东北", "north-east"),
    "compass_E": ("东", "east"),
    "compass_SE": ("东南", "south-east"),
    "compass_S": ("南", "south"),
    "compass_SW": ("西南", "south-west"),
    "compass_W": ("西", "west"),
    "compass_NW": ("西北", "north-west"),
    "sites_locate": ("使用我的位置", "Use my location"),
    "sites_none": ("没有符合条件的献血点。", "No site matches."),
    "sites_hours": ("开放时间", "Opening hours"),
    "sites_closed": ("当天不开放", "Closed that day"),
    "sites_away": ("在您{bearing}方 {distance} 公里", "{distance} km {bearing} of you"),
    "sites_slots": ("可预约时段", "Slots"),
    "sites_no_slots": ("这一天没有可预约的时段。", "No slots on this day."),
    "sites_free": ("剩余 {free} / {capacity}", "{free} of {capacity} free"),
    "sites_full": ("已约满", "Full"),
    "sites_book": ("预约", "Book"),
    "sites_kind": ("献血类型", "Kind of donation"),
    "sites_login_to_book": ("登录后即可预约。", "Log in to book."),
    "sites_show_day": ("查看", "Show"),
    "book_slot_full": ("这个时段已约满，请选择其他时段。", "This slot is full; please choose another."),
    "book_not_eligible": (
        "按献血间隔规定，您从 {day} 起才可以预约此类献血。",
        "The donation intervals allow this kind of donation from {day}.",
    ),
    "book_too_young": (
        "年满 18 周岁方可献血，您从 {day} 起可以预约。",
        "Donors must be 18 or older: you can book from {day}.",
    ),
    "book_too_old": (
        "按国家标准，献血年龄上限为 55 周岁；多次献血且无不良反应者可延至 60 周岁。感谢您一直以来的爱心。",
        "The national standard sets the upper age for donating at 55, or 60 for a repeat donor who never "
        "had an adverse reaction. Thank you for all you have given.",
    ),
    "book_already": (
        "您已有一个待完成的预约，请先改约或取消。",
        "You already have an upcoming booking: move or cancel it first.",
    ),
    "book_closed": ("这个时段已过。", "This slot has passed."),
    "nav_appointments": ("我的预约", "My bookings"),
    "appointments_title": ("我的预约", "My bookings"),
    "appointments_none": ("还没有预约。", "No bookings yet."),
    "appointments_no_shows": ("未到次数：{count}", "Missed bookings: {count}"),
    "appointment_cancel": ("取消预约", "Cancel booking"),
    "status_booked": ("已预约", "Booked"),
    "status_cancelled": ("已取消", "Cancelled"),
    "status_attended": ("已到场", "Attended"),
    "status_no_show": ("未到", "Missed"),
}

ID_TYPE_NAMES = {
    "resident_id": ("居民身份证", "Resident ID card"),
    "passport": ("护照", "Passport"),
    "hk_macao_permit": ("港澳居民来往内地通行证", "Mainland Travel Permit for HK/Macao residents"),
    "taiwan_permit": ("台湾居民来往大陆通行证", "Mainland Travel Permit for Taiwan residents"),
    "foreign_permanent_resident": ("外国人永久居留身份证", "Foreign Permanent Resident ID card"),
    "hmt_residence_permit": ("港澳台居民居住证", "Residence Permit for HK/Macao/Taiwan residents"),
    "military": ("军人身份证件", "Military ID"),
    "other": ("其他证件", "Other document"),
}
SITE_TYPES = {
    "fixed": ("献血屋", "Donation centre"),
    "mobile": ("献血车", "Blood bus"),
    "group": ("团体", "Group"),
}
RHD_NAMES = {"positive": ("RhD阳性", "RhD positive"), "negative": ("RhD阴性", "RhD negative")}
EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


@dataclass(frozen=True, slots=True)
class Words:
    """The words and formats of one language, as templates call them: `t('key')`, `t.date(day)`."""

    lang: str

    @property
    def html_lang(self) -> str:
        """The BCP 47 tag for `<html lang>`."""
        return HTML_LANG[self.lang]

    def __call__(self, key: str, **values: object) -> str:
        """The message `key`, with `{name}` fields filled in."""
        text = _pick(MESSAGES[key], self.lang)
        return text.format(**values) if values else text

    def date(self, day: date) -> str:
        """`2024年5月1日` or `1 May 2024`."""
        if self.lang == "en":
            return f"{day.day} {EN_MONTHS[day.month - 1]} {day.year}"
        return f"{day.year}年{day.month}月{day.day}日"

    def kind(self, kind: str) -> str:
        """The name of a kind of donation, from the one vocabulary in domain/donation_rules.py."""
        return kind_label(kind, self.lang)

    def id_type(self, id_type: str) -> str:
        """The name of an ID document type."""
        return _pick(ID_TYPE_NAMES[id_type], self.lang) if id_type in ID_TYPE_NAMES else id_type

    def site_type(self, site_type: str) -> str:
        """Fixed site, blood bus or group drive."""
        return _pick(SITE_TYPES[site_type], self.lang) if site_type in SITE_TYPES else site_type

    def ml(self, volume: int) -> str:
        """`400 毫升` or `400 ml`."""
        return f"{volume} ml" if self.lang == "en" else f"{volume} 毫升"

    def units(self, units: int) -> str:
        """Therapeutic units of platelets (治疗量)."""
        if self.lang == "en":
            return f"{units} unit" + ("" if units == 1 else "s")
        return f"{units} 个治疗量"

    def amount(self, kind: str, volume_ml: int | None, units: int | None) -> str:
        """What one donation gave: ml for whole blood and plasma, units for platelets."""
        if kind == "platelets" and units is not None:
            return self.units(units)
        if volume_ml is not None:
            return self.ml(volume_ml)
        return self.units(units) if units is not None else "—"

    def unit_of(self, kind: str) -> str:
        """The unit a kind's totals are counted in: 毫升 / ml, or 个治疗量 / units for platelets."""
        if measured_in_units(kind):
            return "units" if self.lang == "en" else "个治疗量"
        return "ml" if self.lang == "en" else "毫升"

    def total(self, kind: str, amount: int) -> str:
        """A total of one kind with its name: `单采血浆 600 毫升`, `Apheresis platelets 3 units`."""
        return f"{self.kind(kind)} {self.units(amount) if measured_in_units(kind) else self.ml(amount)}"

    def blood_type(self, abo: str, rhd: str | None) -> str:
        """`A型 RhD阳性` or `A RhD positive`; the RhD part only when it was tested."""
        abo_text = abo if self.lang == "en" else f"{abo}型"
        return f"{abo_text} {self.rhd(rhd)}".strip()

    def rhd(self, rhd: str | None) -> str:
        """`RhD阳性` or `RhD positive`; empty when RhD was not tested."""
        return _pick(RHD_NAMES[rhd], self.lang) if rhd in RHD_NAMES else ""

    def reason(self, reason: str) -> str:
        """Why a certificate did not verify, in plain words."""
        key = f"reason_{reason}"
        return self(key) if key in MESSAGES else self("reason_unknown")

    def pass_reason(self, reason: str) -> str:
        """Why a donation pass did not verify, in plain words."""
        key = f"pass_reason_{reason}"
        return self(key) if key in MESSAGES else self.reason(reason)

    def count(self, count: int) -> str:
        """`共 3 次献血` or `3 donations`."""
        return self("result_one") if count == 1 else self("result", count=count)


def words(lang: str) -> Words:
    """The Words of a language code, falling back to Chinese."""
    return Words(lang if lang in LANGS else DEFAULT_LANG)


# The blood-fee waiver entitlements page (用血权益).
MESSAGES.update(
    {
        "ent_title": ("用血权益", "Blood-fee waiver"),
        "ent_link": ("查看用血权益（血费减免）", "Your blood-fee waiver entitlements"),
        "ent_lead": (
            "您和家人临床用血时，可按献血所在地的规定减免血费，在医院出院结算时直接减免。",
            "When you or your family are transfused, the blood fee is waived under the rules of the place "
            "where you donated, directly at the hospital's discharge counter.",
        ),
        "ent_as_of": ("截至 {day}", "As of {day}"),
        "ent_none": (
            "暂无可用的用血权益：献血所在地尚无减免规则，或尚无有效献血记录。",
            "No entitlement yet: no valid donation in a place whose waiver rules are on this platform.",
        ),
        "ent_pool_self": ("本人", "For you"),
        "ent_pool_relatives": ("亲属（共享）", "Your relatives (shared)"),
        "ent_unlimited": ("不限量", "Unlimited"),
        "ent_entitled": ("可减免", "Entitled"),
        "ent_drawn": ("已使用", "Used"),
        "ent_remaining": ("剩余", "Left"),
        "ent_covered": ("可享受的亲属", "Relatives covered"),
        "ent_rule": ("适用规则", "Rule"),
        "ent_waivers": ("减免记录", "Waivers drawn"),
        "ent_no_waivers": ("尚无减免记录。", "No waiver has been drawn yet."),
        "ent_reversed": ("已撤销", "Reversed"),
        "ent_hospital": ("医院", "Hospital"),
        "ent_transfused": ("用血日期", "Transfused on"),
        "ent_for": ("用血人", "For"),
        "ent_waived": ("减免", "Waived"),
        "ent_yuan": ("{yuan} 元", "¥{yuan}"),
        "rel_self": ("本人", "yourself"),
        "rel_spouse": ("配偶", "spouse"),
        "rel_parent": ("父母", "parents"),
        "rel_child": ("子女", "children"),
        "rel_sibling": ("兄弟姐妹", "siblings"),
        "rel_grandparent": ("祖父母、外祖父母", "grandparents"),
        "rel_spouse_parent": ("配偶的父母", "spouse's parents"),
    }
)

# The health check before donating (献血前健康征询) and the donation pass.
MESSAGES.update(
    {
        "hc_title": ("献血前健康征询", "Health questions before donating"),
        "hc_lead": (
            "到达献血点前，在手机上回答以下问题，可节省现场等候时间。您的回答只有献血点所属血站可以看到。",
            "Answer these questions on your phone before you arrive and save time at the site. Only the "
            "blood station that runs the site sees your answers.",
        ),
        "hc_for_booking": ("本次预约：{site} {day} {time}", "For your booking: {site}, {day} at {time}"),
        "hc_for_walk_in": ("现场献血：{site}", "Walking in to {site}"),
        "hc_none": (
            "今天没有预约。请先预约今天的时段，或在献血点页面选择“现场献血”。",
            "You have no booking today. Book a slot for today, or choose “walk in” on a site's page.",
        ),
        "hc_walk_in": ("现场献血？先回答健康征询", "Walking in? Answer the health questions first"),
        "hc_start": ("回答健康征询", "Answer the health questions"),
        "hc_yes": ("是", "Yes"),
        "hc_no": ("否", "No"),
        "hc_submit": ("提交", "Submit"),
        "hc_note": (
            "献血点的医生仍会与您当面交流，这里的回答不能代替现场检查。",
            "The doctor at the site will still talk with you; these answers do not replace that.",
        ),
        "hc_not_today": (
            "健康征询只能在预约当天回答。",
            "The health questions are answered on the day of the booking.",
        ),
        "hc_site_closed": ("这个献血点今天不开放。", "This site takes no donors today."),
        "hc_incomplete": ("请回答每一个问题。", "Please answer every question."),
        "hc_deferred_title": ("今天先不献血", "Not today"),
        "hc_deferred_lead": (
            "谢谢您如实回答。为了您和受血者的安全，今天暂不适合献血：",
            "Thank you for answering honestly. For your safety and the patient's, today is not the day:",
        ),
        "hc_come_back": ("{day} 起欢迎您再来。", "You are welcome again from {day}."),
        "hc_permanent": (
            "根据您的回答，不建议您献血。感谢您的爱心；如有疑问，请与献血点的医生聊一聊。",
            "From your answers, donating is not advised. Thank you for your kindness; if unsure, please talk "
            "with the doctor at the site.",
        ),
        "hc_manage_booking": ("调整或取消预约", "Move or cancel the booking"),
        "hc_answer_again": ("重新回答", "Answer again"),
        "hc_passed": ("已完成健康征询", "Health questions done"),
        "hc_show_pass": ("出示献血通行码", "Show the donation pass"),
        "pass_title": ("献血通行码", "Donation pass"),
        "pass_lead": (
            "到达献血点后请向工作人员出示此码。今日有效；如重新回答或取消预约，此码作废。",
            "Show this code to the staff when you arrive. It is valid today; answering again or cancelling "
            "the booking ends it.",
        ),
        "pass_valid_lead": (
            "持码人今天已完成献血前健康征询，且没有需要暂缓献血的回答。请核对持码人身份。",
            "The holder answered the health questions today with no answer that defers. "
            "Check the holder's ID.",
        ),
        "pass_site": ("献血点", "Site"),
        "pass_day": ("日期", "Day"),
        "pass_walk_in": ("现场献血", "walk-in"),
        "pass_reason_expired": (
            "此通行码已过期（只在当天有效），请献血者重新回答健康征询。",
            "This pass has expired (it is valid on its day only): ask the donor to answer the questions "
            "again.",
        ),
        "pass_reason_revoked": (
            "此通行码已作废：献血者重新回答了健康征询，或取消了预约。",
            "This pass is no longer in force: the donor answered again or cancelled the booking.",
        ),
        "pass_none": (
            "今天还没有有效的献血通行码，请先回答健康征询。",
            "No pass in force today: answer the health questions first.",
        ),
    }
)

# Registered relatives and online claims (登记亲属, 线上申请).
MESSAGES.update(
    {
        "claims_link": ("线上申请血费报销", "Claim a blood fee online"),
        "relatives_link": ("登记亲属", "Registered relatives"),
        "relatives_title": ("登记亲属", "Registered relatives"),
        "relatives_lead": (
            "登记一次，经献血最多的血站审核通过后，亲属在任何医院用血都无需再次提供关系证明。",
            "Register a relative once: after the station that holds most of your donations approves, "
            "no hospital asks for proof of the relationship again.",
        ),
        "relatives_none": ("尚未登记亲属。", "No relative registered yet."),
        "relatives_add": ("登记新的亲属", "Register a relative"),
        "relationship": ("关系", "Relationship"),
        "proof": (
            "关系证明（户口簿、结婚证、出生证明或公安证明）",
            "Proof of kinship (household register, marriage or birth certificate, police letter)",
        ),
        "file_hint": ("PDF、JPEG 或 PNG，每个不超过 10 MB", "PDF, JPEG or PNG, up to 10 MB each"),
        "submit": ("提交", "Submit"),
        "remove": ("删除", "Remove"),
        "reviewed_by": ("审核血站", "Reviewed by"),
        "status": ("状态", "Status"),
        "answer": ("补充材料", "Answer"),
        "answer_message": ("回复说明", "Your answer"),
        "more_files": ("补充文件（可选）", "More documents (optional)"),
        "rstatus_pending": ("审核中", "Under review"),
        "rstatus_approved": ("已通过", "Approved"),
        "rstatus_rejected": ("未通过", "Rejected"),
        "rstatus_need_info": ("需补充材料", "More needed"),
        "claims_title": ("线上申请", "Online claims"),
        "claims_lead": (
            "医院未能直接减免时，在这里提交发票和费用清单，由献血地血站审核并支付。",
            "When the hospital did not waive the fee, file the invoice and the itemised bill here: the "
            "station where the blood was donated reviews and pays.",
        ),
        "claims_none": ("尚无申请。", "No claim yet."),
        "claims_new": ("新的申请", "New claim"),
        "beneficiary": ("用血人", "Patient"),
        "hospital": ("医院", "Hospital"),
        "hospital_registered": ("已接入的医院", "A connected hospital"),
        "hospital_other": ("其他医院（请填写名称和所在地区）", "Another hospital (name and region)"),
        "hospital_name": ("医院名称", "Hospital name"),
        "hospital_region": ("医院所在区县代码（6 位）", "Hospital's county code (6 digits)"),
        "invoice_no": ("发票号码", "Invoice number"),
        "transfused_on": ("用血日期", "Transfused on"),
        "component": ("血液成分", "Component"),
        "component_red_cells": ("红细胞", "Red cells"),
        "component_whole_blood": ("全血", "Whole blood"),
        "component_plasma": ("血浆", "Plasma"),
        "component_platelets": ("血小板", "Platelets"),
        "component_cryoprecipitate": ("冷沉淀", "Cryoprecipitate"),
        "volume_ml": ("用量（毫升）", "Volume (ml)"),
        "units_field": ("治疗量（血小板）", "Units (platelets)"),
        "amount_yuan": ("费用（元）", "Cost (yuan)"),
        "invoice_file": ("发票", "Invoice"),
        "bill_file": ("费用清单", "Itemised bill"),
        "quote": ("试算可报销金额", "See what would be paid"),
        "quote_result": ("预计可报销 {yuan} 元（{ml} 毫升）", "Expected: ¥{yuan} ({ml} ml)"),
        "quote_none": ("按现有规则无法报销。", "Nothing can be paid under the rules."),
        "claim_status_submitted": ("已提交", "Submitted"),
        "claim_status_in_review": ("审核中", "In review"),
        "claim_status_need_info": ("需补充材料", "More needed"),
        "claim_status_approved": ("已批准", "Approved"),
        "claim_status_partly_approved": ("部分批准", "Partly approved"),
        "claim_status_rejected": ("未批准", "Rejected"),
        "share_of": ("{station}（{province}）", "{station} ({province})"),
        "due": ("办结期限 {day}", "Due {day}"),
        "overdue": ("已逾期，已提请省级管理员督办", "Overdue: raised with the province's administrator"),
        "timeline": ("办理进度", "Timeline"),
        "event_submitted": ("提交申请", "Filed"),
        "event_approved": ("血站批准", "Approved by the station"),
        "event_rejected": ("血站未批准", "Rejected by the station"),
        "event_need_info": ("血站要求补充材料", "The station asked for more"),
        "event_answered": ("已补充材料", "You answered"),
        "event_escalated": ("逾期督办", "Escalated as overdue"),
        "documents": ("材料", "Documents"),
        "doc_invoice": ("发票", "Invoice"),
        "doc_itemised_bill": ("费用清单", "Itemised bill"),
        "doc_other": ("其他材料", "Other document"),
        "doc_proof": ("关系证明", "Proof of kinship"),
        "paid": ("已支付 {yuan} 元，转账编号 {ref}", "Paid ¥{yuan}, transfer {ref}"),
        "claim_error_invoice_conflict": (
            "这张发票已经减免或申请过，不能重复报销。",
            "This invoice was already waived or claimed: it cannot be paid twice.",
        ),
        "claim_error_not_eligible": ("按现有规则无法报销。", "Nothing can be paid under the rules."),
        "claim_error_files": (
            "文件只能是 PDF、JPEG 或 PNG，每个不超过 10 MB，最多 5 个。",
            "Files must be PDF, JPEG or PNG, up to 10 MB each and 5 in all.",
        ),
        "claim_error_form": ("请检查填写的内容。", "Please check the form."),
    }
)

MESSAGES.update(NOTIFY_WORDS)
