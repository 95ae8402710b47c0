"""Health education (献血知识): short pages in both languages, each with the rule or source it rests on.

Kept as text here rather than as templates so that both languages of a page sit side by side and a
review sees at once whether they say the same thing.
"""

from __future__ import annotations

# topic: (zh title, en title), then paragraphs as (zh, en)
TOPICS: dict[str, tuple[tuple[str, str], list[tuple[str, str]]]] = {
    "who": (
        ("谁可以献血", "Who can give blood"),
        [
            (
                "年龄 18–55 周岁；既往无献血反应、符合健康检查要求的多次献血者可延长至 60 周岁。",
                "You can give from 18 to 55; a repeat donor who has had no reaction may go on to 60.",
            ),
            (
                "体重：男性不低于 50 公斤，女性不低于 45 公斤。",
                "Weight: at least 50 kg for men and 45 kg for women.",
            ),
            (
                "献血前会有免费的健康征询和简单检查（血压、脉搏、血红蛋白等），由工作人员判断当天能否献血。",
                "Before each donation a free health check (blood pressure, pulse, haemoglobin) decides "
                "whether "
                "you can give that day.",
            ),
            (
                "依据：GB 18467-2011《献血者健康检查要求》。",
                "Source: GB 18467-2011, donor health requirements.",
            ),
        ],
    ),
    "before": (
        ("献血前", "Before you donate"),
        [
            ("前一晚睡个好觉，避免熬夜。", "Sleep well the night before."),
            (
                "献血前吃清淡的饭菜，不要空腹，避免油腻食物；前一天不饮酒。",
                "Eat a light meal; do not come hungry, avoid fatty food, and no alcohol the day before.",
            ),
            ("带上身份证件；多喝水。", "Bring your ID document, and drink plenty of water."),
            (
                "正在服药、近期生病、拔牙或文身的，请如实告诉工作人员。",
                "Tell the staff about medicines, recent illness, dental work or tattoos.",
            ),
        ],
    ),
    "after": (
        ("献血后", "After you donate"),
        [
            (
                "按压针眼 10–15 分钟，不要揉；4 小时内保持针眼清洁干燥。",
                "Press on the needle site for 10–15 minutes without rubbing; keep it clean and dry for "
                "4 hours.",
            ),
            (
                "在休息区休息 15 分钟，吃点东西、喝点水。",
                "Rest for 15 minutes in the rest area, with a snack and a drink.",
            ),
            (
                "当天避免剧烈运动和高空作业，多喝水，饮食正常即可。",
                "Avoid strenuous exercise and work at heights that day; drink more, eat as usual.",
            ),
            (
                "如有头晕、针眼出血或淤青不退，请联系血站。",
                "If you feel faint, or the site bleeds or bruises, contact your blood station.",
            ),
        ],
    ),
    "kinds": (
        ("献血的种类与间隔", "Kinds of donation and intervals"),
        [
            (
                "全血：每次 200、300 或 400 毫升；两次全血之间至少间隔 6 个月。",
                "Whole blood: 200, 300 or 400 ml each time, at least six months apart.",
            ),
            (
                "单采血小板：每次 1 或 2 个治疗量；两次之间至少间隔 2 周，每年不超过 24 次。",
                "Platelets (apheresis): one or two therapeutic units, at least two weeks apart and at "
                "most 24 times a year.",
            ),
            (
                "全血之后献血小板至少间隔 3 个月；血小板之后献全血至少间隔 4 周。",
                "Platelets at least three months after whole blood; whole blood at least four weeks after "
                "platelets.",
            ),
            (
                "本平台按您在全国的献血记录计算下次可以献血的日期，并在那天提醒您（如您愿意）。",
                "This platform works out from your national record when you may give again, and tells you "
                "on the day if you wish.",
            ),
        ],
    ),
    "blood-types": (
        ("为什么血型很重要", "Why blood types matter"),
        [
            (
                "输血需要血型相合。ABO 血型分 A、B、O、AB 四种；"
                "我国人群中 O 型约占 41%，A 型 28%，B 型 24%，AB 型 7%。",
                "Transfusions need matching blood. ABO has four types; in China about 41% are O, 28% A, "
                "24% B and 7% AB.",
            ),
            (
                "RhD 阴性在汉族人群中约占 0.3%，因此常被称为“熊猫血”，每一位阴性献血者都很宝贵。",
                "RhD negative is about 0.3% among Han Chinese, so every RhD-negative donor counts.",
            ),
            (
                "血站按血型公布库存；某一血型紧缺时，愿意接收召集的献血者会收到提醒。",
                "Stations publish their stock by type; when a type is short, donors who asked for it are "
                "called up.",
            ),
        ],
    ),
}
