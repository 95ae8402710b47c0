"""The donor portal, the certificate and the public verifier, in Chromium at a phone's viewport."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from tests.browser.conftest import Site, new_phone_page
from tests.browser.helpers import (
    certificate_qr,
    decode_screenshot,
    fill_login,
    snap,
    verify_via_api,
)
from tests.factories import WANG_FANG

pytestmark = pytest.mark.browser

WANG_ID = WANG_FANG["id_number"]
LOGIN_FIELDS = ("id_type", "id_number", "name", "donation_no")


def items(page: Any) -> list[str]:
    """The donation numbers in the history list, top to bottom."""
    return [t.strip() for t in page.locator("ol.donations .donation-no .mono").all_inner_texts()]


def open_filters(page: Any) -> None:
    """Unfold the filter form (folded while no filter is on)."""
    if page.locator("details.filters-panel[open]").count() == 0:
        page.locator("details.filters-panel summary").click()


def apply_filters(page: Any) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="筛选", exact=True).click()


class TestLogin:
    def test_a_donor_logs_in_with_the_four_fields_and_sees_their_history(self, page: Any, site: Site) -> None:
        page.goto(site.url + "/")
        assert page.get_attribute("html", "lang") == "zh-CN"
        for field in LOGIN_FIELDS:
            assert page.locator(f"[name={field}]").count() == 1
            assert page.locator(f"label[for={field}]").count() == 1
        snap(page, "login")
        fill_login(page)
        with page.expect_navigation():
            page.get_by_role("button", name="登录查询").click()
        assert page.url == site.url + "/me"
        assert page.get_by_role("heading", name="王芳，您好").is_visible()
        cards = page.locator("dl.cards").inner_text()
        assert "10" in cards and "2700" in cards and "5" in cards and "RhD阳性" in cards
        assert "330***********1221" in page.content() and WANG_ID not in page.content()
        # The last whole-blood donation was five weeks ago: the next one may come in about five months.
        next_whole = page.locator(".next-dates div").first
        assert next_whole.locator("dt").inner_text() == "全血"
        assert date.fromisoformat(next_whole.locator("time").get_attribute("datetime")) > date.today()
        snap(page, "history")
        assert page.console_errors == []

    def test_wrong_details_get_one_plain_message_and_then_a_captcha(
        self, page: Any, fresh_site: Site, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        page.goto(fresh_site.url + "/")
        messages = set()
        for wrong in ({"donation_no": "ZJ00000000"}, {"name": "王方"}, {"id_number": "110105198503150043"}):
            fill_login(page, {**WANG_FANG, **wrong}, wrong.get("donation_no", "ZJ19041201"))
            page.get_by_role("button", name="登录查询").click()
            messages.add(page.get_by_role("alert").inner_text())
            assert page.locator("input[name=captcha_answer]").count() == 0
        # The same words whatever was wrong, and nothing that says which field it was.
        assert messages == {"信息不匹配。请核对证件类型、证件号码、姓名和献血编号后重试。"}
        monkeypatch.setattr("bloodcert.identity.captcha.new_answer", lambda: "K7TA")
        fill_login(page)
        page.get_by_role("button", name="登录查询").click()
        assert page.get_by_role("alert").inner_text() == "为保护您的信息，请先输入验证码。"
        image = page.get_by_role("img", name="验证码图片")
        assert image.get_attribute("src").startswith("data:image/png;base64,")
        # What was typed stays, except the captcha itself.
        assert page.input_value("input[name=id_number]") == WANG_ID
        assert page.input_value("input[name=donation_no]") == "ZJ19041201"
        assert page.input_value("input[name=captcha_answer]") == ""
        page.evaluate("window.scrollTo(0, document.querySelector('.login-panel').offsetTop - 64)")
        snap(page, "login-captcha")
        page.fill("input[name=captcha_answer]", "k7ta")
        with page.expect_navigation():
            page.get_by_role("button", name="登录查询").click()
        assert page.url == fresh_site.url + "/me"
        assert page.console_errors == []

    def test_the_demo_provider_logs_in_through_its_platform_page(self, page: Any, site: Site) -> None:
        page.goto(site.url + "/")
        button = page.get_by_role("link", name="演示登录 (demo)")
        assert button.get_attribute("href") == "/api/v1/auth/providers/demo/start"
        button.click()
        assert page.url.startswith(site.url + "/auth/demo?")
        page.fill("input[name=id_number]", WANG_ID)
        page.fill("input[name=name]", "王芳")
        with page.expect_navigation(url=site.url + "/me"):
            page.get_by_role("button", name="同意并登录").click()
        assert page.get_by_role("heading", name="王芳，您好").is_visible()
        assert page.console_errors == []

    def test_the_demo_platform_page_returns_only_to_our_callback(self, page: Any, site: Site) -> None:
        query = (
            "redirect_uri=https://evil.example/api/v1/auth/providers/demo/callback&state=s&code_challenge=c"
        )
        assert page.goto(site.url + "/auth/demo?" + query).status == 400

    def test_the_login_form_needs_its_csrf_token(self, page: Any, site: Site) -> None:
        page.goto(site.url + "/")
        body = dict.fromkeys(LOGIN_FIELDS, "x")
        assert page.request.post(site.url + "/", form=body).status == 403

    def test_logout_ends_the_session_and_needs_the_csrf_token(self, page: Any, site: Site) -> None:
        page.goto(site.url + "/")
        fill_login(page)
        with page.expect_navigation():
            page.get_by_role("button", name="登录查询").click()
        assert page.request.post(site.url + "/logout", form={}).status == 403
        page.reload()
        assert page.url == site.url + "/me"
        with page.expect_navigation():
            page.get_by_role("button", name="退出登录").click()
        assert page.url == site.url + "/"
        response = page.goto(site.url + "/me")
        assert response.status == 401 and page.locator("input[name=donation_no]").count() == 1

    def test_pages_behind_the_login_answer_401_with_the_login_form(self, page: Any, site: Site) -> None:
        for path in ("/me", "/me/certificates/2026000000000015", "/me/certificates/x?show=1"):
            response = page.goto(site.url + path)
            assert response.status == 401
            assert page.get_by_role("alert").inner_text() == "请先登录，或登录已过期。"
        # The form on that page logs in as the one at / does.
        fill_login(page)
        with page.expect_navigation():
            page.get_by_role("button", name="登录查询").click()
        assert page.url == site.url + "/me"


class TestHistory:
    def test_filters_by_date_range_and_by_province_city_and_county(self, page: Any, site: Site) -> None:
        site.log_in(page)
        page.goto(site.url + "/me")
        assert len(items(page)) == 10
        open_filters(page)
        page.fill("input[name=from]", "2022-01-01")
        page.fill("input[name=to]", "2023-12-31")
        apply_filters(page)
        assert items(page) == ["ZJ23061009", "BJ22092411", "ZJ22011505"]
        assert "共 3 次献血" in page.locator("#results-count").inner_text()
        page.get_by_role("link", name="清除筛选").click()
        assert len(items(page)) == 10
        open_filters(page)
        # JavaScript fills the city and county selects as the province and city are chosen.
        page.select_option("#province", "11")
        page.wait_for_selector("#city:not([disabled]) option[value='1101']", state="attached")
        page.select_option("#city", "1101")
        page.wait_for_selector("#county option[value='110105']", state="attached")
        page.select_option("#county", "110105")
        apply_filters(page)
        assert items(page) == ["BJ22092411"]
        assert "region=110105" in page.url
        page.select_option("#province", "33")
        apply_filters(page)
        assert len(items(page)) == 8
        snap(page, "history-filtered")
        assert page.console_errors == []

    def test_the_region_filter_works_without_javascript(self, browser: Any, site: Site) -> None:
        tab = new_phone_page(browser, java_script_enabled=False)
        site.log_in(tab)
        tab.goto(site.url + "/me")
        open_filters(tab)
        assert tab.locator("#city").is_disabled()
        tab.select_option("#province", "33")
        apply_filters(tab)
        assert len(items(tab)) == 8
        tab.select_option("#city", "3301")
        apply_filters(tab)
        assert len(items(tab)) == 7
        tab.select_option("#county", "330106")
        apply_filters(tab)
        assert len(items(tab)) == 6
        # A city left from another province is ignored rather than mixed in.
        tab.select_option("#province", "31")
        apply_filters(tab)
        assert items(tab) == ["SH21030602"]
        tab.context.close()

    def test_groups_by_year_and_by_province_with_a_chart_per_year(self, page: Any, site: Site) -> None:
        site.log_in(page)
        page.goto(site.url + "/me")
        chart = page.get_by_role("img", name=re.compile("每年献血次数"))
        assert "2019年 2次" in chart.get_attribute("aria-label")
        page.get_by_role("link", name="按年份").click()
        years = page.locator("h3.group-title").all_inner_texts()
        assert years[-1].startswith("2019年") and "2 次" in years[-1]
        assert len(years) == len({y[:4] for y in years}) >= 7
        snap(page, "history-by-year")
        page.get_by_role("link", name="按省份").click()
        provinces = [t.split("\n")[0] for t in page.locator("h3.group-title").all_inner_texts()]
        assert provinces == ["浙江省", "北京市", "上海市"]
        assert page.get_by_role("link", name="按省份").get_attribute("aria-current") == "page"
        assert page.console_errors == []


class TestCertificate:
    def test_the_qr_code_in_a_screenshot_of_the_certificate_verifies(self, page: Any, site: Site) -> None:
        site.log_in(page)
        page.goto(site.url + "/me")
        with page.expect_navigation():
            page.locator("ol.donations li").last.get_by_role("link", name=re.compile("查看献血证")).click()
        number = page.url.rsplit("/", 1)[1]
        page.wait_for_function(
            "(img => img.complete && img.naturalWidth > 0)(document.querySelector('.paper img'))"
        )
        screenshot = snap(page, "certificate")
        texts = decode_screenshot(screenshot)
        assert len(texts) == 1 and texts[0].startswith("BC1:")
        answer = verify_via_api(site, texts[0])
        assert answer["valid"] is True and answer["certificate"]["certificate_no"] == number
        assert answer["certificate"]["holder_name"] == "王芳"
        assert page.console_errors == []

    def test_show_mode_is_a_large_high_contrast_qr_code(self, page: Any, site: Site) -> None:
        number, qr = certificate_qr(site)
        site.log_in(page)
        page.goto(site.url + f"/me/certificates/{number}")
        page.get_by_role("link", name="出示给核验人员").click()
        box = page.locator(".show-qr svg").bounding_box()
        assert box["width"] >= 330  # nearly the whole width of a 390 px phone
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
        assert decode_screenshot(snap(page, "show-to-verifier")) == [qr]
        assert page.console_errors == []

    def test_downloads_are_the_svg_and_the_pdf(self, page: Any, site: Site) -> None:
        number, _qr = certificate_qr(site)
        site.log_in(page)
        page.goto(site.url + f"/me/certificates/{number}")
        for name, media_type in (("下载 PDF", "application/pdf"), ("下载 SVG", "image/svg+xml")):
            href = page.get_by_role("link", name=name).get_attribute("href")
            response = page.request.get(site.url + href)
            assert response.status == 200 and response.headers["content-type"].startswith(media_type)

    def test_another_donors_certificate_is_not_found(self, page: Any, site: Site) -> None:
        number, _qr = certificate_qr(site)
        site.log_in(
            page, {"id_type": "resident_id", "id_number": "110105198503150043", "name": "李雷"}, "LI0001"
        )
        response = page.goto(site.url + f"/me/certificates/{number}")
        assert response.status == 404
        assert "王芳" not in page.content()


class TestVerifier:
    def test_pasted_text_verifies_without_a_login(self, page: Any, site: Site) -> None:
        number, qr = certificate_qr(site)
        page.goto(site.url + "/verify")
        snap(page, "verify")
        page.fill("textarea[name=qr]", qr)
        with page.expect_navigation():
            page.get_by_role("button", name="验证", exact=True).click()
        verdict = page.locator("#verdict")
        assert "valid" in verdict.get_attribute("class").split()
        assert page.get_by_role("heading", name="有效").is_visible()
        facts = verdict.locator("dl").inner_text()
        assert (
            number in facts and "王芳" in facts and "330***********1221" in facts and "A型 RhD阳性" in facts
        )
        assert WANG_ID not in page.content()
        snap(page, "verify-valid")
        assert page.console_errors == []

    def test_a_tampered_code_shows_the_reason(self, page: Any, site: Site) -> None:
        _number, qr = certificate_qr(site)
        middle = len(qr) // 2
        tampered = qr[:middle] + ("A" if qr[middle] != "A" else "B") + qr[middle + 1 :]
        page.goto(site.url + "/verify")
        page.fill("textarea[name=qr]", tampered)
        with page.expect_navigation():
            page.get_by_role("button", name="验证", exact=True).click()
        assert page.get_by_role("heading", name="无效").is_visible()
        reason = page.locator(".verdict-reason")
        assert reason.get_attribute("data-reason") in {"bad_signature", "malformed"}
        assert reason.inner_text().startswith(("签名不符", "无法识别"))
        assert page.locator("#verdict dl").count() == 0  # no fields from a code that did not verify
        snap(page, "verify-tampered")
        assert page.console_errors == []

    def test_a_photo_is_decoded_in_the_browser(self, page: Any, site: Site, tmp_path: Any) -> None:
        from PIL import Image, ImageFilter

        from bloodcert.certs.render import qr_png

        _number, qr = certificate_qr(site)
        # A photo-like picture: the code small, off centre and slightly blurred on a grey table.
        code = Image.open(__import__("io").BytesIO(qr_png(qr, scale=5))).convert("RGB")
        photo = Image.new("RGB", (1600, 1200), (148, 140, 132))
        photo.paste(code, (420, 300))
        path = tmp_path / "photo.jpg"
        photo.filter(ImageFilter.GaussianBlur(1)).save(path, quality=85)
        page.goto(site.url + "/verify")
        with page.expect_navigation():
            page.set_input_files("input[type=file]", str(path))
        assert page.get_by_role("heading", name="有效").is_visible()
        assert page.input_value("textarea[name=qr]") == qr
        assert page.console_errors == []


def test_the_english_switch_changes_every_page(page: Any, site: Site) -> None:
    page.goto(site.url + "/")
    page.get_by_role("link", name="Switch to English").click()
    assert page.get_attribute("html", "lang") == "en"
    assert page.get_by_role("button", name="Log in").is_visible()
    assert page.get_by_label("Donation number").count() == 1
    page.goto(site.url + "/verify")  # the choice is kept in a cookie
    assert page.get_by_role("heading", name="Verify a blood donation certificate").is_visible()
    site.log_in(page)
    page.goto(site.url + "/me")
    assert page.get_by_role("heading", name="Hello, 王芳").is_visible()
    assert "10 donations" in page.locator("#results-count").inner_text()
    snap(page, "history-en")
    page.get_by_role("link", name="切换到简体中文").click()
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.console_errors == []


def write_y4m(path: Any, png: bytes, size: int = 640) -> None:
    """A still video (YUV 4:2:0) of a QR code on white, for Chromium's fake camera."""
    import io

    from PIL import Image

    frame = Image.new("L", (size, size), 235)
    code = Image.open(io.BytesIO(png)).convert("L")
    code.thumbnail((size * 3 // 4, size * 3 // 4))
    frame.paste(code, ((size - code.width) // 2, (size - code.height) // 2))
    chroma = bytes([128]) * (size * size // 2)
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{size} H{size} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(5):
            out.write(b"FRAME\n" + frame.tobytes() + chroma)


def test_the_camera_scans_a_code_in_the_browser(browser: Any, site: Site, tmp_path: Any) -> None:
    from bloodcert.certs.render import qr_png

    _number, qr = certificate_qr(site)
    video = tmp_path / "camera.y4m"
    write_y4m(video, qr_png(qr, scale=4))
    camera_browser = browser.browser_type.launch(
        executable_path=browser_path(browser),
        args=[
            "--no-sandbox",
            "--disable-background-networking",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        tab = new_phone_page(camera_browser, permissions=["camera"])
        tab.goto(site.url + "/verify")
        with tab.expect_navigation(timeout=15000):
            tab.get_by_role("button", name="扫描二维码").click()
        assert tab.get_by_role("heading", name="有效").is_visible()
        assert tab.console_errors == []
    finally:
        camera_browser.close()


def browser_path(_browser: Any) -> str:
    from tests.browser.conftest import CHROMIUM

    return CHROMIUM
