"""How the report is laid out: report.md and report.pptx from the same sections.

The Reporter decides what to say (:mod:`agents.reporter`); this module only places it: the
title slide with the headline figures, the summary slide, one slide per message with at most
one visual (a chart, else a table), then the appendix. ``slide_text`` returns every text of the
deck, table cells included, for the Proofreader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.util import Emu, Inches, Pt

APPENDIX = "Appendix"
@dataclass(frozen=True)
class Headline:
    """One headline figure: a short label, the figure itself and one plain sentence."""

    label: str
    figure: str
    text: str


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Section:
    """One message (or one appendix item): its title, a few sentences and at most one visual
    (a chart; a table only when there is no chart)."""

    title: str
    body: list[str] = field(default_factory=list)
    figure: Path | None = None
    table: Table | None = None
    alt: str = ""  # the chart's caption in report.md


# Slide geometry (16:9, inches).
SLIDE_W, SLIDE_H, MARGIN = 13.333, 7.5, 0.6
BODY_TOP, BODY_BOTTOM = 1.55, 7.1


@dataclass(frozen=True)
class Document:
    """The report's content, in reading order."""

    title: str
    subtitle: str
    headlines: list[Headline]
    summary: str
    messages: list[Section]
    appendix: list[Section]


# --- report.md -------------------------------------------------------------------------------

def markdown(doc: Document) -> str:
    """report.md: headline figures, summary, one section per message, then the appendix."""
    out = [f"# {doc.title}", "", f"_{doc.subtitle}_", "", "## Headline figures", ""]
    out += [f"- **{h.label}: {h.figure}.** {h.text}" for h in doc.headlines]
    out += ["", "## Executive summary", "", doc.summary, ""]
    for section in doc.messages:
        out += [f"## {section.title}", ""] + _md_section(section)
    out += [f"## {APPENDIX}", "", "Model and table names appear only in this appendix.", ""]
    for section in doc.appendix:
        title = section.title.removeprefix(f"{APPENDIX}: ")
        out += [f"### {title[0].upper()}{title[1:]}", ""] + _md_section(section, all_=True)
    return "\n".join(out) + "\n"


def _md_section(section: Section, all_: bool = False) -> list[str]:
    """A message shows its chart, else its table; an appendix item may show both."""
    out = []
    for text in section.body:
        out += [text, ""]
    if section.figure is not None:
        out += [f"![{section.alt or section.title}](figures/{section.figure.name})", ""]
    if section.table is not None and (all_ or section.figure is None):
        out += _md_table(section.table) + [""]
    return out


def _md_table(table: Table) -> list[str]:
    def row(cells: list[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "/").replace("\n", " ") for c in cells) + " |"

    return [row(table.header), "|" + "---|" * len(table.header), *map(row, table.rows)]


# --- report.pptx -----------------------------------------------------------------------------

def deck(doc: Document, path: Path) -> str:
    """report.pptx: the title slide with the headline figures, the summary, one slide per
    message, then the appendix; returns every text of the deck (see :func:`slide_text`)."""
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(SLIDE_W), Inches(SLIDE_H)
    layout = prs.slide_layouts[5]  # "Title Only"
    _title_slide(prs.slides.add_slide(layout), doc)
    slide = prs.slides.add_slide(layout)
    _set_title(slide, "Executive summary")
    _text(slide, [doc.summary], BODY_TOP + 0.2, 4.8, size=20)
    for section in doc.messages:
        _section_slide(prs.slides.add_slide(layout), section)
    for section in doc.appendix:
        title = section.title if section.title.startswith(APPENDIX) else (
            f"{APPENDIX}: {section.title}")
        # One visual per slide: an appendix item with a chart and a table shows the chart.
        _section_slide(prs.slides.add_slide(layout), Section(
            title, section.body, section.figure, None if section.figure else section.table),
            small=True)
    prs.save(path)
    return slide_text(prs)


def slide_text(prs: Presentation) -> str:
    """Every text of the deck, table cells included (what the Proofreader reads)."""
    texts = []
    for slide in prs.slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                texts.append(shape.text_frame.text)
            if shape.has_table:
                texts += [cell.text for row in shape.table.rows for cell in row.cells]
    return "\n".join(texts)


def _set_title(slide: object, text: str, size: int = 28) -> None:
    title = slide.shapes.title
    title.left, title.top = Inches(MARGIN), Inches(0.35)
    title.width, title.height = Inches(SLIDE_W - 2 * MARGIN), Inches(1.1)
    title.text = text
    frame = title.text_frame
    frame.word_wrap = True
    for paragraph in frame.paragraphs:
        paragraph.alignment = PP_ALIGN.LEFT
        paragraph.font.size = Pt(size if len(text) <= 70 else size - 4)
        paragraph.font.bold = True


