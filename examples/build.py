"""Regenerate the example workbooks in examples/: ``python examples/build.py``.

Two kinds of example, both validated by the README's main command (``gxsheet validate examples/``):

* the five real published reports in ``examples/seeds/`` imported into standard workbooks, named
  after the seed (``000_49e4660c3fa3d55a.xlsx`` …). They show what the validator says about real
  reports: blank tables, units typed into cells, a period ending 12月21日, prose that contradicts
  the tables. The values are exactly as published.
* clean example workbooks of both editions (``示例-2019-县级部门.xlsx`` …) with realistic prose and
  non-trivial numbers that satisfy every rule, the narrative ones included. The build refuses to
  write one that has any finding, so the examples cannot drift into being wrong.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from gxsheet.check.validate import validate_record  # noqa: E402
from gxsheet.core.record import Record  # noqa: E402
from gxsheet.core.spec import Spec, load_spec  # noqa: E402
from gxsheet.read.published import import_report  # noqa: E402
from gxsheet.read.workbook import read_report  # noqa: E402
from gxsheet.render.workbook import write_record  # noqa: E402

SEEDS = HERE / "seeds"

T3_COLUMNS = ("natural", "business", "research", "charity", "legal_services", "other_org")


def t3_values(spec: Spec, results: Mapping[str, Mapping[str, int]], carried: Mapping[str, int],
              carry_forward: Mapping[str, int]) -> dict[str, int]:
    """Table 三 from its result leaves per column: every total and 一、本年新收 derived so the
    identity 一+二 = （七）+四 and both totals hold by construction."""
    grid = spec.grid("t3")
    rel = next(r for r in spec.source["relations"] if r["rule"] == "T3-RESULT-TOTAL")
    leaves = rel["rhs"]
    unknown = set(results) - set(leaves)
    if unknown:
        raise ValueError(f"not result rows of {spec.edition}: {unknown}")
    out: dict[str, int] = {}
    for col in T3_COLUMNS:
        for row in leaves:
            out[grid.cell_key(row, col)] = results.get(row, {}).get(col, 0)
        total = sum(out[grid.cell_key(row, col)] for row in leaves)
        out[grid.cell_key("total", col)] = total
        out[grid.cell_key("carried", col)] = carried.get(col, 0)
        out[grid.cell_key("carry_forward", col)] = carry_forward.get(col, 0)
        out[grid.cell_key("received", col)] = total + carry_forward.get(col, 0) - carried.get(col, 0)
        if out[grid.cell_key("received", col)] < 0:
            raise ValueError(f"column {col}: more carried over than handled")
    for row in [r.key for r in grid.leaf_rows()]:
        out[grid.cell_key(row, "total")] = sum(out[grid.cell_key(row, c)] for c in T3_COLUMNS)
    return out


def t4_values(review: tuple[int, int, int, int], direct: tuple[int, int, int, int],
              after: tuple[int, int, int, int]) -> dict[str, int]:
    """Table 四 from (维持, 纠正, 其他, 尚未审结) of each group; totals derived."""
    out: dict[str, int] = {}
    for group, parts in (("review", review), ("direct", direct), ("after_review", after)):
        for name, v in zip(("upheld", "corrected", "other", "pending"), parts, strict=True):
            out[f"t4.cases.{group}_{name}"] = v
        out[f"t4.cases.{group}_total"] = sum(parts)
    return out


# ------------------------------------------------------------------ the clean examples

COUNTY_DEPT_2019 = {
    "file": "示例-2019-县级部门.xlsx",
    "edition": "2019",
    "meta": {"unit_name": "某县自然资源局", "level": "县级部门", "parent": "某县", "year": 2020,
             "period_start": "2020-01-01", "period_end": "2020-12-31", "filler": "王晓燕", "phone": "0571-86012345",
             "amount_unit": "万元"},
    "t2": {
        "t2_1.rules.new_made": 0, "t2_1.rules.new_published": 0, "t2_1.rules.published_total": 0,
        "t2_1.normative.new_made": 3, "t2_1.normative.new_published": 3, "t2_1.normative.published_total": 27,
        "t2_5.licensing.previous": 45, "t2_5.licensing.change": -3, "t2_5.licensing.decisions": 1286,
        "t2_5.other_services.previous": 12, "t2_5.other_services.change": 2, "t2_5.other_services.decisions": 340,
        "t2_6.penalty.previous": 38, "t2_6.penalty.change": 0, "t2_6.penalty.decisions": 57,
        "t2_6.coercion.previous": 6, "t2_6.coercion.change": 0, "t2_6.coercion.decisions": 4,
        "t2_8.fees.previous": 5, "t2_8.fees.change": -1,
        "t2_9.purchase.projects": 14, "t2_9.purchase.amount": 386.52,
    },
    "t3": ({"disclosed": {"natural": 18, "business": 3, "legal_services": 1},
            "partial": {"natural": 4, "business": 1},
            "refused_third_party": {"natural": 2},
            "refused_process": {"natural": 1},
            "unable_not_held": {"natural": 6, "business": 1},
            "unable_unclear": {"natural": 1},
            "np_repeat": {"natural": 2},
            "other": {"natural": 1}},
           {"natural": 2, "business": 1}, {"natural": 3}),
    "t4": ((1, 0, 0, 0), (1, 0, 0, 0), (0, 0, 0, 0)),
    "prose": {
        "s1": "2020年，某县自然资源局认真贯彻落实《中华人民共和国政府信息公开条例》，围绕国土空间规划、耕地保护、"
              "不动产登记等群众关切的重点领域，持续加大主动公开力度，规范依申请公开办理，政府信息公开工作取得新进展。\n"
              "（一）主动公开。全年通过县政府门户网站“自然资源”专栏发布信息326条，其中政策文件和解读41条、"
              "征地信息公开87条、行政许可和行政处罚结果公示150条。\n"
              "（二）依申请公开。修订依申请公开办理流程，实行登记、审核、答复全程留痕，全部申请均在法定期限内答复。\n"
              "（三）平台建设。完成政府信息公开专栏栏目优化，新增“征地信息”“矿业权出让”两个子栏目。\n"
              "（四）监督保障。将政府信息公开纳入年度目标考核，开展业务培训2次，参训人员46人次。",
        "s2": "本年度制发并公开规范性文件3件，现行有效规范性文件27件；行政许可、行政处罚等结果均在作出决定后7个工作日内公开。",
        "s3": "本年度共收到政府信息公开申请41件，其中自然人申请36件、法人或其他组织申请5件，上年结转申请3件。"
              "已全部办结41件，另有3件结转下年度继续办理。",
        "s4": "本年度因政府信息公开被申请行政复议1件，复议结果维持；被提起行政诉讼1件，判决维持。",
        "s5": "（一）存在的主要问题：部分信息更新不够及时，政策解读的形式较为单一，依申请公开答复的规范性有待提高。\n"
              "（二）改进措施：一是建立信息发布台账，按月检查更新情况；二是推行图文、视频等多样化解读；"
              "三是编制依申请公开答复文书范本，组织专题培训。",
        "s6": "本年度未收取信息处理费。无其他需要报告的事项。",
    },
}

TOWN_2021 = {
    "file": "示例-2021-某镇.xlsx",
    "edition": "2021",
    "meta": {"unit_name": "清溪镇", "level": "镇", "parent": "某县", "year": 2021,
             "period_start": "2021-01-01", "period_end": "2021-12-31", "filler": "李明", "phone": "0571-86098765"},
    "t2": {
        "t2_1.rules.made": 0, "t2_1.rules.repealed": 0, "t2_1.rules.in_force": 0,
        "t2_1.normative.made": 2, "t2_1.normative.repealed": 1, "t2_1.normative.in_force": 9,
        "t2_5.licensing.decisions": 126,
        "t2_6.penalty.decisions": 23, "t2_6.coercion.decisions": 2,
        "t2_8.fees.amount": 0,
    },
    "t3": ({"disclosed": {"natural": 3, "business": 1},
            "partial": {"natural": 1},
            "unable_not_held": {"natural": 2},
            "other_no_correction": {"natural": 1}},
           {}, {"natural": 1}),
    "t4": ((0, 0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0)),
    "prose": {
        "s1": "2021年，清溪镇在县委、县政府的领导下，以《中华人民共和国政府信息公开条例》为依据，"
              "推进决策、执行、管理、服务、结果公开，围绕乡村振兴、惠民资金、集体“三资”管理等群众关心的事项做好信息公开。\n"
              "（一）主动公开。通过县政府门户网站清溪镇专栏发布信息212条，村务公开栏更新公开内容1300余条次。\n"
              "（二）依申请公开。明确党政办公室为依申请公开受理机构，公布受理渠道，规范办理流程。\n"
              "（三）平台建设。完成镇专栏栏目梳理，新增“惠民惠农财政补贴资金”专栏。\n"
              "（四）监督保障。成立政务公开工作领导小组，开展专题培训1次。",
        "s2": "本年度制发行政规范性文件2件、废止1件，现行有效9件。",
        "s3": "本年度共收到政府信息公开申请9件，均按期答复，1件结转下年度继续办理。",
        "s4": "本年度未发生因政府信息公开引起的行政复议、行政诉讼。",
        "s5": "（一）存在的主要问题：专栏信息更新不够均衡，部分村务公开内容格式不统一。\n"
              "（二）改进措施：建立专栏信息更新周报制度，制定村务公开目录和格式模板，加强对村级信息员的培训。",
        "s6": "本年度未收取信息处理费。",
    },
}

COUNTY_GOV_2021 = {
    "file": "示例-2021-县级政府.xlsx",
    "edition": "2021",
    "meta": {"unit_name": "某县人民政府", "level": "县级政府", "parent": "某市", "year": 2022,
             "period_start": "2022-01-01", "period_end": "2022-12-31", "filler": "赵颖", "phone": "0571-86000001"},
    "t2": {
        "t2_1.rules.made": 0, "t2_1.rules.repealed": 0, "t2_1.rules.in_force": 0,
        "t2_1.normative.made": 12, "t2_1.normative.repealed": 4, "t2_1.normative.in_force": 86,
        "t2_5.licensing.decisions": 5832,
        "t2_6.penalty.decisions": 1260, "t2_6.coercion.decisions": 87,
        "t2_8.fees.amount": 1532.46,
    },
    "t3": ({"disclosed": {"natural": 61, "business": 9, "research": 1, "legal_services": 3, "other_org": 2},
            "partial": {"natural": 12, "business": 2},
            "refused_secret": {"natural": 1},
            "refused_third_party": {"natural": 4, "business": 1},
            "refused_process": {"natural": 3},
            "refused_enforcement": {"natural": 2},
            "unable_not_held": {"natural": 27, "business": 3, "charity": 1},
            "unable_create": {"natural": 5},
            "unable_unclear": {"natural": 4},
            "np_petition": {"natural": 6},
            "np_repeat": {"natural": 3},
            "np_publication": {"natural": 1},
            "np_confirm": {"natural": 2},
            "other_no_correction": {"natural": 5, "business": 1},
            "other_unpaid": {"natural": 1},
            "other_misc": {"natural": 2}},
           {"natural": 6, "business": 1}, {"natural": 8, "legal_services": 1}),
    "t4": ((3, 1, 0, 1), (2, 0, 1, 1), (1, 0, 0, 0)),
    "prose": {
        "s1": "2022年，某县人民政府坚持以公开为常态、不公开为例外，围绕优化营商环境、稳增长、保民生等重点工作，"
              "全面推进基层政务公开标准化规范化建设，政府信息公开工作质量持续提升。\n"
              "（一）主动公开。县政府门户网站全年发布政府信息8361条，召开新闻发布会24场，发布政策解读材料96篇。\n"
              "（二）依申请公开。全面落实依申请公开“一案一档”，答复文书经法制审核后出具。\n"
              "（三）政府信息管理。开展行政规范性文件清理，废止4件，修改2件，现行有效文件目录在网站集中公开。\n"
              "（四）平台建设。完成政府网站集约化改造，整合部门和乡镇栏目，统一检索入口。\n"
              "（五）监督保障。将政务公开纳入县直单位和乡镇年度考核，组织全县政务公开业务培训3期。",
        "s2": "本年度制发行政规范性文件12件、废止4件，现行有效86件；行政许可、行政处罚、行政强制决定均按规定公开。",
        "s3": "本年度共收到政府信息公开申请164件，上年结转申请7件。全年办结162件，其中予以公开76件、部分公开14件、"
              "不予公开11件、无法提供40件、不予处理12件、其他处理9件，另有9件结转下年度继续办理。",
        "s4": "本年度因政府信息公开被申请行政复议5件，其中维持3件、纠正1件、尚未审结1件；"
              "被提起行政诉讼5件，其中未经复议直接起诉4件、复议后起诉1件。",
        "s5": "（一）存在的主要问题：部分部门公开内容的规范性和时效性不足，政策解读的针对性不强，"
              "依申请公开答复的说理有待加强。\n"
              "（二）改进措施：一是实行公开内容季度检查通报；二是推行政策“图解+问答”解读；"
              "三是开展依申请公开答复文书评查，提高答复质量。",
        "s6": "本年度依据《政府信息公开信息处理费管理办法》收取信息处理费0元。县政府办公室按要求完成了人大代表建议和政协提案办理结果公开工作。",
    },
}

EXAMPLES = (COUNTY_DEPT_2019, TOWN_2021, COUNTY_GOV_2021)


def example_record(ex: Mapping) -> Record:
    spec = load_spec(ex["edition"])
    values: dict[str, object] = {k: 0 for k in spec.cells}
    values.update(ex["t2"])
    values.update(t3_values(spec, *ex["t3"]))
    values.update(t4_values(*ex["t4"]))
    unknown = set(values) - set(spec.cells)
    if unknown:
        raise ValueError(f"{ex['file']}: unknown cells {sorted(unknown)}")
    return Record(edition=spec.edition, meta=dict(ex["meta"]), prose=dict(ex["prose"]), values=values,
                  source=ex["file"], kind="example")


def build_example(ex: Mapping, folder: Path = HERE) -> Path:
    """Write one clean example and prove it clean by reading it back and validating it."""
    rec = example_record(ex)
    out = folder / ex["file"]
    if out.exists():
        out.unlink()
    write_record(rec, out)
    findings = validate_record(read_report(out))
    if findings:
        out.unlink()
        lines = "\n".join(f"  {f.rule} {f.message_zh}" for f in findings)
        raise SystemExit(f"{ex['file']} is not clean:\n{lines}")
    return out


def build_seed(seed: Path, folder: Path = HERE) -> Path:
    """One seed report imported into a standard workbook named after it (values as published)."""
    out = folder / (seed.stem + ".xlsx")
    if out.exists():
        out.unlink()
    write_record(import_report(seed).record, out)
    return out


def main() -> int:
    written = [build_seed(s) for s in sorted(SEEDS.glob("*.txt"))]
    written += [build_example(ex) for ex in EXAMPLES]
    for p in written:
        print(p.relative_to(HERE.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