def _title_slide(slide: object, doc: Document) -> None:
    _set_title(slide, doc.title, size=32)
    _text(slide, [doc.subtitle], 1.4, 0.5, size=14, colour="666666")
    cards = doc.headlines
    gap = 0.3
    width = (SLIDE_W - 2 * MARGIN - gap * (len(cards) - 1)) / len(cards)
    for i, card in enumerate(cards):
        left = MARGIN + i * (width + gap)
        box = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, Inches(left), Inches(2.3),
                                     Inches(width), Inches(3.6))
        box.shadow.inherit = False
        box.fill.solid()
        box.fill.fore_color.rgb = RGBColor(0xF3, 0xF5, 0xF8)
        box.line.fill.background()
        frame = box.text_frame
        frame.word_wrap = True
        frame.vertical_anchor = MSO_ANCHOR.TOP
        for j, (text, size, bold, colour) in enumerate((
                (card.label.upper(), 12, True, "666666"),
                (card.figure, 28 if len(card.figure) <= 8 else 24, True, "1F3B5C"),
                (card.text, 14, False, "222222"))):
            paragraph = frame.paragraphs[0] if j == 0 else frame.add_paragraph()
            paragraph.text = text
            paragraph.alignment = PP_ALIGN.LEFT
            paragraph.space_after = Pt(8)
            paragraph.font.size, paragraph.font.bold = Pt(size), bold
            paragraph.font.color.rgb = RGBColor.from_string(colour)


def _section_slide(slide: object, section: Section, small: bool = False) -> None:
    _set_title(slide, section.title, size=24 if small else 28)
    top, bottom = BODY_TOP, BODY_BOTTOM
    body_height = 0.35 + 0.32 * sum(max(1, len(t) // 150 + 1) for t in section.body)
    visual = section.figure is not None or section.table is not None
    if section.body:
        # Text above a visual is short; a slide without one gives it the room.
        height = body_height if visual else bottom - top
        _text(slide, section.body, top, height, size=13 if visual else 16)
        top += body_height if visual else 0
    if section.figure is not None:
        _picture(slide, section.figure, top, bottom)
    elif section.table is not None:
        _table(slide, section.table, top, bottom, small)


def _text(slide: object, paragraphs: list[str], top: float, height: float, size: int,
          colour: str = "222222") -> None:
    box = slide.shapes.add_textbox(Inches(MARGIN), Inches(top), Inches(SLIDE_W - 2 * MARGIN),
                                   Inches(height))
    frame = box.text_frame
    frame.word_wrap = True
    for i, text in enumerate(paragraphs):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        paragraph.text = text
        paragraph.space_after = Pt(6)
        paragraph.font.size = Pt(size)
        paragraph.font.color.rgb = RGBColor.from_string(colour)


def _picture(slide: object, path: Path, top: float, bottom: float) -> None:
    with Image.open(path) as image:
        ratio = image.width / image.height
    height = bottom - top
    width = min(SLIDE_W - 2 * MARGIN, height * ratio)
    height = width / ratio
    left = (SLIDE_W - width) / 2
    slide.shapes.add_picture(str(path), Inches(left), Inches(top), Inches(width), Inches(height))


def _table(slide: object, table: Table, top: float, bottom: float, small: bool) -> None:
    n_rows = len(table.rows) + 1
    row_height = min(0.4, (bottom - top) / n_rows)
    size = 10 if small or n_rows > 12 else 13
    shape = slide.shapes.add_table(n_rows, len(table.header), Inches(MARGIN), Inches(top),
                                   Inches(SLIDE_W - 2 * MARGIN), Inches(row_height * n_rows))
    grid = shape.table
    # Columns as wide as their longest text needs (within limits), so long reasons can wrap.
    longest = [min(max(len(str(row[c])) for row in [table.header, *table.rows]), 60) + 4
               for c in range(len(table.header))]
    total = Inches(SLIDE_W - 2 * MARGIN)
    for c, length in enumerate(longest):
        grid.columns[c].width = Emu(int(total * length / sum(longest)))
    for r, cells in enumerate([table.header, *table.rows]):
        grid.rows[r].height = Emu(int(Inches(row_height)))
        for c, text in enumerate(cells):
            cell = grid.cell(r, c)
            cell.text = str(text)
            for paragraph in cell.text_frame.paragraphs:
                paragraph.font.size = Pt(size)
                paragraph.font.bold = r == 0
